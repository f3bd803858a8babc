"""CREATE (POST) and UPDATE (PUT) of an object or of its ``status``.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/create.go and update.go: decode
the body (JSON when no Content-Type is given), check it is the kind this URL
serves, run admission (here: NamespaceLifecycle), then hand it to the generic
store. Create answers 201; update 200, or 201 when the PUT created the object.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from apimachinery import errors
from apiserver.serialization import decode_object, read_body

from .admission import admit_namespace
from .common import Scope, check_fields, dry_run, field_manager, respond

Object = dict[str, Any]


def check_type(scope: Scope, obj: Object, *, kind: str = "", api_version: str = "") -> None:
    """The body's apiVersion/kind must be what the URL serves; missing ones default to it."""
    info = scope.entry.info
    kind = kind or info.kind
    api_version = api_version or info.api_version
    got_version, got_kind = obj.get("apiVersion"), obj.get("kind")
    if got_version and got_version != api_version:
        raise errors.new_bad_request(
            f"the API version in the data ({got_version}) does not match the expected API version ({api_version})"
        )
    if got_kind and got_kind != kind:
        raise errors.new_bad_request(
            f"the kind in the data ({got_kind}) does not match the expected kind ({kind})"
        )
    obj["apiVersion"], obj["kind"] = api_version, kind
    if not isinstance(obj.get("metadata", {}), dict):
        raise errors.new_bad_request("metadata: expected an object")


def _check_namespace(scope: Scope, obj: Object) -> None:
    meta = obj.setdefault("metadata", {})
    if scope.entry.namespaced:
        ns = meta.get("namespace")
        if ns and ns != scope.namespace:
            raise errors.new_bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )


async def create(scope: Scope) -> Response:
    body = await read_body(scope.request)
    obj = decode_object(body, scope.request.headers.get("content-type"))
    check_type(scope, obj)
    warnings = check_fields(scope, obj, body, decoded=True)
    _check_namespace(scope, obj)
    dry = dry_run(scope)
    manager = field_manager(scope)
    if scope.entry.namespaced:
        await admit_namespace(scope, obj["metadata"].get("name") or obj["metadata"].get("generateName", ""))
    out = await scope.store.create(obj, scope.namespace, dry_run=dry, manager=manager)
    return respond(out, 201, warnings)


async def update(scope: Scope) -> Response:
    body = await read_body(scope.request)
    obj = decode_object(body, scope.request.headers.get("content-type"))
    check_type(scope, obj)
    warnings = check_fields(scope, obj, body, decoded=True)
    _check_namespace(scope, obj)
    dry = dry_run(scope)
    manager = field_manager(scope)
    subresource = "status" if scope.info.subresource == "status" else ""
    strategy = scope.entry.status_strategy if subresource else None
    out, created = await scope.store.update(
        scope.namespace,
        scope.info.name,
        lambda _current: obj,
        strategy=strategy,
        dry_run=dry,
        manager=manager,
        subresource=subresource,
    )
    return respond(out, 201 if created else 200, warnings)
