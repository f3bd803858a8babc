"""Serialization: request bodies in, responses out, and what the client accepts.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/negotiation/negotiate.go (choosing
an input decoder from Content-Type and an output form from Accept) and the limits
of k8s.io/apiserver/pkg/endpoints/handlers/rest.go (a 3 MiB request body,
``maxRequestBodyBytes``).

* A missing Content-Type means JSON (the first supported type), as upstream: the
  Python client sends create and update bodies with none.
* YAML bodies are accepted (``application/yaml``) and must decode to one mapping.
* Every decoding failure is a 4xx ``Status`` that names the problem; JSON nesting
  deeper than orjson's limit and non-UTF-8 bytes are decoding failures too.
* ``Accept`` decides between a plain object and a ``meta.k8s.io`` Table, and whether
  JSON is acceptable at all (406 if not).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import Response

from apimachinery import errors
from apiserver import protobuf
from apiserver.printers import check_include_object

#: kube-apiserver's --max-request-body-bytes default (3 MiB); larger bodies get 413.
MAX_BODY_BYTES = 3 * 1024 * 1024
#: Deepest nesting accepted in a YAML body (orjson enforces its own limit for JSON).
MAX_YAML_DEPTH = 1000

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
#: Body types decoded; protobuf is what kubectl 1.32's typed clients send (``create configmap`` ...).
ACCEPTED_BODY_TYPES = (JSON, YAML, PROTOBUF)


def media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


async def read_body(request: Request) -> bytes:
    """The raw body, refusing (413) anything over :data:`MAX_BODY_BYTES` without reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise errors.new_request_entity_too_large_error(f"limit is {MAX_BODY_BYTES}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise errors.new_request_entity_too_large_error(f"limit is {MAX_BODY_BYTES}")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        msg = str(e)
        if "recursion" in msg.lower() or "depth" in msg.lower():
            msg = f"the object is nested too deeply ({msg})"
        raise errors.new_bad_request(f"error decoding JSON body: {msg}") from None


def decode_yaml(body: bytes) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise errors.new_bad_request(f"error decoding YAML body: invalid UTF-8 at byte {e.start}") from None
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except RecursionError:
        raise errors.new_bad_request("error decoding YAML body: the object is nested too deeply") from None
    except yaml.YAMLError as e:
        raise errors.new_bad_request(f"error decoding YAML body: {e}") from None
    if len(docs) > 1:
        raise errors.new_bad_request("error decoding YAML body: expected a single document")
    value = docs[0] if docs else None
    if _depth(value) > MAX_YAML_DEPTH:
        raise errors.new_bad_request("error decoding YAML body: the object is nested too deeply")
    return value


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a recursive walk is what a deep body would break)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in v)
    return deepest


def decode_object(body: bytes, content_type: str | None) -> dict[str, Any]:
    """Decode a create/update body into one object dict (JSON, YAML or Kubernetes protobuf)."""
    mt = media_type(content_type)
    if not body.strip():
        raise errors.new_bad_request("the request body is empty: expected an object")
    if mt in ("", JSON, "*/*"):
        value = decode_json(body)
    elif mt in (YAML, "application/x-yaml", "text/yaml"):
        value = decode_yaml(body)
    elif mt == PROTOBUF:
        value = protobuf.decode(body)
    else:
        raise errors.new_unsupported_media_type(ACCEPTED_BODY_TYPES)
    if not isinstance(value, dict):
        raise errors.new_bad_request(f"the request body must be an object, not {type(value).__name__}")
    return value


# --- output -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accept:
    """What the client will take: a Table (which version), or the object itself."""

    table: str = ""  # "", "v1" or "v1beta1"
    include_object: str = "Metadata"


def negotiate(request: Request) -> Accept:
    """Parse ``Accept``: a Table when an acceptable entry asks ``as=Table;g=meta.k8s.io``.

    Anything else that allows JSON (``application/json``, ``*/*``, protobuf lists
    always followed by JSON) gets JSON; an Accept with nothing we can produce is 406.
    """
    header = request.headers.get("accept", "")
    try:
        include = check_include_object(request.query_params.get("includeObject", ""))
    except ValueError as e:
        raise errors.new_bad_request(str(e)) from None
    if not header.strip():
        return Accept(include_object=include)
    ok = False
    for entry in header.split(","):
        parts = [p.strip() for p in entry.split(";")]
        mt = parts[0].lower()
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        if params.get("as") == "Table" and params.get("g") == "meta.k8s.io" and mt in (JSON, "*/*"):
            if params.get("v") in ("v1", "v1beta1"):
                return Accept(table=params["v"], include_object=include)
            continue
        if params.get("as"):
            continue  # some other server-side transformation we do not offer
        if mt in (JSON, "*/*", "application/*", YAML, PROTOBUF):
            ok = True
    if not ok:
        raise errors.new_not_acceptable([JSON, YAML])
    return Accept(include_object=include)


def json_response(obj: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(obj), status_code=status_code, media_type=JSON, headers=headers)


def status_response(err: errors.StatusError) -> Response:
    status = err.status
    headers = {}
    retry = (status.get("details") or {}).get("retryAfterSeconds")
    if retry:
        headers["Retry-After"] = str(retry)
    return json_response(status, int(status.get("code") or 500), headers)
