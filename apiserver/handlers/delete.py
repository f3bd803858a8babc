"""DELETE of one object, and of a collection (deletecollection).

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/delete.go and the option checks
of ValidateDeleteOptions (k8s.io/apimachinery/pkg/apis/meta/v1/validation). The
``DeleteOptions`` come from the body (kubectl: JSON without kind/apiVersion) or
from query parameters (the Python client), never both needed.

Namespaces are deleted their own way (k8s pkg/registry/core/namespace/storage):
the first DELETE marks the namespace ``Terminating``; it goes only when the
namespace controller has emptied it and removed the ``kubernetes`` finalizer
through ``/finalize``.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from apimachinery import errors, field_errors
from apimachinery.errors import GroupKind, GroupResource
from apimachinery.meta import now
from apiserver.serialization import decode_object, json_response, read_body
from apiserver.storage import errors as serr

from .admission import admit_namespace_delete
from .common import Scope, dry_run, int_param
from .listoptions import parse_list_options

Object = dict[str, Any]
_POLICIES = ("Foreground", "Background", "Orphan")


async def delete_options(scope: Scope) -> Object:
    body = await read_body(scope.request)
    options: Object = {}
    if body.strip():
        options = decode_object(body, scope.request.headers.get("content-type"))
    grace = int_param(scope, "gracePeriodSeconds", minimum=-(2**31))
    if grace is not None:
        options["gracePeriodSeconds"] = grace
    if scope.query("propagationPolicy"):
        options["propagationPolicy"] = scope.query("propagationPolicy")
    if scope.query("orphanDependents"):
        options["orphanDependents"] = scope.query("orphanDependents").lower() == "true"
    errs = []
    if options.get("orphanDependents") is not None and options.get("propagationPolicy"):
        errs.append(
            field_errors.invalid(
                "propagationPolicy",
                options["propagationPolicy"],
                "orphanDependents and deletionPropagation cannot be both set",
            )
        )
    policy = options.get("propagationPolicy")
    if policy and policy not in _POLICIES:
        errs.append(field_errors.not_supported("propagationPolicy", policy, _POLICIES))
    if errs:
        raise errors.new_invalid(GroupKind("meta.k8s.io", "DeleteOptions"), "", errs)
    return options


async def delete(scope: Scope) -> Response:
    options = await delete_options(scope)
    dry = dry_run(scope, options)
    info = scope.entry.info
    if info.group == "" and info.resource == "namespaces":
        return await _delete_namespace(scope, options, dry)
    obj, exists = await scope.store.delete(scope.namespace, scope.info.name, options, dry_run=dry)
    if exists or scope.store.strategy.return_deleted_object:
        code = 202 if exists and options.get("orphanDependents") is False else 200
        return json_response(obj, code)
    uid = obj["metadata"].get("uid", "")
    return json_response(
        errors.status_success(GroupResource(info.group, info.resource), scope.info.name, uid)
    )


async def _delete_namespace(scope: Scope, options: Object, dry: bool) -> Response:
    name = scope.info.name
    admit_namespace_delete(name)
    store = scope.store
    current = await store.get("", name)
    if not (current.get("spec") or {}).get("finalizers"):
        obj, _ = await store.delete("", name, options, dry_run=dry)
        return json_response(obj)
    if current["metadata"].get("deletionTimestamp"):
        raise errors.new_conflict(
            GroupResource("", "namespaces"),
            name,
            "The system is ensuring all content is removed from this namespace.  "
            "Upon completion, this namespace will automatically be purged by the system.",
        )

    def terminate(ns: Object | None) -> Object:
        if ns is None:
            raise errors.new_not_found(GroupResource("", "namespaces"), name)
        ns["metadata"]["deletionTimestamp"] = now()
        ns["metadata"]["deletionGracePeriodSeconds"] = 0
        ns.setdefault("status", {})["phase"] = "Terminating"
        return ns

    if dry:
        return json_response(terminate(current))
    # Server-set fields only: straight to storage, past the strategy that guards them from clients.
    try:
        obj = await store.storage.guaranteed_update(store.key("", name), terminate)
    except serr.StorageError as e:
        raise store.translate(e, name) from None
    return json_response(obj)


async def delete_collection(scope: Scope) -> Response:
    """List what matches, then delete each (store.go DeleteCollection); answer the list."""
    options = await delete_options(scope)
    dry = dry_run(scope, options)
    opts = parse_list_options(scope, watch=False)
    store = scope.store
    page = await store.storage.list(store.list_prefix(scope.namespace), predicate=opts.predicate)
    deleted = []
    for item in page.items:
        meta = item["metadata"]
        try:
            obj, _ = await store.delete(meta.get("namespace", ""), meta["name"], options, dry_run=dry)
            deleted.append(obj)
        except errors.StatusError as e:
            if e.code != 404:
                raise
    info = scope.entry.info
    return json_response(
        {
            "kind": info.list_kind,
            "apiVersion": info.api_version,
            "metadata": {"resourceVersion": str(page.resource_version)},
            "items": deleted,
        }
    )
