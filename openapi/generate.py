"""Cut the served subset out of the Kubernetes OpenAPI v2 document.

Usage::

    .venv/bin/python -m openapi.generate [SOURCE] [OUTPUT]

SOURCE defaults to ``../shared/openapi/kubernetes-swagger-v2.json`` beside the repository (the
document a real kube-apiserver publishes at ``/openapi/v2``), OUTPUT to
``openapi/swagger.json`` beside this script. The output keeps, for every
resource in ``apiserver/resources.py``:

* its paths (collection, object, served subresources) with their operations,
  including ``x-kubernetes-action``, ``x-kubernetes-group-version-kind`` and the
  query parameters kubectl probes for (``fieldValidation``, ``dryRun``,
  ``fieldManager``); the deprecated ``/watch/`` paths are left out (clients
  watch with ``?watch=true`` on the list path);
* the shared ``#/parameters`` those operations reference;
* every definition reachable from them, transitively (``ObjectMeta``,
  ``DeleteOptions``, ``Status``, ``autoscaling/v1 Scale``, ``policy/v1 Eviction``,
  ...), with the strategic-merge-patch extensions (``x-kubernetes-patch-merge-key``,
  ``x-kubernetes-patch-strategy``, ``x-kubernetes-list-type``,
  ``x-kubernetes-list-map-keys``) untouched.

Media types this server does not speak (CBOR) are dropped from ``consumes`` and
``produces``. The file is written one definition / path / parameter per line,
so a regenerated document diffs line by line. ``apiserver/openapi.py`` serves it
at ``/openapi/v2`` and converts it to the per-group-version OpenAPI 3 documents
at ``/openapi/v3``; ``apiserver/schema.py`` walks it for patching and validation.

This mirrors what kube-apiserver does at startup: k8s.io/kube-openapi's builder
assembles the document from the installed routes (k8s.io/apiserver/pkg/server/
routes/openapi.go), so it only ever describes what is served.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from apiserver import resources
from apiserver.discovery import VERSION_INFO

#: ../shared beside the repository, as the developers' and CI's checkouts have it.
SOURCE = Path(__file__).resolve().parents[2] / "shared" / "openapi" / "kubernetes-swagger-v2.json"
OUTPUT = Path(__file__).with_name("swagger.json")
UNSERVED_MEDIA_TYPES = {"application/cbor", "application/apply-patch+cbor"}

_GV_PREFIX = re.compile(r"^/(?:api/(?P<core>[^/]+)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))/(?P<rest>.*)$")


def is_served(path: str) -> bool:
    """Whether a swagger path belongs to a served resource, subresource or group-version root."""
    if re.fullmatch(r"/apis/[^/]+/", path):  # the APIGroup document of a group
        return path.split("/")[2] in resources.groups()
    m = _GV_PREFIX.match(path)
    if not m:
        return False
    group, version = ("", m["core"]) if m["core"] else (m["group"], m["version"])
    if version not in resources.versions(group):
        return False
    rest = m["rest"]
    if rest == "":  # /api/v1/ and /apis/<group>/<version>/: the APIResourceList
        return True
    if rest.startswith("watch/"):
        return False
    rest = rest.removeprefix("namespaces/{namespace}/")
    segments = rest.split("/")
    info = resources.lookup(group, version, segments[0])
    if info is None:
        return False
    if len(segments) <= 2:  # collection, or one object
        return True
    return info.subresource(segments[2]) is not None


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _strip_media_types(operation: dict[str, Any]) -> dict[str, Any]:
    for key in ("consumes", "produces"):
        if key in operation:
            operation[key] = [t for t in operation[key] if t not in UNSERVED_MEDIA_TYPES]
    return operation


def subset(doc: dict[str, Any]) -> dict[str, Any]:
    """The served part of a full Kubernetes swagger document."""
    paths: dict[str, Any] = {}
    for path in sorted(doc["paths"]):
        if is_served(path):
            item = doc["paths"][path]
            paths[path] = {
                k: v if k == "parameters" else _strip_media_types(dict(v)) for k, v in item.items()
            }

    parameters: dict[str, Any] = {}
    definitions: dict[str, Any] = {}
    pending = list(_refs(paths))
    while pending:
        ref = pending.pop()
        _, section, name = ref.split("/", 2)  # "#/definitions/X" or "#/parameters/X"
        target = parameters if section == "parameters" else definitions
        if name not in target:
            target[name] = doc[section][name]
            pending.extend(_refs(target[name]))

    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": VERSION_INFO["gitVersion"]},
        "paths": paths,
        "definitions": dict(sorted(definitions.items())),
        "parameters": dict(sorted(parameters.items())),
        "securityDefinitions": doc.get("securityDefinitions", {}),
        "security": doc.get("security", []),
    }


def dumps(doc: dict[str, Any]) -> bytes:
    """JSON with one entry of each large section per line: compact, yet diffable."""
    lines = [b"{"]
    keys = list(doc)
    for i, key in enumerate(keys):
        value = doc[key]
        tail = b"," if i < len(keys) - 1 else b""
        if isinstance(value, dict) and key in ("paths", "definitions", "parameters") and value:
            lines.append(orjson.dumps(key) + b": {")
            entries = list(value.items())
            for j, (name, entry) in enumerate(entries):
                sep = b"," if j < len(entries) - 1 else b""
                lines.append(
                    orjson.dumps(name) + b": " + orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) + sep
                )
            lines.append(b"}" + tail)
        else:
            lines.append(orjson.dumps(key) + b": " + orjson.dumps(value, option=orjson.OPT_SORT_KEYS) + tail)
    lines.append(b"}")
    return b"\n".join(lines) + b"\n"


def main(argv: list[str]) -> None:
    source = Path(argv[1]) if len(argv) > 1 else SOURCE
    output = Path(argv[2]) if len(argv) > 2 else OUTPUT
    doc = subset(orjson.loads(source.read_bytes()))
    output.write_bytes(dumps(doc))
    print(
        f"{output}: {len(doc['paths'])} paths, {len(doc['definitions'])} definitions, "
        f"{output.stat().st_size // 1024} KiB"
    )


if __name__ == "__main__":
    main(sys.argv)
