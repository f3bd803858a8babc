"""Schema lookup: find a kind's OpenAPI definition and walk it field by field.

The OpenAPI document is more than documentation. It is where the server (and
kubectl) learn *how to merge*: a strategic merge patch of ``spec.containers``
must know that containers are a list keyed by ``name``, merged element by
element (``x-kubernetes-patch-merge-key: name``,
``x-kubernetes-patch-strategy: merge``), while ``spec.containers[].args`` is an
atomic list that a patch replaces whole. Server-side apply reads the same facts
from ``x-kubernetes-list-type`` / ``x-kubernetes-list-map-keys`` /
``x-kubernetes-map-type``, and strict field validation needs to know which
fields exist at all. This module answers those questions from
``openapi/swagger.json`` (the served subset of the Kubernetes document, see
``openapi/generate.py``)::

    pod = definition_for_gvk("", "v1", "Pod")
    containers = walk(pod, "spec.containers")       # the property, with its extensions
    patch_meta(containers)                           # PatchMeta(strategies=('merge',), merge_key='name', ...)
    walk(pod, "spec.containers[].image")             # [] steps into list items (and map values)

Upstream the same lookups are spread over k8s.io/apimachinery/pkg/util/
strategicpatch/meta.go (``PatchMetaFromOpenAPI``: resolve references, read the
patch extensions) and k8s.io/kube-openapi/pkg/util/proto/document.go (the
definitions keyed by GVK).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson

SWAGGER_PATH = Path(__file__).resolve().parent.parent / "openapi" / "swagger.json"

Schema = dict[str, Any]
T = TypeVar("T")


@cache
def swagger() -> dict[str, Any]:
    """The served OpenAPI v2 document, parsed once. Treat it as read-only."""
    doc: dict[str, Any] = orjson.loads(SWAGGER_PATH.read_bytes())
    return doc


def definitions() -> dict[str, Schema]:
    defs: dict[str, Schema] = swagger()["definitions"]
    return defs


@cache
def _gvk_index() -> dict[tuple[str, str, str], str]:
    index: dict[tuple[str, str, str], str] = {}
    for name, schema in definitions().items():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            index.setdefault((gvk["group"], gvk["version"], gvk["kind"]), name)
    return index


def definition_name_for_gvk(group: str, version: str, kind: str) -> str | None:
    """The definition name (``io.k8s.api.apps.v1.Deployment``) of a kind, or None.

    ``DeleteOptions`` and ``WatchEvent`` carry one GVK per group; any of them finds
    the single shared definition.
    """
    return _gvk_index().get((group, version, kind))


def definition_for_gvk(group: str, version: str, kind: str) -> Schema | None:
    name = definition_name_for_gvk(group, version, kind)
    return definitions()[name] if name else None


def ref_name(ref: str) -> str:
    """``#/definitions/X`` or ``#/components/schemas/X`` → ``X``."""
    return ref.rsplit("/", 1)[-1]


class SchemaMemo(Generic[T]):
    """Something computed from one schema node, remembered per node.

    Every write walks its object against the schema, node by node, and asks the same
    questions of the same few hundred nodes (where does this reference lead, how
    does this field merge). The nodes are parts of the parsed OpenAPI document,
    which lives as long as the process and is never changed, so each answer can be
    kept. The key is the node's identity (dicts are not hashable); the memo holds
    the node itself beside the answer, so while an entry lives no other dict can
    have that identity. A node the document does not hold (a test's hand-made
    schema) is remembered too; past ``limit`` entries the memo starts over.
    """

    def __init__(self, compute: Callable[[Schema], T], limit: int = 1 << 14) -> None:
        self.compute = compute
        self.limit = limit
        self._entries: dict[int, tuple[Schema, T]] = {}

    def __call__(self, schema: Schema) -> T:
        try:
            return self._entries[id(schema)][1]
        except KeyError:
            pass
        value = self.compute(schema)
        if len(self._entries) >= self.limit:
            self._entries.clear()
        self._entries[id(schema)] = (schema, value)
        return value


def resolve(schema: Schema) -> Schema:
    """Follow a reference to the definition it names.

    Handles both spellings: a bare ``{"$ref": ...}`` (v2, with sibling keys such as
    ``description``) and ``{"allOf": [{"$ref": ...}]}`` (how OpenAPI 3 attaches
    siblings). Anything else is returned as it is. Remembered per node.
    """
    return _resolved(schema)


def _follow(schema: Schema) -> Schema:
    seen = 0
    while seen < 32:  # definitions never chain deeply; the bound only guards a cycle
        seen += 1
        if "$ref" in schema:
            schema = definitions()[ref_name(schema["$ref"])]
        elif len(schema.get("allOf", ())) == 1 and "$ref" in schema["allOf"][0]:
            schema = definitions()[ref_name(schema["allOf"][0]["$ref"])]
        else:
            return schema
    raise ValueError("reference cycle")


_resolved: SchemaMemo[Schema] = SchemaMemo(_follow)


_SEGMENT = re.compile(r"[^.\[\]]+|\[\d*\]")


def split_path(path: str | Sequence[str]) -> list[str]:
    """``spec.containers[].image`` or ``spec.containers[0]`` → ``['spec', 'containers', '[]', 'image']``."""
    if not isinstance(path, str):
        return list(path)
    return ["[]" if s.startswith("[") else s for s in _SEGMENT.findall(path)]


def walk(schema: Schema, path: str | Sequence[str]) -> Schema | None:
    """The schema at ``path`` below ``schema``, unresolved (so its patch extensions are kept).

    A field name steps into ``properties``; ``[]`` steps into a list's ``items`` or a
    map's ``additionalProperties``. Returns None when the field does not exist.
    """
    current = schema
    for segment in split_path(path):
        node = resolve(current)
        if segment == "[]":
            nxt = node.get("items", node.get("additionalProperties"))
        else:
            nxt = node.get("properties", {}).get(segment)
        if not isinstance(nxt, dict):
            return None
        current = nxt
    return current


@dataclass(frozen=True)
class PatchMeta:
    """How a field merges, as strategic merge patch and server-side apply see it."""

    strategies: tuple[
        str, ...
    ] = ()  # x-kubernetes-patch-strategy, e.g. ("merge",) or ("merge", "retainKeys")
    merge_key: str | None = None  # x-kubernetes-patch-merge-key
    list_type: str | None = None  # x-kubernetes-list-type: atomic | set | map
    list_map_keys: tuple[str, ...] = ()  # x-kubernetes-list-map-keys
    map_type: str | None = None  # x-kubernetes-map-type: atomic | granular


NO_PATCH_META = PatchMeta()


def patch_meta(schema: Schema | None) -> PatchMeta:
    """Read the merge extensions of one (unresolved) field schema (remembered per node)."""
    if not schema:
        return NO_PATCH_META
    return _patch_metas(schema)


def _read_patch_meta(schema: Schema) -> PatchMeta:
    strategy = schema.get("x-kubernetes-patch-strategy", "")
    return PatchMeta(
        strategies=tuple(s for s in strategy.split(",") if s),
        merge_key=schema.get("x-kubernetes-patch-merge-key"),
        list_type=schema.get("x-kubernetes-list-type"),
        list_map_keys=tuple(schema.get("x-kubernetes-list-map-keys", ())),
        map_type=schema.get("x-kubernetes-map-type") or resolve(schema).get("x-kubernetes-map-type"),
    )


_patch_metas: SchemaMemo[PatchMeta] = SchemaMemo(_read_patch_meta)


def field_schema(group: str, version: str, kind: str, path: str | Sequence[str]) -> Schema | None:
    """Shortcut: ``walk(definition_for_gvk(group, version, kind), path)``."""
    root = definition_for_gvk(group, version, kind)
    return walk(root, path) if root is not None else None
