"""Subresources that are not plain object views: scale, binding, eviction, finalize.

* ``/scale`` speaks ``autoscaling/v1 Scale`` for deployments, replicasets,
  statefulsets and replicationcontrollers (k8s pkg/registry/apps/deployment/storage
  ScaleREST): GET builds a Scale from the object, PUT/PATCH change only
  ``spec.replicas``.
* ``pods/binding`` (and the ``bindings`` resource) assigns a pod to a node, the
  scheduler's only write (k8s pkg/registry/core/pod/storage BindingREST).
* ``pods/eviction`` deletes a pod unless a PodDisruptionBudget forbids it
  (k8s pkg/registry/core/pod/storage/eviction.go).
* ``namespaces/finalize`` changes ``spec.finalizers``; the namespace goes when none
  remains (k8s pkg/registry/core/namespace/storage FinalizeREST).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from apimachinery import errors, field_errors, selectors
from apimachinery.errors import GroupResource
from apimachinery.meta import now
from apiserver.serialization import decode_object, json_response, media_type, read_body
from apiserver.storage import errors as serr

from .common import Scope, dry_run, field_manager
from .patch import PATCH_TYPES, patcher
from .write import check_type

Object = dict[str, Any]


# --- scale ---------------------------------------------------------------------------


def _selector_string(obj: Object) -> str:
    selector = (obj.get("spec") or {}).get("selector") or {}
    if obj.get("kind") == "ReplicationController":
        return ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return str(selectors.from_label_selector(selector))


def to_scale(obj: Object) -> Object:
    meta = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            k: meta[k]
            for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if k in meta
        },
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": _selector_string(obj),
        },
    }


async def scale(scope: Scope) -> Response:
    store = scope.store
    name = scope.info.name
    if scope.request.method == "GET":
        return json_response(to_scale(await store.get(scope.namespace, name)))
    body = await read_body(scope.request)
    content_type = scope.request.headers.get("content-type")
    if scope.request.method == "PUT":
        wanted = decode_object(body, content_type)
        check_type(scope, wanted, kind="Scale", api_version="autoscaling/v1")
        apply: Any = lambda _scale: wanted  # noqa: E731
    else:
        if media_type(content_type) not in PATCH_TYPES:
            raise errors.new_unsupported_media_type(PATCH_TYPES)
        apply = patcher(media_type(content_type), body, scope)

    def compute(current: Object | None) -> Object:
        if current is None:
            raise errors.new_not_found(store.gr, name)
        want = apply(to_scale(current))
        replicas = (want.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise errors.new_invalid(
                errors.GroupKind("autoscaling", "Scale"),
                name,
                [field_errors.invalid("spec.replicas", replicas, "must be greater than or equal to 0")],
            )
        rv = (want.get("metadata") or {}).get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise errors.new_conflict(store.gr, name, errors.OPTIMISTIC_LOCK_ERROR_MSG)
        current.setdefault("spec", {})["replicas"] = replicas
        current["metadata"].pop("resourceVersion", None)
        return current

    out, _ = await store.update(
        scope.namespace,
        name,
        compute,
        dry_run=dry_run(scope),
        manager=field_manager(scope),
        subresource="scale",
    )
    return json_response(to_scale(out))


# --- binding -------------------------------------------------------------------------


async def binding(scope: Scope) -> Response:
    """POST pods/{name}/binding or POST bindings: set spec.nodeName once."""
    body = decode_object(await read_body(scope.request), scope.request.headers.get("content-type"))
    name = scope.info.name or (body.get("metadata") or {}).get("name", "")
    if scope.info.name and (body.get("metadata") or {}).get("name", name) != name:
        raise errors.new_bad_request("name in URL does not match name in Binding object")
    target = (body.get("target") or {}).get("name")
    pods = scope.registry.get("", "v1", "pods")
    assert pods is not None
    gr = GroupResource("", "pods/binding")
    if not target:
        raise errors.new_invalid(
            errors.GroupKind("", "Binding"), name, [field_errors.required("target.name", "")]
        )

    def assign(pod: Object | None) -> Object:
        if pod is None:
            raise errors.new_not_found(GroupResource("", "pods"), name)
        meta, spec = pod["metadata"], pod.setdefault("spec", {})
        if meta.get("deletionTimestamp"):
            raise errors.new_conflict(gr, name, f"pod {name} is being deleted, cannot be assigned to a host")
        if spec.get("nodeName"):
            raise errors.new_conflict(
                gr, name, f'pod {name} is already assigned to node "{spec["nodeName"]}"'
            )
        if spec.get("schedulingGates"):
            raise errors.new_conflict(gr, name, f"pod {name} has non-empty .spec.schedulingGates")
        spec["nodeName"] = target
        annotations = (body.get("metadata") or {}).get("annotations") or {}
        if annotations:
            meta.setdefault("annotations", {}).update(annotations)
        conditions = [
            c
            for c in (pod.setdefault("status", {}).get("conditions") or [])
            if c.get("type") != "PodScheduled"
        ]
        conditions.append(
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now()}
        )
        pod["status"]["conditions"] = conditions
        return pod

    try:
        if not dry_run(scope):
            await pods.store.storage.guaranteed_update(pods.store.key(scope.info.namespace, name), assign)
    except serr.StorageError as e:
        raise pods.store.translate(e, name) from None
    return json_response(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201
    )


# --- eviction ------------------------------------------------------------------------


async def eviction(scope: Scope) -> Response:
    body = decode_object(await read_body(scope.request), scope.request.headers.get("content-type"))
    check_type(scope, body, kind="Eviction", api_version=body.get("apiVersion") or "policy/v1")
    name = scope.info.name
    pod = await scope.store.get(scope.namespace, name)
    pdbs = scope.registry.get("policy", "v1", "poddisruptionbudgets")
    if pdbs is not None and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
        page = await pdbs.store.storage.list(pdbs.store.list_prefix(scope.namespace))
        labels = pod["metadata"].get("labels") or {}
        for pdb in page.items:
            selector = (pdb.get("spec") or {}).get("selector")
            if selector is None or not selectors.from_label_selector(selector)(labels):
                continue
            if ((pdb.get("status") or {}).get("disruptionsAllowed") or 0) < 1:
                err = errors.new_too_many_requests_error(
                    "Cannot evict pod as it would violate the pod's disruption budget."
                )
                err.status["message"] = "Cannot evict pod as it would violate the pod's disruption budget."
                err.status.setdefault("details", {})["causes"] = [
                    {
                        "reason": "DisruptionBudget",
                        "message": f"The disruption budget {pdb['metadata']['name']} needs "
                        f"{(pdb.get('status') or {}).get('desiredHealthy', 0)} healthy pods and has "
                        f"{(pdb.get('status') or {}).get('currentHealthy', 0)} currently",
                    }
                ]
                raise err
    options = body.get("deleteOptions") or {}
    await scope.store.delete(scope.namespace, name, options, dry_run=dry_run(scope, options))
    return json_response(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, 201
    )


# --- namespace finalize --------------------------------------------------------------


async def finalize(scope: Scope) -> Response:
    body = decode_object(await read_body(scope.request), scope.request.headers.get("content-type"))
    check_type(scope, body)
    store, name = scope.store, scope.info.name
    finalizers = list((body.get("spec") or {}).get("finalizers") or [])

    def set_finalizers(ns: Object | None) -> Object:
        if ns is None:
            raise errors.new_not_found(store.gr, name)
        ns.setdefault("spec", {})["finalizers"] = finalizers
        return ns

    try:
        out = await store.storage.guaranteed_update(store.key("", name), set_finalizers)
        meta = out["metadata"]
        if meta.get("deletionTimestamp") and not finalizers and not meta.get("finalizers"):
            await store.storage.delete(store.key("", name))
    except serr.StorageError as e:
        raise store.translate(e, name) from None
    return json_response(out)
