"""OpenAPI: the served schema, as one v2 document and as OpenAPI 3 documents per group-version.

kubectl reads OpenAPI for three things. ``create``/``apply``/``replace``/``edit``
(default ``--validate=strict``) look for a PATCH operation of the object's
GVK that accepts the ``fieldValidation`` query parameter; finding it, they
leave validation to the server (``?fieldValidation=Strict``). Client-side
``apply`` and ``edit`` compute strategic merge patches from the schemas' patch
extensions. ``kubectl explain`` prints the schemas and their descriptions.

* ``GET /openapi/v2``: the whole document (``openapi/swagger.json``). The real
  server also offers it as protobuf (``application/com.github.proto-openapi.
  spec.v2@v1.0+protobuf``, which kubectl asks for on fallback paths); this one
  speaks JSON only and answers a protobuf-only ``Accept`` with 406.
* ``GET /openapi/v3``: an index, ``{"paths": {"api/v1": {"serverRelativeURL":
  "/openapi/v3/api/v1?hash=<etag>"}, ...}}``, one entry per group-version.
* ``GET /openapi/v3/api/v1``, ``/openapi/v3/apis/<group>/<version>``: an
  OpenAPI 3.0 document with that group-version's paths and the schemas they
  reach under ``components/schemas``. The hash in the URL makes it immutable:
  with the right ``?hash=`` the response is cacheable for a year
  (``Cache-Control: public, immutable``); a stale hash is redirected (301) to
  the current URL.

The v3 documents are converted from v2 once, on first request, the way
k8s.io/kube-openapi/pkg/spec3 and builder3 shape them: ``#/definitions/X``
becomes ``#/components/schemas/X``, a reference with sibling keys becomes
``allOf: [{$ref}]``, body parameters become ``requestBody`` with one content
entry per ``consumes`` media type, responses get one per ``produces``.

Mirrors k8s.io/kube-openapi/pkg/handler/handler.go (v2) and
k8s.io/kube-openapi/pkg/handler3/handler.go (v3 index, per-group documents,
ETag, hash redirect, cache headers).
"""

from __future__ import annotations

import hashlib
import time
from email.utils import formatdate
from functools import cache
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from apiserver import schema
from apiserver.discovery import VERSION_INFO, parse_accept

V3_PREFIX = "/openapi/v3/"
_STARTED = formatdate(time.time(), usegmt=True)  # Last-Modified: the documents change only on restart
_ONE_YEAR = 365 * 24 * 3600


def etag_of(body: bytes) -> str:
    """Upper-case hex SHA-512, as kube-openapi computes ETags and hashes."""
    return hashlib.sha512(body).hexdigest().upper()


# ------------------------------------------------------------- v2 → v3 conversion


def convert_schema(node: Any) -> Any:
    """Rewrite a v2 schema for OpenAPI 3: component references, ``allOf`` around ``$ref`` with siblings."""
    if isinstance(node, list):
        return [convert_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: convert_schema(value) for key, value in node.items() if key != "$ref"}
    if "$ref" in node:
        ref = {"$ref": "#/components/schemas/" + schema.ref_name(node["$ref"])}
        if not out:
            return ref
        return {"allOf": [ref], **out}
    return out


def _parameter(param: dict[str, Any]) -> dict[str, Any]:
    """A v2 query/path parameter: its type moves under ``schema``."""
    if "$ref" in param:
        param = schema.swagger()["parameters"][schema.ref_name(param["$ref"])]
    typed = {"type", "format", "uniqueItems", "items", "default", "enum"}
    out = {k: v for k, v in param.items() if k not in typed}
    out["schema"] = {k: v for k, v in param.items() if k in typed}
    return out


def convert_operation(op: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in op.items():
        if key in ("consumes", "produces", "schemes", "parameters", "responses"):
            continue
        out[key] = value
    params = []
    for raw in op.get("parameters", []):
        param = schema.swagger()["parameters"][schema.ref_name(raw["$ref"])] if "$ref" in raw else raw
        if param["in"] == "body":
            body_schema = convert_schema(param["schema"])
            out["requestBody"] = {
                "content": {media: {"schema": body_schema} for media in op.get("consumes", ["*/*"])},
                "required": bool(param.get("required")),
            }
        else:
            params.append(_parameter(param))
    if params:
        out["parameters"] = params
    responses = {}
    for code, response in op.get("responses", {}).items():
        converted = {"description": response.get("description", "")}
        if "schema" in response:
            body_schema = convert_schema(response["schema"])
            converted["content"] = {media: {"schema": body_schema} for media in op.get("produces", [])}
        responses[code] = converted
    out["responses"] = responses
    return out


def _collect_schemas(node: Any) -> dict[str, Any]:
    """Every component schema reachable from ``node``, converted."""
    found: dict[str, Any] = {}
    pending = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, dict):
            ref = current.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                name = schema.ref_name(ref)
                if name not in found:
                    found[name] = convert_schema(schema.definitions()[name])
                    pending.append(found[name])
            pending.extend(v for k, v in current.items() if k != "$ref")
        elif isinstance(current, list):
            pending.extend(current)
    return dict(sorted(found.items()))


def v3_document(key: str) -> dict[str, Any] | None:
    """The OpenAPI 3 document of one index key (``api/v1``, ``apis/apps/v1``, ``apis/apps``)."""
    prefix = f"/{key}/"
    selected = {p: item for p, item in schema.swagger()["paths"].items() if p.startswith(prefix)}
    if key.count("/") == 1 and key.startswith("apis/"):  # a group document: only its root
        selected = {p: item for p, item in selected.items() if p == prefix}
    if not selected:
        return None
    paths: dict[str, Any] = {}
    for path, item in selected.items():
        converted: dict[str, Any] = {}
        for method, value in item.items():
            if method == "parameters":
                converted["parameters"] = [_parameter(p) for p in value]
            else:
                converted[method] = convert_operation(value)
        paths[path] = converted
    security = schema.swagger().get("securityDefinitions", {}).get("BearerToken")
    components: dict[str, Any] = {"schemas": _collect_schemas(paths)}
    if security:
        components["securitySchemes"] = {
            "BearerToken": {k: security[k] for k in ("type", "description", "name", "in") if k in security}
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": VERSION_INFO["gitVersion"]},
        "paths": paths,
        "components": components,
    }


def v3_keys() -> list[str]:
    """The index keys: every served group-version, and every named group's root."""
    keys: set[str] = set()
    for path in schema.swagger()["paths"]:
        parts = path.strip("/").split("/")
        keys.add("/".join(parts[:2]) if parts[0] == "api" else "/".join(parts[:3]))
    return sorted(keys)


@cache
def _v3_encoded(key: str) -> tuple[bytes, str] | None:
    doc = v3_document(key)
    if doc is None:
        return None
    body = orjson.dumps(doc)
    return body, etag_of(body)


@cache
def _v3_index() -> bytes:
    paths = {}
    for key in v3_keys():
        encoded = _v3_encoded(key)
        if encoded is not None:
            paths[key] = {"serverRelativeURL": f"{V3_PREFIX}{key}?hash={encoded[1]}"}
    return orjson.dumps({"paths": paths})


@cache
def _v2_encoded() -> tuple[bytes, str]:
    body = orjson.dumps(schema.swagger())
    return body, etag_of(body)


# ---------------------------------------------------------------------- handlers


def _accepts_json(request: Request) -> bool:
    """kube-openapi's rule: serve the first ``Accept`` clause we can; only JSON here."""
    return any(c.matches("application", "json") for c in parse_accept(request.headers.get("accept")))


def _serve(request: Request, body: bytes, etag: str, extra: dict[str, str] | None = None) -> Response:
    quoted = f'"{etag}"'
    headers = {"ETag": quoted, "Vary": "Accept", "Last-Modified": _STARTED, **(extra or {})}
    if request.headers.get("if-none-match") == quoted:
        return Response(status_code=304, headers=headers)
    return Response(body, headers=headers, media_type="application/json")


async def openapi_v2(request: Request) -> Response:
    """``GET /openapi/v2``."""
    if not _accepts_json(request):
        return Response(status_code=406, headers={"Vary": "Accept"})
    body, etag = _v2_encoded()
    return _serve(request, body, etag)


async def openapi_v3_index(request: Request) -> Response:
    """``GET /openapi/v3``: where each group-version's document is."""
    body = _v3_index()
    return _serve(request, body, etag_of(body))


async def openapi_v3_document(request: Request) -> Response:
    """``GET /openapi/v3/<key>[?hash=...]``."""
    key = request.path_params["key"].strip("/")
    encoded = _v3_encoded(key)
    if encoded is None:
        return Response(b"404 page not found\n", 404, media_type="text/plain; charset=utf-8")
    if not _accepts_json(request):
        return Response(status_code=406, headers={"Vary": "Accept"})
    body, etag = encoded
    given = request.query_params.get("hash")
    if given is None:
        return _serve(request, body, etag)
    if given != etag:
        return RedirectResponse(f"{V3_PREFIX}{key}?hash={etag}", status_code=301)
    immutable = {
        "Cache-Control": "public, immutable",
        "Expires": formatdate(time.time() + _ONE_YEAR, usegmt=True),
    }
    return _serve(request, body, etag, immutable)


def routes() -> list[Route]:
    return [
        Route("/openapi/v2", openapi_v2, methods=["GET"]),
        Route("/openapi/v3", openapi_v3_index, methods=["GET"]),
        Route("/openapi/v3/{key:path}", openapi_v3_document, methods=["GET"]),
    ]
