"""The StatefulSet controller: pods with stable names, created, updated and removed in order.

A StatefulSet's pods are not interchangeable: pod ``web-0`` is always ``web-0``
(``<name>-<ordinal>``, with ``hostname`` = its name and ``subdomain`` = the governing
``serviceName``, so it gets a stable DNS name; labels
``statefulset.kubernetes.io/pod-name`` and ``apps.kubernetes.io/pod-index``).

**Revisions.** Each template the set has had is a ControllerRevision
(controllers/history.py). ``status.updateRevision`` names the current template's
revision, ``status.currentRevision`` the one the pods were at before the update
began; every pod carries ``controller-revision-hash: <revision name>``. When all
pods are updated and Ready, the current revision becomes the update revision.

**One pass** (``updateStatefulSet``), with the default ``podManagementPolicy:
OrderedReady`` ("monotonic"):

1. ordinals ``0 .. replicas-1`` in order: a missing one is created, a Failed or
   Succeeded one deleted (it is recreated next time); the pass stops at the first pod
   it created or deleted, or that is not yet Running, Ready and available;
2. pods with an ordinal ``>= replicas`` (condemned), highest first: deleted one at a time,
   each only once the previous one is gone;
3. ``updateStrategy: OnDelete``: stop here; a pod you delete comes back at the new revision;
4. ``RollingUpdate`` (the default): from the highest ordinal down to ``partition``, the
   first pod not at the update revision is deleted (it is recreated from the new
   template by step 1 of a later pass); a pod that is not healthy stops the pass.
   Pods below ``partition`` are recreated at the *current* revision.

``Parallel`` does steps 1 and 2 for every ordinal at once without waiting; the rolling
update still goes one pod at a time. Not implemented: ``maxUnavailable`` (alpha
``MaxUnavailableStatefulSet``), ``spec.ordinals.start``, volume claim templates.

Mirrors: pkg/controller/statefulset/stateful_set_control.go (updateStatefulSet,
processReplica, processCondemned, getStatefulSetRevisions, truncateHistory,
computeReplicaStatus, completeRollingUpdate), stateful_set_utils.go (getOrdinal,
newVersionedStatefulSetPod, newStatefulSetPod, isRunningAndReady, isHealthy),
stateful_set.go (sync, adoptOrphanRevisions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from apimachinery import errors
from client.events import NORMAL, WARNING
from controllers import history
from controllers.base import PODS, STATEFULSETS, Context, Controller, Result, Watch
from controllers.history import CONTROLLER_REVISIONS, REVISION_LABEL
from controllers.replicaset import pod_from_template, pod_owner_keys
from controllers.util import (
    Obj,
    is_controlled_by,
    is_pod_available,
    is_pod_ready,
    is_pod_terminated,
    meta,
    pod_phase,
)

KIND = "StatefulSet"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"

__all__ = ["REVISION_LABEL", "StatefulSetController", "plan", "set_pod", "status"]


def ordinal(pod: Obj, set_name: str) -> int | None:
    m = re.fullmatch(rf"{re.escape(set_name)}-(\d+)", meta(pod).get("name", ""))
    return int(m.group(1)) if m else None


def pod_revision(pod: Obj) -> str:
    return str((meta(pod).get("labels") or {}).get(REVISION_LABEL, ""))


def is_terminating(pod: Obj) -> bool:
    return bool(meta(pod).get("deletionTimestamp"))


def running_and_ready(pod: Obj) -> bool:
    return pod_phase(pod) == "Running" and is_pod_ready(pod)


def is_healthy(pod: Obj) -> bool:
    return running_and_ready(pod) and not is_terminating(pod)


# --- revisions ---------------------------------------------------------------------------------


@dataclass
class RevisionStep:
    """What ``getStatefulSetRevisions`` does to find the update revision."""

    action: str  # "keep" (the newest is this template), "renumber" (an older one is), "create"
    revision: Obj  # the revision kept, the one to renumber, or the new one
    number: int  # the revision number it has, or will have


def update_revision_step(sts: Obj, revisions: list[Obj]) -> RevisionStep:
    revisions = history.sort_revisions(revisions)
    collisions = int((sts.get("status") or {}).get("collisionCount") or 0)
    new = history.new_revision(
        sts, KIND, history.template_patch(sts), history.next_revision(revisions), collisions
    )
    equal = history.find_equal_revisions(revisions, new)
    if equal and history.equal_revision(revisions[-1], equal[-1]):
        return RevisionStep("keep", revisions[-1], int(revisions[-1].get("revision", 0)))
    if equal:
        return RevisionStep("renumber", equal[-1], int(new["revision"]))
    return RevisionStep("create", new, int(new["revision"]))


def current_revision(sts: Obj, revisions: list[Obj], update: Obj) -> Obj:
    """The revision named by ``status.currentRevision``; the update revision for a new set."""
    name = (sts.get("status") or {}).get("currentRevision")
    return next((r for r in revisions if meta(r)["name"] == name), update)


# --- pods ----------------------------------------------------------------------------------------


def set_pod(sts: Obj, o: int, revision_name: str) -> Obj:
    """``newStatefulSetPod`` + ``setPodRevision``: the pod for ordinal ``o`` of this set."""
    name = meta(sts)["name"]
    spec = sts.get("spec") or {}
    pod = pod_from_template(sts, spec.get("template") or {}, "apps/v1", KIND)
    m = pod["metadata"]
    m.pop("generateName", None)
    m["name"] = f"{name}-{o}"
    m["labels"].update({POD_NAME_LABEL: m["name"], POD_INDEX_LABEL: str(o), REVISION_LABEL: revision_name})
    pod["spec"]["hostname"] = m["name"]
    if spec.get("serviceName"):
        pod["spec"]["subdomain"] = spec["serviceName"]
    return pod


def versioned_pod(sts: Obj, current: Obj, update: Obj, o: int) -> Obj:
    """``newVersionedStatefulSetPod``: ordinals below the partition stay at the current revision."""
    spec = sts.get("spec") or {}
    strategy = spec.get("updateStrategy") or {}
    rolling = strategy.get("rollingUpdate")
    current_replicas = int((sts.get("status") or {}).get("currentReplicas") or 0)
    # As upstream's `A && B && C || D`: the partition clause does not check the type.
    if (
        strategy.get("type", "RollingUpdate") == "RollingUpdate" and rolling is None and o < current_replicas
    ) or (rolling is not None and o < int(rolling.get("partition") or 0)):
        return set_pod(history.apply_revision(sts, current), o, meta(current)["name"])
    return set_pod(sts, o, meta(update)["name"])


@dataclass
class SetPlan:
    create: list[int] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)


def plan(sts: Obj, pods: list[Obj], update_revision: str, now: float = 0.0) -> SetPlan:
    """The next creations and deletions of one ``updateStatefulSet`` pass, as data."""
    spec = sts.get("spec") or {}
    name = meta(sts)["name"]
    replicas = int(spec.get("replicas", 1))
    monotonic = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
    min_ready = int(spec.get("minReadySeconds") or 0)
    by_ordinal = {o: p for p in pods if (o := ordinal(p, name)) is not None}
    condemned = [by_ordinal[o] for o in sorted(by_ordinal, reverse=True) if o >= replicas]
    present = [by_ordinal[o] for o in range(replicas) if o in by_ordinal]
    first_unhealthy = next((p for p in [*present, *condemned] if not is_healthy(p)), None)

    def available(p: Obj) -> bool:
        return running_and_ready(p) and is_pod_available(p, min_ready, now)

    out = SetPlan()
    for o in range(replicas):  # processReplica
        p = by_ordinal.get(o)
        if p is None:
            out.create.append(o)
            if monotonic:
                return out
            continue
        if is_pod_terminated(p):
            if not is_terminating(p):
                out.delete.append(p)
            if monotonic:
                return out
            continue
        if monotonic and (is_terminating(p) or not running_and_ready(p) or not available(p)):
            return out

    for p in condemned:  # processCondemned
        if is_terminating(p):
            if monotonic:
                return out
            continue
        if monotonic and p is not first_unhealthy and not available(p):
            return out
        out.delete.append(p)
        if monotonic:
            return out

    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return out  # OnDelete: pods are updated when the user deletes them
    partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
    for target in range(replicas - 1, partition - 1, -1):
        p = by_ordinal.get(target)
        if p is None:
            return out  # being created: not healthy yet
        if pod_revision(p) != update_revision and not is_terminating(p):
            out.delete.append(p)
            return out
        if not is_healthy(p):
            return out  # wait for the pod just updated
    return out


def status(
    sts: Obj, pods: list[Obj], current: str, update: str, collisions: int, now: float = 0.0
) -> dict[str, Any]:
    """``computeReplicaStatus`` + ``completeRollingUpdate``."""
    spec = sts.get("spec") or {}
    min_ready = int(spec.get("minReadySeconds") or 0)
    st = dict(sts.get("status") or {})
    ready = [p for p in pods if running_and_ready(p)]
    live = [p for p in pods if not is_terminating(p)]
    st.update(
        observedGeneration=meta(sts).get("generation", 0),
        replicas=len(pods),
        readyReplicas=len(ready),
        availableReplicas=sum(1 for p in ready if is_pod_available(p, min_ready, now)),
        currentReplicas=sum(1 for p in live if pod_revision(p) == current),
        updatedReplicas=sum(1 for p in live if pod_revision(p) == update),
        currentRevision=current,
        updateRevision=update,
        collisionCount=collisions,
    )
    strategy = (spec.get("updateStrategy") or {}).get("type", "RollingUpdate")
    if strategy == "RollingUpdate" and st["updatedReplicas"] == st["replicas"] == st["readyReplicas"]:
        st["currentReplicas"] = st["updatedReplicas"]
        st["currentRevision"] = update
    return st


# --- the controller --------------------------------------------------------------------------------


class StatefulSetController(Controller):
    name = "statefulset"

    def __init__(self, ctx: Context, **options: Any) -> None:
        super().__init__(ctx, **options)
        self.recorder = ctx.recorder("statefulset-controller")

    def _record_pod_event(self, verb: str, sts: Obj, pod: str, err: BaseException | None = None) -> None:
        """``recordPodEvent`` (stateful_pod_control.go): its own wording, not RealPodControl's."""
        set_name = meta(sts)["name"]
        if err is None:
            message = f"{verb} Pod {pod} in StatefulSet {set_name} successful"
            self.recorder.event(sts, NORMAL, f"Successful{verb.title()}", message)
        else:
            message = f"{verb} Pod {pod} in StatefulSet {set_name} failed error: {err}"
            self.recorder.event(sts, WARNING, f"Failed{verb.title()}", message)

    def watches(self) -> list[Watch]:
        return [
            Watch(STATEFULSETS),
            Watch(PODS, keys=pod_owner_keys(KIND)),
            Watch(CONTROLLER_REVISIONS, keys=pod_owner_keys(KIND)),
        ]

    async def _revisions(self, sts: Obj, revisions: list[Obj]) -> tuple[Obj, Obj, int]:
        """(current, update, collision count), creating or renumbering the update revision."""
        hist = history.History(self.ctx.client)
        collisions = int((sts.get("status") or {}).get("collisionCount") or 0)
        step = update_revision_step(sts, revisions)
        update = step.revision
        if step.action == "renumber":
            update = await hist.renumber(step.revision, step.number)
        elif step.action == "create":
            update, collisions = await hist.create(sts, step.revision, collisions)
        return current_revision(sts, revisions, update), update, collisions

    async def reconcile(self, key: str) -> Result | None:
        sts = self.cache(STATEFULSETS).get(key)
        if sts is None:
            return None
        ns = meta(sts).get("namespace", "")
        pods = [p for p in self.cache(PODS).by_index("owner", meta(sts)["uid"]) if is_controlled_by(p, sts)]
        revisions, orphans = history.owned_revisions(sts, self.cache(CONTROLLER_REVISIONS).list())
        hist = history.History(self.ctx.client)
        if orphans and not is_terminating(sts):
            revisions += [await hist.adopt(sts, KIND, r) for r in orphans]
        current, update, collisions = await self._revisions(sts, revisions)
        now = self.ctx.now()

        if not is_terminating(sts):
            p = plan(sts, pods, meta(update)["name"], now)
            for o in p.create:
                pod = versioned_pod(sts, current, update, o)
                try:
                    await self.ctx.client.create(PODS, pod, namespace=ns)
                except errors.StatusError as err:
                    if not errors.is_already_exists(err):  # the old pod is still terminating
                        self._record_pod_event("create", sts, meta(pod)["name"], err)
                        raise
                else:
                    self._record_pod_event("create", sts, meta(pod)["name"])
            for victim in p.delete:
                try:
                    await self.ctx.client.delete(
                        PODS, meta(victim)["name"], namespace=ns, preconditions={"uid": meta(victim)["uid"]}
                    )
                except errors.StatusError as err:
                    if not (errors.is_not_found(err) or errors.is_conflict(err)):
                        self._record_pod_event("delete", sts, meta(victim)["name"], err)
                        raise
                else:
                    self._record_pod_event("delete", sts, meta(victim)["name"])

        new_status = status(sts, pods, meta(current)["name"], meta(update)["name"], collisions, now)
        if new_status != (sts.get("status") or {}):
            await history.update_status(self.ctx.client, STATEFULSETS, sts, new_status)

        live = {meta(current)["name"], meta(update)["name"]} | {pod_revision(p) for p in pods}
        limit = int((sts.get("spec") or {}).get("revisionHistoryLimit", 10))
        for old in history.to_truncate(revisions, live, limit):
            await hist.delete(old)
        wait = history.next_available(pods, int((sts.get("spec") or {}).get("minReadySeconds") or 0), now)
        return Result(requeue_after=wait) if wait else None
