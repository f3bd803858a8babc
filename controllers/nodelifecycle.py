"""The node lifecycle controller: watch node health, taint sick nodes, evict their pods.

A kubelet proves it is alive by renewing its Lease ``kube-node-lease/<node>`` every
10 s, and says how it is by the node's conditions (``Ready``, ``MemoryPressure``, ...).
For each Node this controller

1. notices silence: no renewal for ``--node-monitor-grace-period`` (40 s by default)
   turns the kubelet-owned conditions ``Unknown``, reason ``NodeStatusUnknown``,
   message ``Kubelet stopped posting node status.`` (``tryUpdateNodeHealth``);
2. keeps the **NoSchedule condition taints** equal to what the conditions say
   (``doNoScheduleTaintingPass``, TaintNodesByCondition): ``Ready=False`` →
   ``node.kubernetes.io/not-ready``, ``Ready=Unknown`` → ``unreachable``,
   ``MemoryPressure``/``DiskPressure``/``PIDPressure``/``NetworkUnavailable=True`` →
   ``memory-pressure``/``disk-pressure``/``pid-pressure``/``network-unavailable``, and
   ``spec.unschedulable`` → ``unschedulable``; a taint goes when its condition clears;
3. keeps the **NoExecute taint** in step with ``Ready`` (``processTaintBaseEviction``,
   ``doNoExecuteTaintingPass``): ``False`` → ``not-ready:NoExecute``, ``Unknown`` →
   ``unreachable:NoExecute`` (the two are swapped, never both), ``True`` → neither;
4. **marks the pods not ready** when it sees ``Ready`` leave ``True``
   (``MarkPodsNotReady``): each pod's ``Ready`` condition is set ``False`` through
   ``pods/status`` (reason and message untouched, as upstream) and the pod gets a
   Warning ``NodeNotReady`` "Node is not ready" event; the Endpoints and EndpointSlice
   controllers then move its address to ``notReadyAddresses`` / ``ready: false``.
   A pod that lands on a node that is already not ready is marked too (``processPod``);
5. **evicts** (deletes) each pod on a ``NoExecute``-tainted node once its toleration of
   that taint runs out (the taint eviction controller): the API server gave every pod
   ``tolerationSeconds: 300`` for both taints (DefaultTolerationSeconds); a pod that
   does not tolerate the taint at all goes at once.

One difference, on purpose: upstream's ``monitorNodeHealth`` compares ``Ready`` with
the value in the same listed Node, so it marks pods only when *it* turned a ``True``
node ``Unknown``; a kubelet that reports ``Ready=False`` itself reaches pods only
through ``processPod`` (pods added or bound later). Here the comparison is with the
value this controller last saw, so a kubelet-reported ``True`` → ``False`` marks the
pods and records the node's ``NodeNotReady`` event as well. Taints are applied at
once: upstream's per-zone rate limiting of NoExecute tainting is not implemented.

Events, as upstream's: on the Node, from ``node-controller``, ``RegisteredNode``
"Registered Node NAME in Controller" (first sight, also after a restart),
``RemovingNode`` "Removing Node NAME from Controller" and ``NodeNotReady`` "Node NAME
status is now: NodeNotReady" (Ready was True); on each pod of such a node, from
``node-controller``, Warning ``NodeNotReady`` "Node is not ready"; on each evicted
pod, from ``taint-eviction-controller``, ``TaintManagerEviction`` "Marking for
deletion Pod NS/NAME".

"Not seen for" is measured on **this process's clock**, from the moment it last
observed ``renewTime`` change, never by comparing ``renewTime`` with our wall clock
(machines' clocks differ). Instead of upstream's 5 s monitor loop, each reconcile
returns a timer for the moment the lease would expire or the next toleration ends.

Mirrors: pkg/controller/nodelifecycle/node_lifecycle_controller.go (monitorNodeHealth,
tryUpdateNodeHealth, doNoScheduleTaintingPass, processTaintBaseEviction, processPod,
markNodeAsReachable), pkg/controller/util/node/controller_utils.go (MarkPodsNotReady,
RecordNodeStatusChange, SwapNodeControllerTaint) and
pkg/controller/tainteviction/taint_eviction.go (getMinTolerationTime, processPodOnNode).
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from apimachinery.meta import key as make_key
from client.cache import copy
from client.events import NORMAL, WARNING
from controllers.base import LEASES, NODES, PODS, Context, Controller, Result, Watch
from controllers.util import Obj, epoch, find_condition, is_pod_terminated, meta, timestamp

LEASE_NAMESPACE = "kube-node-lease"
NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
DEFAULT_GRACE_PERIOD = 40.0
UNKNOWN_CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")

#: nodeConditionToTaintKeyStatusMap: (condition type, status) -> NoSchedule taint key.
CONDITION_TAINTS: dict[tuple[str, str], str] = {
    ("Ready", "False"): NOT_READY,
    ("Ready", "Unknown"): UNREACHABLE,
    ("MemoryPressure", "True"): "node.kubernetes.io/memory-pressure",
    ("DiskPressure", "True"): "node.kubernetes.io/disk-pressure",
    ("NetworkUnavailable", "True"): "node.kubernetes.io/network-unavailable",
    ("PIDPressure", "True"): "node.kubernetes.io/pid-pressure",
}
#: The NoSchedule taints this controller owns (taintKeyToNodeConditionMap + unschedulable).
MANAGED_NO_SCHEDULE = frozenset(CONDITION_TAINTS.values()) | {UNSCHEDULABLE}
#: Ready status -> the NoExecute taint it calls for (NotReadyTaintTemplate, UnreachableTaintTemplate).
NO_EXECUTE = {"False": NOT_READY, "Unknown": UNREACHABLE}


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


def ready_status(node: Obj) -> str | None:
    ready = find_condition((node.get("status") or {}).get("conditions"), "Ready")
    return None if ready is None else str(ready.get("status", "Unknown"))


def wanted_taints(node: Obj) -> set[tuple[str, str]]:
    """The (key, effect) pairs this controller wants on ``node``; it owns no others."""
    wanted = set()
    for cond in (node.get("status") or {}).get("conditions") or []:
        taint_key = CONDITION_TAINTS.get((cond.get("type", ""), cond.get("status", "")))
        if taint_key is not None:
            wanted.add((taint_key, "NoSchedule"))
    if (node.get("spec") or {}).get("unschedulable"):
        wanted.add((UNSCHEDULABLE, "NoSchedule"))
    if (status := ready_status(node)) in NO_EXECUTE:
        wanted.add((NO_EXECUTE[status], "NoExecute"))
    return wanted


def owned(taint: dict[str, Any]) -> bool:
    pair = (taint.get("key", ""), taint.get("effect", ""))
    return (pair[1] == "NoSchedule" and pair[0] in MANAGED_NO_SCHEDULE) or (
        pair[1] == "NoExecute" and pair[0] in (NOT_READY, UNREACHABLE)
    )


def desired_taints(node: Obj, now: float) -> list[dict[str, Any]]:
    """``node``'s taints with the ones this controller owns brought in line.

    Others' taints are kept as they are, in order; a wanted taint already there keeps
    its ``timeAdded`` (the eviction clock); a new one gets ``timeAdded: now``, as
    ``SwapNodeControllerTaint`` does. With no ``Ready`` condition at all the NoExecute
    taints are left alone (upstream retries until the kubelet posts one).
    """
    taints = (node.get("spec") or {}).get("taints") or []
    wanted = wanted_taints(node)
    keep_no_execute = ready_status(node) is None
    out = []
    for t in taints:
        pair = (t.get("key", ""), t.get("effect", ""))
        if not owned(t) or pair in wanted or (keep_no_execute and pair[1] == "NoExecute"):
            out.append(t)
            wanted.discard(pair)
    for k, effect in sorted(wanted):
        out.append({"key": k, "effect": effect, "timeAdded": timestamp(now)})
    return out


def pod_marked_not_ready(pod: Obj, now: float) -> Obj | None:
    """``pod`` with its ``Ready`` condition ``False``, or ``None`` if nothing changes.

    As ``MarkPodsNotReady`` with ``UpdatePodCondition``: only the status flips (and
    ``lastTransitionTime``); reason and message stay; a pod without a ``Ready``
    condition (not started yet) is left alone.
    """
    ready = find_condition((pod.get("status") or {}).get("conditions"), "Ready")
    if ready is None or ready.get("status") == "False":
        return None
    updated = copy(pod)
    for cond in updated["status"]["conditions"]:
        if cond.get("type") == "Ready":
            cond["status"] = "False"
            cond["lastTransitionTime"] = timestamp(now)
    return updated


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
        # node -> the Ready status this controller last acted on (nodeHealthMap's status)
        self._ready: dict[str, str | None] = {}
        # node -> pods added or bound to it since its last reconcile (podUpdateQueue)
        self._new_pods: dict[str, set[str]] = {}
        # nodes whose pods could not all be marked not ready (nodesToRetry)
        self._retry: set[str] = set()

    def watches(self) -> list[Watch]:
        return [
            Watch(NODES),
            Watch(LEASES, keys=self._lease_node, observe=self._observe_lease),
            Watch(PODS, keys=self._pod_node, observe=self._observe_pod),
        ]

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

    def _observe_pod(self, event: str, old: Obj | None, pod: Obj) -> None:
        """``podUpdated``: only a pod added, or bound to another node, needs a look."""
        node = (pod.get("spec") or {}).get("nodeName")
        before = ((old or {}).get("spec") or {}).get("nodeName")
        if event != "delete" and node and (old is None or node != before):
            self._new_pods.setdefault(node, set()).add(
                make_key(meta(pod).get("namespace", ""), meta(pod)["name"])
            )

    def _pod_node(self, pod: Obj) -> list[str]:
        node = (pod.get("spec") or {}).get("nodeName")
        pending = self._new_pods.get(node or "", set())
        return (
            [node] if node and make_key(meta(pod).get("namespace", ""), meta(pod)["name"]) in pending else []
        )

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
            for table in (self._seen, self._ready, self._new_pods):
                table.pop(key, None)
            self._retry.discard(key)
            if (uid := self._known.pop(key, None)) is not None:
                msg = f"Removing Node {key} from Controller"
                self.recorder.event(node_ref(key, uid), NORMAL, "RemovingNode", msg)
            return None
        if key not in self._known:
            self._known[key] = meta(node).get("uid", "")
            msg = f"Registered Node {key} in Controller"
            self.recorder.event(node_ref(key, self._known[key]), NORMAL, "RegisteredNode", msg)
        now = self.ctx.now()
        observed = self._ready.get(key, ready_status(node))
        silent_for = now - self._last_heard(node)
        if silent_for > self.grace_period and ready_status(node) != "Unknown":
            node = await self._mark_unknown(node, now)
        current = ready_status(node)
        self._ready[key] = current

        taints = desired_taints(node, now)
        if taints != ((node.get("spec") or {}).get("taints") or []):
            node = await self._set_taints(node, taints)

        new_pods = self._new_pods.pop(key, set())
        if current is not None and current != "True":
            if observed == "True":  # RecordNodeStatusChange, once per transition
                ref = node_ref(key, meta(node).get("uid", ""))
                self.recorder.event(ref, NORMAL, "NodeNotReady", f"Node {key} status is now: NodeNotReady")
            pods = self.cache(PODS).by_index("node", key)
            if observed != "True" and key not in self._retry:  # processPod: only the newcomers
                pods = [
                    p for p in pods if make_key(meta(p).get("namespace", ""), meta(p)["name"]) in new_pods
                ]
            await self._mark_pods_not_ready(key, pods, now)
        else:
            self._retry.discard(key)

        next_check = self.grace_period - silent_for + 0.5 if silent_for <= self.grace_period else None
        taint = next((t for t in taints if t.get("effect") == "NoExecute" and owned(t)), None)
        if taint is not None and (evict_after := await self._evict(node, taint, now)) is not None:
            next_check = evict_after if next_check is None else min(next_check, evict_after)
        return Result(requeue_after=next_check) if next_check is not None else None

    async def _mark_unknown(self, node: Obj, now: float) -> Obj:
        updated = copy(node)
        status = updated.setdefault("status", {})
        status["conditions"] = unknown_conditions(status.get("conditions") or [], now)
        result: Obj = await self.ctx.client.update(NODES, updated, subresource="status")
        return result

    async def _set_taints(self, node: Obj, taints: list[dict[str, Any]]) -> Obj:
        updated = copy(node)
        spec = updated.setdefault("spec", {})
        if taints:
            spec["taints"] = taints
        else:
            spec.pop("taints", None)
        result: Obj = await self.ctx.client.update(NODES, updated)
        return result

    async def _mark_pods_not_ready(self, node: str, pods: list[Obj], now: float) -> None:
        """``MarkPodsNotReady``: a failure leaves the node in ``_retry`` for the next pass."""
        self._retry.discard(node)
        for pod in pods:
            updated = pod_marked_not_ready(pod, now)
            if updated is None:
                continue
            ns = meta(pod).get("namespace", "")
            try:
                await self.ctx.client.update(PODS, updated, namespace=ns, subresource="status")
            except errors.StatusError as err:
                if errors.is_not_found(err):
                    continue
                self._retry.add(node)
                continue
            # after the update, so the pod still exists
            self.recorder.event(pod, WARNING, "NodeNotReady", "Node is not ready")
        if node in self._retry:
            self.ctx.enqueue(self.name, node, after=1.0)

    async def _evict(self, node: Obj, taint: dict[str, Any], now: float) -> float | None:
        """Delete the pods whose toleration of ``taint`` ran out; seconds to the next one."""
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
        return next_check + 0.1 if next_check is not None else None
