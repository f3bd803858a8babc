"""The ReplicaSet controller: keep ``spec.replicas`` pods matching the selector alive.

Desired state is ``spec.replicas``; actual state is the *active* pods this
ReplicaSet controls. Each reconcile:

1. **claims** pods: a pod matching the selector with no controller is *adopted*
   (an ownerReference with ``controller: true`` is added); a pod it controls that no
   longer matches is *released* (the reference is removed);
2. computes ``diff = active - replicas`` and creates ``-diff`` pods in *slow-start*
   batches of 1, 2, 4, 8 ... (a quota or admission error then fails one small batch,
   not hundreds of calls), or deletes ``diff`` pods, choosing the least useful first
   (:func:`deletion_order`);
3. writes ``status``: replicas, fullyLabeledReplicas, readyReplicas,
   availableReplicas, observedGeneration.

Each pod created or deleted is an event on the ReplicaSet (``SuccessfulCreate``
"Created pod: NAME", ``SuccessfulDelete``, ``FailedCreate``: controllers/podcontrol.py),
from ``replicaset-controller`` (``replication-controller`` for ReplicationControllers).

While pods it created or deleted have not yet shown up in the cache,
:class:`~controllers.expectations.Expectations` holds step 2 back.

Mirrors: pkg/controller/replicaset/replica_set.go (syncReplicaSet, manageReplicas,
slowStartBatch, getPodsToDelete), replica_set_utils.go (calculateStatus),
pkg/controller/controller_utils.go (ActivePods), pkg/controller/controller_ref_manager.go,
pkg/controller/replication/replication_controller.go (ReplicationControllers reuse it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from apimachinery import errors
from apimachinery.meta import key as make_key
from apimachinery.meta import object_key, split_key
from apimachinery.selectors import Selector, from_label_selector, selector_from_set
from client.cache import copy
from controllers.base import PODS, REPLICASETS, REPLICATIONCONTROLLERS, Context, Controller, Result, Watch
from controllers.expectations import Expectations
from controllers.podcontrol import PodControl
from controllers.util import (
    Obj,
    controller_of,
    controller_ref,
    epoch,
    is_pod_active,
    is_pod_available,
    is_pod_ready,
    meta,
    pod_condition,
    restart_count,
)

log = logging.getLogger(__name__)

#: At most this many creations or deletions per reconcile (upstream burstReplicas).
BURST_REPLICAS = 500
SLOW_START_INITIAL_BATCH_SIZE = 1

# --- pure logic -------------------------------------------------------------------------


def slow_start_batches(count: int, initial: int = SLOW_START_INITIAL_BATCH_SIZE) -> list[int]:
    """Batch sizes 1, 2, 4, ... summing to ``count`` (``slowStartBatch``)."""
    batches, remaining, size = [], count, initial
    while remaining > 0:
        batch = min(size, remaining)
        batches.append(batch)
        remaining -= batch
        size *= 2
    return batches


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def _ready_time(pod: Obj) -> float:
    cond = pod_condition(pod, "Ready") or {}
    return epoch(cond.get("lastTransitionTime"))


def deletion_rank(pod: Obj) -> tuple[Any, ...]:
    """Sort key: pods that sort first are deleted first (``controller.ActivePods.Less``).

    1. unscheduled < scheduled; 2. Pending < Unknown < Running; 3. not ready < ready;
    4. both ready: ready for less time first (no time first); 5. more restarts first;
    6. newer first (no creation time first).
    """
    ready = is_pod_ready(pod)
    ready_time = _ready_time(pod) if ready else 0.0
    created = epoch(meta(pod).get("creationTimestamp"))
    return (
        bool((pod.get("spec") or {}).get("nodeName")),
        _PHASE_RANK.get((pod.get("status") or {}).get("phase", "Pending"), 0),
        ready,
        (ready_time != 0, -ready_time),
        -restart_count(pod),
        (created != 0, -created),
    )


def deletion_order(pods: Iterable[Obj]) -> list[Obj]:
    return sorted(pods, key=deletion_rank)


def pods_to_delete(active: Sequence[Obj], diff: int) -> list[Obj]:
    """The ``diff`` least useful of the active pods (``getPodsToDelete``)."""
    return deletion_order(active)[:diff] if diff < len(active) else list(active)


@dataclass
class Claims:
    """Which pods a controller owns, must adopt, or must release (``ClaimPods``)."""

    owned: list[Obj] = field(default_factory=list)
    adopt: list[Obj] = field(default_factory=list)
    release: list[Obj] = field(default_factory=list)


def claim_pods(owner: Obj, selector: Selector, pods: Iterable[Obj]) -> Claims:
    claims = Claims()
    uid = meta(owner).get("uid")
    owner_deleting = bool(meta(owner).get("deletionTimestamp"))
    for pod in pods:
        ref = controller_of(pod)
        matches = selector(meta(pod).get("labels"))
        if ref is not None:
            if ref.get("uid") != uid:
                continue  # someone else's
            if matches:
                claims.owned.append(pod)
            elif not meta(pod).get("deletionTimestamp"):
                claims.release.append(pod)
        elif matches and not owner_deleting and not meta(pod).get("deletionTimestamp"):
            claims.adopt.append(pod)
    return claims


def calculate_status(rs: Obj, active: Sequence[Obj], now: float) -> dict[str, Any]:
    """The status a ReplicaSet should report for its active pods (``calculateStatus``)."""
    spec = rs.get("spec") or {}
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    status = dict(rs.get("status") or {})
    status.update(
        replicas=len(active),
        fullyLabeledReplicas=sum(
            1
            for p in active
            if all((meta(p).get("labels") or {}).get(k) == v for k, v in template_labels.items())
        ),
        readyReplicas=sum(1 for p in active if is_pod_ready(p)),
        availableReplicas=sum(1 for p in active if is_pod_available(p, min_ready, now)),
        observedGeneration=meta(rs).get("generation", 0),
    )
    return status


def pod_from_template(owner: Obj, template: Obj, api_version: str, kind: str) -> Obj:
    """A new pod for ``owner``: the template plus generateName and a controller reference."""
    tmeta = template.get("metadata") or {}
    m: dict[str, Any] = {
        "generateName": f"{meta(owner)['name']}-",
        "namespace": meta(owner).get("namespace", ""),
        "labels": dict(tmeta.get("labels") or {}),
        "ownerReferences": [controller_ref(owner, api_version, kind)],
    }
    if tmeta.get("annotations"):
        m["annotations"] = dict(tmeta["annotations"])
    if tmeta.get("finalizers"):
        m["finalizers"] = list(tmeta["finalizers"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": copy(template.get("spec") or {})}


# --- shared by controllers that own pods (ReplicaSet, Job, StatefulSet, DaemonSet) ------------


async def run_in_batches(count: int, make: Callable[[], Awaitable[Any]]) -> tuple[int, BaseException | None]:
    """Run ``make()`` ``count`` times in slow-start batches; stop after a failing batch.

    Returns how many were *not attempted* and the first error.
    """
    done = 0
    for batch in slow_start_batches(count):
        results = await asyncio.gather(*(make() for _ in range(batch)), return_exceptions=True)
        done += batch
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            return count - done + len(failures), failures[0]
    return 0, None


async def adopt_or_release(ctx: Context, owner: Obj, claims: Claims, api_version: str, kind: str) -> None:
    """PATCH the ownerReferences of the pods to adopt or release (controller_ref_manager.go)."""
    ns = meta(owner).get("namespace", "")
    uid = meta(owner)["uid"]
    for pod in claims.adopt:
        refs = [*(meta(pod).get("ownerReferences") or []), controller_ref(owner, api_version, kind)]
        patch = {"metadata": {"ownerReferences": refs, "uid": meta(pod)["uid"]}}
        try:
            await ctx.client.patch(PODS, meta(pod)["name"], patch, namespace=ns)
            claims.owned.append(pod)
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                raise
    for pod in claims.release:
        refs = [r for r in meta(pod).get("ownerReferences") or [] if r.get("uid") != uid]
        patch = {"metadata": {"ownerReferences": refs, "uid": meta(pod)["uid"]}}
        try:
            await ctx.client.patch(PODS, meta(pod)["name"], patch, namespace=ns)
        except errors.StatusError as err:
            if not (errors.is_not_found(err) or errors.is_invalid(err)):
                raise


def pod_owner_keys(kind: str) -> Callable[[Obj], list[str]]:
    """Map a pod to the key of its controller of ``kind``."""

    def keys(pod: Obj) -> list[str]:
        ref = controller_of(pod)
        if ref is not None and ref.get("kind") == kind:
            return [make_key(meta(pod).get("namespace", ""), ref["name"])]
        return []

    return keys


# --- the controller --------------------------------------------------------------------------


class ReplicaSetController(Controller):
    name = "replicaset"
    component = "replicaset-controller"
    api_version, kind, gvr = "apps/v1", "ReplicaSet", REPLICASETS

    def __init__(self, ctx: Context, **options: Any) -> None:
        super().__init__(ctx, **options)
        self.expectations = Expectations(ctx.now)
        self.pod_control = PodControl(ctx.client, ctx.recorder(self.component))

    def watches(self) -> list[Watch]:
        return [Watch(self.gvr), Watch(PODS, keys=self._pod_keys, observe=self._observe_pod)]

    @staticmethod
    def selector(owner: Obj) -> Selector:
        """A ReplicaSet's ``spec.selector`` is a LabelSelector (matchLabels + matchExpressions)."""
        return from_label_selector((owner.get("spec") or {}).get("selector"))

    def _pod_keys(self, pod: Obj) -> list[str]:
        owned = pod_owner_keys(self.kind)(pod)
        if owned or controller_of(pod) is not None:
            return owned
        # An orphan: every ReplicaSet in the namespace whose selector matches may adopt it.
        ns = meta(pod).get("namespace", "")
        labels = meta(pod).get("labels") or {}
        return [
            object_key(rs)
            for rs in self.cache(self.gvr).by_index("namespace", ns)
            if self.selector(rs)(labels)
        ]

    def _observe_pod(self, event: str, old: Obj | None, pod: Obj) -> None:
        for key in pod_owner_keys(self.kind)(pod):
            if event == "add" and not meta(pod).get("deletionTimestamp"):
                self.expectations.creation_observed(key)
            elif event == "delete" or meta(pod).get("deletionTimestamp"):
                self.expectations.deletion_observed(key, object_key(pod))

    async def reconcile(self, key: str) -> Result | None:
        rs = self.cache(self.gvr).get(key)
        if rs is None:
            self.expectations.forget(key)
            return None
        ns, _ = split_key(key)
        claims = claim_pods(rs, self.selector(rs), self.cache(PODS).by_index("namespace", ns))
        await adopt_or_release(self.ctx, rs, claims, self.api_version, self.kind)
        active = [p for p in claims.owned if is_pod_active(p)]
        if self.expectations.satisfied(key) and not meta(rs).get("deletionTimestamp"):
            await self._manage_replicas(key, rs, active)
        status = calculate_status(rs, active, self.ctx.now())
        if status != (rs.get("status") or {}):
            updated = copy(rs)
            updated["status"] = status
            await self.ctx.client.update(self.gvr, updated, namespace=ns, subresource="status")
        min_ready = int((rs.get("spec") or {}).get("minReadySeconds") or 0)
        if min_ready and status["readyReplicas"] != status["availableReplicas"]:
            return Result(requeue_after=min_ready)
        return None

    async def _manage_replicas(self, key: str, rs: Obj, active: list[Obj]) -> None:
        ns = meta(rs).get("namespace", "")
        diff = len(active) - int((rs.get("spec") or {}).get("replicas", 1))
        if diff < 0:
            count = min(-diff, BURST_REPLICAS)
            self.expectations.expect_creations(key, count)
            template = (rs.get("spec") or {}).get("template") or {}
            pod = pod_from_template(rs, template, self.api_version, self.kind)

            async def create() -> None:
                await self.pod_control.create_pod(ns, pod, rs)

            skipped, err = await run_in_batches(count, create)
            for _ in range(skipped):
                self.expectations.creation_observed(key)
            if err is not None:
                raise err
        elif diff > 0:
            victims = pods_to_delete(active, min(diff, BURST_REPLICAS))
            self.expectations.expect_deletions(key, [object_key(p) for p in victims])
            results = await asyncio.gather(
                *(self.pod_control.delete_pod(ns, meta(p)["name"], rs) for p in victims),
                return_exceptions=True,
            )
            for pod, result in zip(victims, results, strict=True):
                if isinstance(result, BaseException):
                    self.expectations.deletion_observed(key, object_key(pod))
                    if not errors.is_not_found(result):
                        raise result


class ReplicationControllerController(ReplicaSetController):
    """The same loop for the older core/v1 ReplicationController (replication_controller.go
    wraps the ReplicaSet controller the same way); its selector is a plain label map."""

    name = "replicationcontroller"
    component = "replication-controller"
    api_version, kind, gvr = "v1", "ReplicationController", REPLICATIONCONTROLLERS

    @staticmethod
    def selector(owner: Obj) -> Selector:
        sel = (owner.get("spec") or {}).get("selector")
        if not sel:  # defaulted from the template's labels by the API server; be safe
            sel = (((owner.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")
        return selector_from_set(sel) if sel else from_label_selector(None)
