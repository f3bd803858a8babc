"""The node lifecycle controller: notice dead nodes, taint them, evict their pods.

A kubelet proves it is alive by renewing its Lease ``kube-node-lease/<node>`` every
10 s. If no renewal is seen for ``--node-monitor-grace-period`` (40 s by default),
this controller

1. sets the node's ``Ready`` condition (and the pressure conditions) to ``Unknown``,
   reason ``NodeStatusUnknown``, message ``Kubelet stopped posting node status.``;
2. taints it ``node.kubernetes.io/unreachable`` with effects ``NoSchedule`` (no new
   pods) and ``NoExecute`` (pods must leave);
3. evicts (deletes) each pod on it once its toleration of that taint runs out: the
   API server gave every pod ``tolerationSeconds: 300`` for it (DefaultTolerationSeconds);
   a pod that does not tolerate the taint at all goes at once.

When renewals resume, the unreachable taints are removed (the kubelet reports
``Ready`` again itself).

Events, as upstream's: on the Node, from ``node-controller``, ``RegisteredNode``
"Registered Node NAME in Controller" (first sight, also after a restart),
``RemovingNode`` "Removing Node NAME from Controller" and ``NodeNotReady`` "Node NAME
status is now: NodeNotReady" (Ready was True); on each evicted pod, from
``taint-eviction-controller``, ``TaintManagerEviction`` "Marking for deletion Pod NS/NAME".

"Not seen for" is measured on **this process's clock**, from the moment it last
observed ``renewTime`` change, never by comparing ``renewTime`` with our wall clock
(machines' clocks differ). Instead of upstream's 5 s monitor loop, each reconcile
returns a timer for the moment the lease would expire or the next toleration ends.

Mirrors: pkg/controller/nodelifecycle/node_lifecycle_controller.go (monitorNodeHealth,
tryUpdateNodeHealth, markNodeAsReachable, processTaintBaseEviction) and
pkg/controller/tainteviction/taint_eviction.go (getMinTolerationTime, processPodOnNode).
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from apimachinery.meta import key as make_key
from client.cache import copy
from client.events import NORMAL
from controllers.base import LEASES, NODES, PODS, Context, Controller, Result, Watch
from controllers.util import Obj, epoch, find_condition, is_pod_terminated, meta, timestamp

LEASE_NAMESPACE = "kube-node-lease"
UNREACHABLE = "node.kubernetes.io/unreachable"
DEFAULT_GRACE_PERIOD = 40.0
UNKNOWN_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


def unknown_conditions(conditions: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    """Every kubelet-owned condition turned ``Unknown`` (``tryUpdateNodeHealth``)."""
    out = [c for c in conditions if c.get("type") not in UNKNOWN_CONDITIONS]
    for ctype in UNKNOWN_CONDITIONS:
        old = find_condition(conditions, ctype) or {}
        if old.get("status") == "Unknown":
            out.append(old)
            continue
        out.append(
            {
                "type": ctype,
                "status": "Unknown",
                "reason": "NodeStatusUnknown",
                "message": "Kubelet stopped posting node status.",
                "lastHeartbeatTime": old.get("lastHeartbeatTime", timestamp(now)),
                "lastTransitionTime": timestamp(now),
            }
        )
    return out


def with_unreachable_taints(taints: list[dict[str, Any]], now: float) -> list[dict[str, Any]]:
    out = [t for t in taints if t.get("key") != UNREACHABLE]
    out.append({"key": UNREACHABLE, "effect": "NoSchedule"})
    out.append({"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": timestamp(now)})
    return out


def toleration_seconds(pod: Obj, taint: dict[str, Any]) -> float | None:
    """How long ``pod`` tolerates ``taint``: 0 if not at all, ``None`` if forever."""
    best: float | None = 0.0
    matched = False
    for tol in (pod.get("spec") or {}).get("tolerations") or []:
        if tol.get("effect") not in (None, "", taint["effect"]):
            continue
        if tol.get("operator", "Equal") == "Exists":
            if tol.get("key") not in (None, "", taint["key"]):
                continue
        elif tol.get("key") != taint["key"] or tol.get("value", "") != taint.get("value", ""):
            continue
        seconds = tol.get("tolerationSeconds")
        if seconds is None:
            return None
        best = float(seconds) if not matched else min(best or 0.0, float(seconds))
        matched = True
    return best


def node_ref(name: str, uid: str) -> dict[str, Any]:
    """The reference upstream's RecordNodeEvent builds (cluster-scoped: no namespace)."""
    return {"apiVersion": "v1", "kind": "Node", "name": name, "uid": uid}


class NodeLifecycleController(Controller):
    name = "nodelifecycle"
    workers = 2

    def __init__(self, ctx: Context, **options: Any) -> None:
        super().__init__(ctx, **options)
        self.grace_period = float(options.get("grace_period", DEFAULT_GRACE_PERIOD))
        # node -> (renewTime last seen, our clock when it changed)
        self._seen: dict[str, tuple[str, float]] = {}
        self.recorder = ctx.recorder("node-controller")
        self.eviction_recorder = ctx.recorder("taint-eviction-controller")
        self._known: dict[str, str] = {}  # node -> uid, for RegisteredNode / RemovingNode

    def watches(self) -> list[Watch]:
        return [Watch(NODES), Watch(LEASES, keys=self._lease_node, observe=self._observe_lease)]

    @staticmethod
    def _lease_node(lease: Obj) -> list[str]:
        return [meta(lease)["name"]] if meta(lease).get("namespace") == LEASE_NAMESPACE else []

    def _observe_lease(self, event: str, old: Obj | None, lease: Obj) -> None:
        if meta(lease).get("namespace") != LEASE_NAMESPACE or event == "delete":
            return
        renew = (lease.get("spec") or {}).get("renewTime", "")
        name = meta(lease)["name"]
        if self._seen.get(name, ("", 0.0))[0] != renew:
            self._seen[name] = (renew, self.ctx.now())

    def _last_heard(self, node: Obj) -> float:
        name = meta(node)["name"]
        if name not in self._seen:  # first sight: start the clock now (probeTimestamp)
            lease = self.cache(LEASES).get(make_key(LEASE_NAMESPACE, name))
            renew = ((lease or {}).get("spec") or {}).get("renewTime", "")
            self._seen[name] = (renew, self.ctx.now())
        return self._seen[name][1]

    async def reconcile(self, key: str) -> Result | None:
        node = self.cache(NODES).get(key)
        if node is None:
            self._seen.pop(key, None)
            if (uid := self._known.pop(key, None)) is not None:
                msg = f"Removing Node {key} from Controller"
                self.recorder.event(node_ref(key, uid), NORMAL, "RemovingNode", msg)
            return None
        if key not in self._known:
            self._known[key] = meta(node).get("uid", "")
            msg = f"Registered Node {key} in Controller"
            self.recorder.event(node_ref(key, self._known[key]), NORMAL, "RegisteredNode", msg)
        now = self.ctx.now()
        silent_for = now - self._last_heard(node)
        taints = (node.get("spec") or {}).get("taints") or []
        tainted = any(t.get("key") == UNREACHABLE for t in taints)
        if silent_for <= self.grace_period:
            if tainted:
                await self._set_taints(node, [t for t in taints if t.get("key") != UNREACHABLE])
            return Result(requeue_after=self.grace_period - silent_for + 0.5)
        if not tainted:
            await self._mark_unknown(node, now)
            return Result(requeue_after=0.1)
        taint = next(t for t in taints if t.get("key") == UNREACHABLE and t.get("effect") == "NoExecute")
        return await self._evict(node, taint, now)

    async def _mark_unknown(self, node: Obj, now: float) -> None:
        updated = copy(node)
        status = updated.setdefault("status", {})
        ready = find_condition(status.get("conditions"), "Ready")
        status["conditions"] = unknown_conditions(status.get("conditions") or [], now)
        updated = await self.ctx.client.update(NODES, updated, subresource="status")
        if ready is not None and ready.get("status") == "True":  # RecordNodeStatusChange
            name = meta(node)["name"]
            ref = node_ref(name, meta(node).get("uid", ""))
            self.recorder.event(ref, NORMAL, "NodeNotReady", f"Node {name} status is now: NodeNotReady")
        await self._set_taints(
            updated, with_unreachable_taints((updated.get("spec") or {}).get("taints") or [], now)
        )

    async def _set_taints(self, node: Obj, taints: list[dict[str, Any]]) -> None:
        updated = copy(node)
        updated.setdefault("spec", {})["taints"] = taints or None
        if not taints:
            updated["spec"].pop("taints")
        await self.ctx.client.update(NODES, updated)

    async def _evict(self, node: Obj, taint: dict[str, Any], now: float) -> Result | None:
        added = epoch(taint.get("timeAdded")) or now
        next_check: float | None = None
        for pod in self.cache(PODS).by_index("node", meta(node)["name"]):
            if is_pod_terminated(pod) or meta(pod).get("deletionTimestamp"):
                continue
            seconds = toleration_seconds(pod, taint)
            if seconds is None:
                continue
            remaining = added + seconds - now
            if remaining > 0:
                next_check = remaining if next_check is None else min(next_check, remaining)
                continue
            ns, name = meta(pod).get("namespace", ""), meta(pod)["name"]
            self.eviction_recorder.event(
                pod, NORMAL, "TaintManagerEviction", f"Marking for deletion Pod {ns}/{name}"
            )
            try:
                await self.ctx.client.delete(PODS, name, namespace=ns)
            except errors.StatusError as err:
                if not errors.is_not_found(err):
                    raise
        return Result(requeue_after=next_check + 0.1) if next_check is not None else None
