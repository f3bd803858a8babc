"""The namespace controller: empty a Terminating namespace, then let it go.

``kubectl delete namespace dev`` only marks the namespace: the API server sets
``deletionTimestamp`` and ``status.phase: Terminating``, and the namespace stays
because ``spec.finalizers`` holds ``kubernetes``. This controller owns that finalizer.
For a namespace being deleted it:

1. discovers every namespaced resource the server serves (discovery.py);
2. deletes all of it, one DELETE of the collection per resource
   (``deletecollection``; a LIST and one DELETE per object where that is not served);
3. lists again, and while anything is left writes why on the namespace's status
   conditions (``NamespaceContentRemaining``: "Some resources are remaining: pods has
   2 resource instances", ``NamespaceFinalizersRemaining``, ``NamespaceDeletionContentFailure``)
   and looks again shortly (pods take their grace period to go);
4. once empty, ``PUT /api/v1/namespaces/<name>/finalize`` with ``spec.finalizers``
   minus ``kubernetes``: the server then removes the namespace, and ``kubectl delete``
   (which was watching) returns.

Mirrors: pkg/controller/namespace/namespace_controller.go and
pkg/controller/namespace/deletion/namespaced_resources_deleter.go (Delete,
deleteAllContent, deleteAllContentForGroupVersionResource, estimateGracefulTermination,
updateNamespaceStatusFunc, the ok/failure reasons and messages).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from apimachinery import errors
from client.cache import copy
from controllers.base import NAMESPACES, Controller, Result, Watch
from controllers.discovery import APIResource, server_preferred_resources, supports
from controllers.util import Obj, meta, set_condition, timestamp

log = logging.getLogger(__name__)

FINALIZER = "kubernetes"

DISCOVERY_FAILURE = "NamespaceDeletionDiscoveryFailure"
CONTENT_FAILURE = "NamespaceDeletionContentFailure"
CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"

#: (reason, message) when the condition is False: all is well.
OK = {
    DISCOVERY_FAILURE: ("ResourcesDiscovered", "All resources successfully discovered"),
    CONTENT_FAILURE: ("ContentDeleted", "All content successfully deleted, may be waiting on finalization"),
    CONTENT_REMAINING: ("ContentRemoved", "All content successfully removed"),
    FINALIZERS_REMAINING: ("ContentHasNoFinalizers", "All content-preserving finalizers finished"),
}
FAILED_REASON = {
    DISCOVERY_FAILURE: "DiscoveryFailed",
    CONTENT_FAILURE: "ContentDeletionFailed",
    CONTENT_REMAINING: "SomeResourcesRemain",
    FINALIZERS_REMAINING: "SomeFinalizersRemain",
}


def group_resource(r: APIResource) -> str:
    """``GroupResource.String()``: ``pods``, ``deployments.apps``."""
    return f"{r.gvr.resource}.{r.gvr.group}" if r.gvr.group else r.gvr.resource


def remaining_conditions(
    conditions: list[dict[str, Any]],
    remaining: dict[str, int],
    finalizers: dict[str, int],
    failures: Sequence[str],
    now: float,
) -> list[dict[str, Any]]:
    """The namespace's deletion conditions for what is left (``updateNamespaceStatusFunc``)."""
    problems: dict[str, str] = {}
    if remaining:
        items = ", ".join(f"{gr} has {n} resource instances" for gr, n in sorted(remaining.items()))
        problems[CONTENT_REMAINING] = f"Some resources are remaining: {items}"
    if finalizers:
        items = ", ".join(f"{f} in {n} resource instances" for f, n in sorted(finalizers.items()))
        problems[FINALIZERS_REMAINING] = f"Some content in the namespace has finalizers remaining: {items}"
    if failures:
        problems[CONTENT_FAILURE] = (
            f"Failed to delete all resource types, {len(failures)} remaining: {'; '.join(failures)}"
        )
    out = list(conditions)
    for ctype in OK:
        if ctype in problems:
            new = {
                "type": ctype,
                "status": "True",
                "reason": FAILED_REASON[ctype],
                "message": problems[ctype],
            }
        else:
            reason, message = OK[ctype]
            new = {"type": ctype, "status": "False", "reason": reason, "message": message}
        new["lastTransitionTime"] = timestamp(now)
        old = next((c for c in out if c.get("type") == ctype), None)
        if old is not None and old.get("message") != new["message"]:
            out = [c for c in out if c.get("type") != ctype]  # same reason, new counts
        out = set_condition(out, new)
    return out


class NamespaceController(Controller):
    name = "namespace"
    workers = 2

    def watches(self) -> list[Watch]:
        return [Watch(NAMESPACES)]

    async def reconcile(self, key: str) -> Result | None:
        ns = self.cache(NAMESPACES).get(key)
        if ns is None or not meta(ns).get("deletionTimestamp"):
            return None
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or []):
            return None
        name = meta(ns)["name"]
        resources = [
            r
            for r in await server_preferred_resources(self.ctx.client)
            if r.namespaced and supports(r, "list", "delete")
        ]
        failures: list[str] = []
        for r in resources:
            try:
                await self._delete_all(r, name)
            except errors.StatusError as err:
                failures.append(f"{group_resource(r)}: {err}")
        remaining, finalizers = await self._count(resources, name)
        if remaining or failures:
            await self._update_conditions(ns, remaining, finalizers, failures)
            return Result(requeue_after=1.0 if not failures else 5.0)
        await self._finalize(ns)
        return None

    async def _delete_all(self, r: APIResource, namespace: str) -> None:
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"}
        if supports(r, "deletecollection"):
            await self.ctx.client.request("DELETE", r.gvr, namespace=namespace, body=body)
            return
        for item in (await self.ctx.client.list(r.gvr, namespace=namespace)).get("items", []):
            try:
                await self.ctx.client.delete(
                    r.gvr, meta(item)["name"], namespace=namespace, propagation_policy="Background"
                )
            except errors.StatusError as err:
                if not errors.is_not_found(err):
                    raise

    async def _count(
        self, resources: list[APIResource], namespace: str
    ) -> tuple[dict[str, int], dict[str, int]]:
        remaining: dict[str, int] = {}
        finalizers: dict[str, int] = {}
        for r in resources:
            items = (await self.ctx.client.list(r.gvr, namespace=namespace)).get("items", [])
            if items:
                remaining[group_resource(r)] = len(items)
            for item in items:
                for f in meta(item).get("finalizers") or []:
                    finalizers[f] = finalizers.get(f, 0) + 1
        return remaining, finalizers

    async def _update_conditions(
        self, ns: Obj, remaining: dict[str, int], finalizers: dict[str, int], failures: list[str]
    ) -> None:
        status = dict(ns.get("status") or {})
        conditions = remaining_conditions(
            list(status.get("conditions") or []), remaining, finalizers, failures, self.ctx.now()
        )
        if conditions == status.get("conditions"):
            return
        updated = copy(ns)
        updated["status"] = {**status, "conditions": conditions}
        try:
            await self.ctx.client.update(NAMESPACES, updated, subresource="status")
        except errors.StatusError as err:
            if not (errors.is_conflict(err) or errors.is_not_found(err)):
                raise

    async def _finalize(self, ns: Obj) -> None:
        updated = copy(ns)
        spec = updated.setdefault("spec", {})
        spec["finalizers"] = [f for f in spec.get("finalizers") or [] if f != FINALIZER]
        try:
            await self.ctx.client.update(NAMESPACES, updated, subresource="finalize")
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                raise
