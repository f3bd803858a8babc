"""The StatefulSet controller: pods with stable names, created and removed in order.

A StatefulSet's pods are not interchangeable: pod ``web-0`` is always ``web-0``
(``<name>-<ordinal>``, with ``hostname`` = its name and ``subdomain`` = the governing
``serviceName``, so it gets a stable DNS name). With the default
``podManagementPolicy: OrderedReady``:

* ordinals are created in order 0, 1, 2 ... and ordinal *i+1* only once *i* is Running
  and Ready;
* scaling down removes the **highest** ordinal first, one at a time, and only while
  every other pod is Ready;
* a rolling update (``updateStrategy.type: RollingUpdate``, the default) deletes the
  highest-ordinal pod still on the old revision (at or above ``partition``); it is
  recreated from the new template, and the next only goes once it is Ready.

``Parallel`` creates and deletes without waiting. ``OnDelete`` leaves updates to the
user. A Failed pod is deleted and recreated under the same name.

Simplification (documented): revisions are the template hash in the
``controller-revision-hash`` label; no ControllerRevision objects are written, so
``kubectl rollout history/undo statefulset`` are not served. Volume claim templates
are not instantiated.

Mirrors: pkg/controller/statefulset/stateful_set_control.go (updateStatefulSet,
processReplica, processCondemned), stateful_set_utils.go (getOrdinal, newStatefulSetPod,
isRunningAndReady), stateful_set.go.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from apimachinery import errors
from client.cache import copy
from controllers.base import PODS, STATEFULSETS, Controller, Result, Watch
from controllers.deployment.hash import compute_hash
from controllers.deployment.sync import drop_nulls
from controllers.replicaset import pod_from_template, pod_owner_keys
from controllers.util import Obj, is_controlled_by, is_pod_ready, is_pod_terminated, meta, pod_phase

REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


def ordinal(pod: Obj, set_name: str) -> int | None:
    m = re.fullmatch(rf"{re.escape(set_name)}-(\d+)", meta(pod).get("name", ""))
    return int(m.group(1)) if m else None


def revision(sts: Obj) -> str:
    return f"{meta(sts)['name']}-{compute_hash(drop_nulls((sts.get('spec') or {}).get('template') or {}))}"


def running_and_ready(pod: Obj) -> bool:
    return pod_phase(pod) == "Running" and is_pod_ready(pod) and not meta(pod).get("deletionTimestamp")


@dataclass
class SetPlan:
    create: list[int] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)


def plan(sts: Obj, pods: list[Obj], update_revision: str) -> SetPlan:
    """The next creations and deletions (``updateStatefulSet``), as data."""
    spec = sts.get("spec") or {}
    name = meta(sts)["name"]
    replicas = int(spec.get("replicas", 1))
    ordered = spec.get("podManagementPolicy", "OrderedReady") != "Parallel"
    by_ordinal = {o: p for p in pods if (o := ordinal(p, name)) is not None}
    out = SetPlan()

    # Failed or finished pods are deleted, then recreated under the same name.
    for o, p in sorted(by_ordinal.items()):
        if o < replicas and is_pod_terminated(p) and not meta(p).get("deletionTimestamp"):
            out.delete.append(p)
            if ordered:
                return out

    for o in range(replicas):
        if o not in by_ordinal:
            out.create.append(o)
            if ordered:
                return out
        elif ordered and not running_and_ready(by_ordinal[o]):
            return out  # wait for this ordinal before touching the next

    condemned = sorted((o for o in by_ordinal if o >= replicas), reverse=True)
    for o in condemned:
        p = by_ordinal[o]
        if meta(p).get("deletionTimestamp"):
            if ordered:
                return out
            continue
        out.delete.append(p)
        if ordered:
            return out

    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return out
    partition = int((strategy.get("rollingUpdate") or {}).get("partition", 0))
    current = [by_ordinal[o] for o in range(replicas) if o in by_ordinal]
    if not all(running_and_ready(p) for p in current):
        return out
    for o in range(replicas - 1, partition - 1, -1):
        stale = by_ordinal.get(o)
        if stale is not None and (meta(stale).get("labels") or {}).get(REVISION_LABEL) != update_revision:
            out.delete.append(stale)
            return out
    return out


def set_pod(sts: Obj, o: int, update_revision: str) -> Obj:
    name = meta(sts)["name"]
    spec = sts.get("spec") or {}
    pod = pod_from_template(sts, spec.get("template") or {}, "apps/v1", "StatefulSet")
    m = pod["metadata"]
    m.pop("generateName", None)
    m["name"] = f"{name}-{o}"
    m["labels"].update({POD_NAME_LABEL: m["name"], POD_INDEX_LABEL: str(o), REVISION_LABEL: update_revision})
    pod["spec"]["hostname"] = m["name"]
    if spec.get("serviceName"):
        pod["spec"]["subdomain"] = spec["serviceName"]
    return pod


def status(sts: Obj, pods: list[Obj], update_revision: str) -> dict[str, Any]:
    st = dict(sts.get("status") or {})
    live = [p for p in pods if not meta(p).get("deletionTimestamp")]
    updated = [p for p in live if (meta(p).get("labels") or {}).get(REVISION_LABEL) == update_revision]
    st.update(
        observedGeneration=meta(sts).get("generation", 0),
        replicas=len(live),
        readyReplicas=sum(1 for p in live if is_pod_ready(p)),
        availableReplicas=sum(1 for p in live if is_pod_ready(p)),
        updatedReplicas=len(updated),
        currentReplicas=len(updated),
        updateRevision=update_revision,
        currentRevision=update_revision
        if len(updated) == len(live)
        else st.get("currentRevision", update_revision),
    )
    return st


class StatefulSetController(Controller):
    name = "statefulset"

    def watches(self) -> list[Watch]:
        return [Watch(STATEFULSETS), Watch(PODS, keys=pod_owner_keys("StatefulSet"))]

    async def reconcile(self, key: str) -> Result | None:
        sts = self.cache(STATEFULSETS).get(key)
        if sts is None or meta(sts).get("deletionTimestamp"):
            return None
        ns = meta(sts).get("namespace", "")
        pods = [p for p in self.cache(PODS).by_index("owner", meta(sts)["uid"]) if is_controlled_by(p, sts)]
        rev = revision(sts)
        p = plan(sts, pods, rev)
        for o in p.create:
            try:
                await self.ctx.client.create(PODS, set_pod(sts, o, rev), namespace=ns)
            except errors.StatusError as err:
                if not errors.is_already_exists(err):  # the old pod is still terminating
                    raise
        for victim in p.delete:
            try:
                await self.ctx.client.delete(
                    PODS, meta(victim)["name"], namespace=ns, preconditions={"uid": meta(victim)["uid"]}
                )
            except errors.StatusError as err:
                if not (errors.is_not_found(err) or errors.is_conflict(err)):
                    raise
        new_status = status(sts, pods, rev)
        if new_status != (sts.get("status") or {}):
            updated = copy(sts)
            updated["status"] = new_status
            await self.ctx.client.update(STATEFULSETS, updated, namespace=ns, subresource="status")
        return None
