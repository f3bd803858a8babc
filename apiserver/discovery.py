"""Discovery: how a client learns which groups, versions and resources exist.

Before kubectl can turn ``kubectl get deploy`` into a URL it must learn that
``deploy`` is a short name of ``deployments`` in ``apps/v1``, that deployments
live in namespaces, and which verbs they accept. The server publishes that in
two formats, both rendered here from the catalogue in ``resources.py``:

* **Aggregated discovery** (``apidiscovery.k8s.io/v2``, and ``v2beta1`` for older
  clients): one request to ``/api`` and one to ``/apis`` return *everything*.
  The client asks for it in ``Accept`` and recognises it **only** by the
  response ``Content-Type`` (``application/json;g=apidiscovery.k8s.io;v=v2;
  as=APIGroupDiscoveryList``); the same body labelled ``application/json`` would
  be parsed as the legacy format and come out empty. Responses carry an
  ``ETag`` (upper-case hex SHA-512 of the body) and answer ``If-None-Match``
  with 304.
* **Legacy discovery**: ``/api`` (``APIVersions``), ``/apis`` (``APIGroupList``),
  ``/apis/<group>`` (``APIGroup``) and one ``APIResourceList`` per group-version
  (``/api/v1``, ``/apis/apps/v1``). Still needed: ``kubectl drain`` reads
  ``/api/v1`` to find ``pods/eviction``, and clients without aggregated support
  fetch one document per group-version.

Which format a request gets is decided like the real server does: walk the
``Accept`` clauses in preference order and serve the first one we can produce;
if none, 406 with a ``Status``.

Mirrors k8s.io/apiserver/pkg/endpoints/discovery/{version.go,group.go,root.go,
legacy.go} (legacy documents), discovery/aggregated/{handler.go,wrapper.go,
etag.go} (aggregated documents, negotiation, ETag) and
k8s.io/apiserver/pkg/server/routes/version.go (``/version``).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from apimachinery.errors import StatusError, new_generic_server_response, new_not_acceptable
from apiserver import resources
from apiserver.resources import ResourceInfo

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
# What legacy discovery can be rendered as (the real server adds protobuf).
LEGACY_MEDIA_TYPES = ("application/json", "application/yaml")

# /version. kubectl on this image is a dispatcher that picks its binary by
# `minor`, and `kubectl version` parses gitVersion as semver: keep both exact.
VERSION_INFO: dict[str, str] = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-04-22T00:00:00Z",
    "goVersion": "go1.23.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}


# ---------------------------------------------------------------- Accept parsing


@dataclass(frozen=True)
class MediaRange:
    """One clause of an ``Accept`` header: ``type/subtype;param=value;q=0.9``."""

    type: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0

    def matches(self, type_: str, subtype: str) -> bool:
        return self.type in ("*", type_) and self.subtype in ("*", subtype)


def parse_accept(header: str | None) -> list[MediaRange]:
    """Parse ``Accept`` into clauses, most preferred first (like goautoneg.ParseAccept).

    Sorted by ``q`` (highest first); ties keep the order the client wrote. An
    empty header means ``*/*``.
    """
    clauses: list[MediaRange] = []
    for raw in (header or "*/*").split(","):
        parts = [p.strip() for p in raw.split(";")]
        type_, _, subtype = parts[0].lower().partition("/")
        if not type_:
            continue
        params: dict[str, str] = {}
        q = 1.0
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
            elif key.strip():
                params[key.strip()] = value.strip()
        clauses.append(MediaRange(type_, subtype or "*", params, q))
    return sorted((c for c in clauses if c.q > 0), key=lambda c: -c.q)


def negotiate_discovery(accept: str | None) -> str | None:
    """Pick the format of a discovery response: ``v2``, ``v2beta1``, ``json``, ``yaml`` or None (406).

    Parameters select a *conversion* of the JSON body; the only one discovery
    honours is ``g=apidiscovery.k8s.io;as=APIGroupDiscoveryList`` (any other,
    such as the ``as=Table`` kubectl uses for lists, makes that clause unusable).
    """
    for clause in parse_accept(accept):
        if clause.params:
            aggregated = clause.params.get("g") == "apidiscovery.k8s.io" and clause.params.get("as") == (
                "APIGroupDiscoveryList"
            )
            if (
                aggregated
                and clause.matches("application", "json")
                and clause.params.get("v") in ("v2", "v2beta1")
            ):
                return clause.params["v"]
            continue
        if clause.matches("application", "json"):
            return "json"
        if clause.matches("application", "yaml"):
            return "yaml"
    return None


# ------------------------------------------------------------- legacy documents


def storage_version_hash(group: str, version: str, kind: str) -> str:
    """``storageVersionHash``: 8 bytes of SHA-256 over ``group/version/kind``, base64.

    Mirrors k8s.io/apiserver/pkg/endpoints/discovery/storageversionhash.go. Resources
    that share storage (core and events.k8s.io events) share the hash of the one
    that owns the keys, which here is the first in the catalogue with that prefix.
    """
    digest = hashlib.sha256(f"{group}/{version}/{kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def _storage_owner(r: ResourceInfo) -> ResourceInfo:
    return next(o for o in resources.RESOURCES if o.storage_prefix == r.storage_prefix)


def _api_resource(r: ResourceInfo) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": r.resource,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        doc["shortNames"] = list(r.short_names)
    if r.categories:
        doc["categories"] = list(r.categories)
    owner = _storage_owner(r)
    doc["storageVersionHash"] = storage_version_hash(owner.group, owner.version, owner.kind)
    return doc


def _api_subresource(r: ResourceInfo, sub: resources.SubresourceInfo) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": f"{r.resource}/{sub.name}", "singularName": "", "namespaced": r.namespaced}
    if (sub.group, sub.version) != (r.group, r.version):  # e.g. deployments/scale is autoscaling/v1
        doc["group"], doc["version"] = sub.group, sub.version
    doc["kind"] = sub.kind
    doc["verbs"] = list(sub.verbs)
    return doc


def api_resource_list(group: str, version: str) -> dict[str, Any] | None:
    """The ``APIResourceList`` of one group-version, or None if it is not served."""
    if version not in resources.versions(group):
        return None
    entries: list[dict[str, Any]] = []
    for r in resources.resources_in(group, version):
        entries.append(_api_resource(r))
        entries.extend(_api_subresource(r, s) for s in r.subresources)
    entries.sort(key=lambda e: e["name"])  # the installer sorts paths: pods, pods/attach, ...
    doc: dict[str, Any] = {"kind": "APIResourceList"}
    if group:  # /api/v1 has no apiVersion, for historical reasons
        doc["apiVersion"] = "v1"
    doc["groupVersion"] = f"{group}/{version}" if group else version
    doc["resources"] = entries
    return doc


def _group_version(group: str, version: str) -> dict[str, str]:
    return {"groupVersion": f"{group}/{version}", "version": version}


def _api_group_body(group: str) -> dict[str, Any]:
    preferred = resources.preferred_version(group) or ""
    return {
        "name": group,
        "versions": [_group_version(group, v) for v in resources.versions(group)],
        "preferredVersion": _group_version(group, preferred),
    }


def api_group(group: str) -> dict[str, Any] | None:
    """The ``APIGroup`` served at ``/apis/<group>``, or None."""
    if group not in resources.groups():
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_api_group_body(group)}


def api_group_list() -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_api_group_body(g) for g in resources.groups()],
    }


def api_versions(server_address: str) -> dict[str, Any]:
    """The ``APIVersions`` at ``/api``: the core group's versions and where to reach the server."""
    return {
        "kind": "APIVersions",
        "versions": list(resources.versions("")),
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


# --------------------------------------------------------- aggregated documents


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "version": version, "kind": kind}


def _resource_discovery(r: ResourceInfo) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "resource": r.resource,
        "responseKind": _gvk(r.group, r.version, r.kind),
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        doc["shortNames"] = list(r.short_names)
    if r.categories:
        doc["categories"] = list(r.categories)
    if r.subresources:
        doc["subresources"] = [
            {"subresource": s.name, "responseKind": _gvk(s.group, s.version, s.kind), "verbs": list(s.verbs)}
            for s in r.subresources
        ]
    return doc


def _group_discovery(group: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": group} if group else {}
    metadata["creationTimestamp"] = None
    return {
        "metadata": metadata,
        "versions": [  # preferred version first: that is how clients learn which one it is
            {
                "version": v,
                "resources": [_resource_discovery(r) for r in resources.resources_in(group, v)],
                "freshness": "Current",
            }
            for v in resources.versions(group)
        ],
    }


def aggregated_discovery(core: bool, version: str = "v2") -> dict[str, Any]:
    """The ``APIGroupDiscoveryList`` for ``/api`` (``core=True``) or ``/apis``."""
    items = [_group_discovery("")] if core else [_group_discovery(g) for g in resources.groups()]
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": f"apidiscovery.k8s.io/{version}",
        "metadata": {},
        "items": items,
    }


@cache
def _aggregated_body(core: bool, version: str) -> tuple[bytes, str]:
    """The encoded document and its ETag (upper-case hex SHA-512, like aggregated/etag.go)."""
    body = orjson.dumps(aggregated_discovery(core, version))
    return body, hashlib.sha512(body).hexdigest().upper()


# ---------------------------------------------------------------------- handlers


def _encode(obj: Any, fmt: str, status_code: int = 200) -> Response:
    if fmt == "yaml":
        return Response(yaml.safe_dump(obj, sort_keys=False), status_code, media_type="application/yaml")
    return Response(orjson.dumps(obj), status_code, media_type="application/json")


def status_response(err: StatusError) -> Response:
    """Render an error as the ``Status`` object clients expect."""
    return Response(orjson.dumps(err.status), err.code, media_type="application/json")


def _not_found() -> Response:
    return status_response(new_generic_server_response(404))


def _serve_discovery(request: Request, core: bool, legacy: Any) -> Response:
    fmt = negotiate_discovery(request.headers.get("accept"))
    if fmt is None:
        return status_response(new_not_acceptable(LEGACY_MEDIA_TYPES))
    if fmt in ("v2", "v2beta1"):
        body, etag = _aggregated_body(core, fmt)
        quoted = f'"{etag}"'
        headers = {"ETag": quoted, "Vary": "Accept", "Cache-Control": "public"}
        if request.headers.get("if-none-match") == quoted:
            return Response(status_code=304, headers=headers)
        media_type = AGGREGATED_V2 if fmt == "v2" else AGGREGATED_V2BETA1
        return Response(body, headers=headers, media_type=media_type)
    response = _encode(legacy, fmt)
    response.headers["Vary"] = "Accept"  # the same URL answers aggregated requests differently
    return response


async def version(request: Request) -> Response:
    """``GET /version``."""
    return Response(orjson.dumps(VERSION_INFO), media_type="application/json")


async def api(request: Request) -> Response:
    """``GET /api``: the core group, aggregated or as ``APIVersions``."""
    return _serve_discovery(request, core=True, legacy=api_versions(request.url.netloc))


async def apis(request: Request) -> Response:
    """``GET /apis``: every named group, aggregated or as ``APIGroupList``."""
    return _serve_discovery(request, core=False, legacy=api_group_list())


async def group(request: Request) -> Response:
    """``GET /apis/<group>``."""
    doc = api_group(request.path_params["group"])
    if doc is None:
        return _not_found()
    fmt = negotiate_discovery(request.headers.get("accept"))
    if fmt not in ("json", "yaml"):
        return status_response(new_not_acceptable(LEGACY_MEDIA_TYPES))
    return _encode(doc, fmt)


async def group_version(request: Request) -> Response:
    """``GET /api/<version>`` and ``GET /apis/<group>/<version>``: an ``APIResourceList``."""
    doc = api_resource_list(request.path_params.get("group", ""), request.path_params["version"])
    if doc is None:
        return _not_found()
    fmt = negotiate_discovery(request.headers.get("accept"))
    if fmt not in ("json", "yaml"):
        return status_response(new_not_acceptable(LEGACY_MEDIA_TYPES))
    return _encode(doc, fmt)


def routes() -> list[Route]:
    """The discovery routes; mount them before the resource routes."""
    return [
        Route("/version", version, methods=["GET"]),
        Route("/api", api, methods=["GET"]),
        Route("/apis", apis, methods=["GET"]),
        Route("/api/{version}", group_version, methods=["GET"]),
        Route("/apis/{group}", group, methods=["GET"]),
        Route("/apis/{group}/{version}", group_version, methods=["GET"]),
    ]
