"""The pod garbage collector: clean up pods nobody else will.

Three kinds of pods would otherwise stay forever:

* **terminated pods** (``Succeeded``/``Failed``) beyond ``--terminated-pod-gc-threshold``
  (default 12500; 0 disables): the oldest are deleted first;
* **orphaned pods**, bound to a node that no longer exists (confirmed with a live GET,
  the cache may lag): marked ``Failed`` with a ``DisruptionTarget`` condition
  (reason ``DeletionByPodGC``), then force-deleted, since no kubelet will ever finish them;
* **unscheduled terminating pods**: a ``deletionTimestamp`` and no node, so no kubelet
  to complete the deletion: force-deleted.

Upstream runs these checks every 20 s; here they are level-triggered: pod events
enqueue the pod (or the ``terminated`` key when a pod finished), node deletions
enqueue the node's pods.

Mirrors: pkg/controller/podgc/gc_controller.go (gcTerminated, gcOrphaned,
gcUnscheduledTerminating, markFailedAndDeletePod).
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from apimachinery.meta import object_key
from controllers.base import NODES, PODS, Context, Controller, Result, Watch
from controllers.util import Obj, epoch, is_pod_terminated, meta, timestamp

TERMINATED = "terminated"
DEFAULT_THRESHOLD = 12500


def terminated_to_delete(pods: list[Obj], threshold: int) -> list[Obj]:
    """The oldest terminated pods above ``threshold`` (``gcTerminated``)."""
    if threshold <= 0:
        return []
    terminated = [p for p in pods if is_pod_terminated(p) and not meta(p).get("deletionTimestamp")]
    excess = len(terminated) - threshold
    if excess <= 0:
        return []
    terminated.sort(key=lambda p: (epoch(meta(p).get("creationTimestamp")), meta(p).get("name", "")))
    return terminated[:excess]


class PodGCController(Controller):
    name = "podgc"
    workers = 2

    def __init__(self, ctx: Context, **options: Any) -> None:
        super().__init__(ctx, **options)
        self.threshold = int(options.get("threshold", DEFAULT_THRESHOLD))

    def watches(self) -> list[Watch]:
        return [Watch(PODS, keys=self._pod_keys), Watch(NODES, keys=self._node_keys)]

    def _pod_keys(self, pod: Obj) -> list[str]:
        keys = [TERMINATED] if is_pod_terminated(pod) and self.threshold > 0 else []
        node = (pod.get("spec") or {}).get("nodeName")
        if (node and self.cache(NODES).get(node) is None) or (
            not node and meta(pod).get("deletionTimestamp")
        ):
            keys.append(object_key(pod))
        return keys

    def _node_keys(self, node: Obj) -> list[str]:
        if self.cache(NODES).get(meta(node)["name"]) is not None:
            return []  # still there
        return [object_key(p) for p in self.cache(PODS).by_index("node", meta(node)["name"])]

    async def reconcile(self, key: str) -> Result | None:
        if key == TERMINATED:
            for pod in terminated_to_delete(self.cache(PODS).list(), self.threshold):
                await self._force_delete(pod)
            return None
        pod = self.cache(PODS).get(key)
        if pod is None:
            return None
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            if meta(pod).get("deletionTimestamp"):
                await self._force_delete(pod)
            return None
        if self.cache(NODES).get(node) is not None:
            return None
        try:
            await self.ctx.client.get(NODES, node)
            return None  # the cache was behind
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                raise
        await self._mark_failed(pod)
        await self._force_delete(pod)
        return None

    async def _mark_failed(self, pod: Obj) -> None:
        if is_pod_terminated(pod):
            return
        condition = {
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "DeletionByPodGC",
            "message": "PodGC: node no longer exists",
            "lastTransitionTime": timestamp(self.ctx.now()),
        }
        conditions = [
            c
            for c in (pod.get("status") or {}).get("conditions") or []
            if c.get("type") != "DisruptionTarget"
        ]
        patch = {"status": {"phase": "Failed", "conditions": [*conditions, condition]}}
        try:
            await self.ctx.client.patch(
                PODS, meta(pod)["name"], patch, namespace=meta(pod).get("namespace", ""), subresource="status"
            )
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                raise

    async def _force_delete(self, pod: Obj) -> None:
        try:
            await self.ctx.client.delete(
                PODS, meta(pod)["name"], namespace=meta(pod).get("namespace", ""), grace_period_seconds=0
            )
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                raise
