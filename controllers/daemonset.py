"""The DaemonSet controller: exactly one pod on every eligible node.

A node is eligible when the pod template would be allowed there: its
``nodeSelector`` matches the node's labels, its required node affinity matches, and
it tolerates the node's ``NoSchedule``/``NoExecute`` taints. DaemonSet pods get the
tolerations upstream adds (``node.kubernetes.io/not-ready`` and ``unreachable``
NoExecute with no time limit, the pressure and ``unschedulable`` NoSchedule ones),
so they stay on nodes that are merely unhealthy.

As upstream since 1.12, pods are not created with ``nodeName``: each gets a required
node affinity on ``metadata.name`` naming its node, and the scheduler (or, in the
tests, the fake kubelet) binds it there. Each reconcile creates the missing pods,
deletes pods on nodes no longer eligible, duplicates, and Failed pods, and for a
``RollingUpdate`` deletes at most ``maxUnavailable`` (default 1) pods of an old
template at a time, once the others are available.

Mirrors: pkg/controller/daemon/daemon_controller.go (manage, podsShouldBeOnNode,
syncNodes, updateDaemonSetStatus), daemon/update.go (rollingUpdate),
daemon/util/daemonset_util.go (AddOrUpdateDaemonPodTolerations, ReplaceDaemonSetPodNodeNameNodeAffinity),
component-helpers/scheduling/corev1/nodeaffinity.
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from apimachinery.selectors import new_requirement, selector_from_set
from client.cache import copy
from controllers.base import DAEMONSETS, NODES, PODS, Context, Controller, Result, Watch
from controllers.deployment.hash import compute_hash
from controllers.deployment.sync import drop_nulls
from controllers.expectations import Expectations
from controllers.replicaset import pod_from_template, pod_owner_keys
from controllers.util import Obj, is_controlled_by, is_pod_ready, is_pod_terminated, meta

HASH_LABEL = "controller-revision-hash"
_EXPR_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!", "Gt": "gt", "Lt": "lt"}

DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    for tol in tolerations:
        if tol.get("effect") not in (None, "", taint.get("effect")):
            continue
        if tol.get("operator", "Equal") == "Exists":
            if tol.get("key") in (None, "", taint.get("key")):
                return True
        elif tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def _term_matches(term: dict[str, Any], node: Obj) -> bool:
    labels = meta(node).get("labels") or {}
    for expr in term.get("matchExpressions") or []:
        req = new_requirement(expr["key"], _EXPR_OPS[expr["operator"]], expr.get("values") or [])
        if not req.matches(labels):
            return False
    for expr in term.get("matchFields") or []:
        req = new_requirement(expr["key"], _EXPR_OPS[expr["operator"]], expr.get("values") or [])
        if expr["key"] == "metadata.name" and not req.matches({"metadata.name": meta(node)["name"]}):
            return False
    return True


def node_should_run(ds: Obj, node: Obj) -> bool:
    """Would the DaemonSet's pod be allowed on this node (``podsShouldBeOnNode``)?"""
    pod_spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    if not selector_from_set(pod_spec.get("nodeSelector"))(meta(node).get("labels")):
        return False
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if required and not any(_term_matches(t, node) for t in required.get("nodeSelectorTerms") or []):
        return False
    tolerations = [*(pod_spec.get("tolerations") or []), *DAEMON_TOLERATIONS]
    return all(
        tolerates(tolerations, t)
        for t in (node.get("spec") or {}).get("taints") or []
        if t.get("effect") in ("NoSchedule", "NoExecute")
    )


def target_node(pod: Obj) -> str:
    """The node a daemon pod is for: its nodeName, or the name in its node affinity."""
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        return str(node)
    required = (((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for f in term.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("operator") == "In" and f.get("values"):
                return str(f["values"][0])
    return ""


def template_hash(ds: Obj) -> str:
    return compute_hash(drop_nulls((ds.get("spec") or {}).get("template") or {}))


def daemon_pod(ds: Obj, node: str, pod_hash: str) -> Obj:
    pod = pod_from_template(ds, (ds.get("spec") or {}).get("template") or {}, "apps/v1", "DaemonSet")
    pod["metadata"]["labels"][HASH_LABEL] = pod_hash
    spec = pod["spec"]
    affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]
    }
    existing = spec.get("tolerations") or []
    spec["tolerations"] = existing + [t for t in DAEMON_TOLERATIONS if t not in existing]
    return pod


def plan(ds: Obj, nodes: list[Obj], pods: list[Obj], pod_hash: str) -> tuple[list[str], list[Obj]]:
    """(nodes needing a pod, pods to delete) (``manage`` + ``rollingUpdate``)."""
    by_node: dict[str, list[Obj]] = {}
    for p in pods:
        if not meta(p).get("deletionTimestamp"):
            by_node.setdefault(target_node(p), []).append(p)
    create, delete = [], []
    eligible = {meta(n)["name"] for n in nodes if node_should_run(ds, n)}
    for node in sorted(eligible):
        mine = by_node.get(node, [])
        failed = [p for p in mine if is_pod_terminated(p)]
        delete += failed
        alive = [p for p in mine if not is_pod_terminated(p)]
        if not alive:
            create.append(node)
        delete += alive[1:]  # duplicates
    for node, mine in by_node.items():
        if node not in eligible:
            delete += mine
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") == "RollingUpdate":
        max_unavailable = int((strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1) or 1)
        live = [p for n in eligible for p in by_node.get(n, [])[:1] if not is_pod_terminated(p)]
        unavailable = len(eligible) - sum(1 for p in live if is_pod_ready(p))
        old = [p for p in live if (meta(p).get("labels") or {}).get(HASH_LABEL) != pod_hash]
        budget = max(0, max_unavailable - unavailable)
        old.sort(key=lambda p: is_pod_ready(p))  # not-ready old pods first: they cost nothing
        delete += [p for p in old if not is_pod_ready(p)] + [p for p in old if is_pod_ready(p)][:budget]
    return create, delete


class DaemonSetController(Controller):
    name = "daemonset"

    def __init__(self, ctx: Context, **options: Any) -> None:
        super().__init__(ctx, **options)
        self.expectations = Expectations(ctx.now)

    def _observe(self, event: str, old: Obj | None, pod: Obj) -> None:
        for key in pod_owner_keys("DaemonSet")(pod):
            if event == "add":
                self.expectations.creation_observed(key)
            elif event == "delete" or meta(pod).get("deletionTimestamp"):
                self.expectations.deletion_observed(key, f"{meta(pod).get('namespace')}/{meta(pod)['name']}")

    def watches(self) -> list[Watch]:
        return [
            Watch(DAEMONSETS),
            Watch(PODS, keys=pod_owner_keys("DaemonSet"), observe=self._observe),
            Watch(
                NODES,
                keys=lambda _node: [
                    f"{meta(d).get('namespace')}/{meta(d)['name']}" for d in self.cache(DAEMONSETS).list()
                ],
            ),
        ]

    async def reconcile(self, key: str) -> Result | None:
        ds = self.cache(DAEMONSETS).get(key)
        if ds is None or meta(ds).get("deletionTimestamp"):
            return None
        ns = meta(ds).get("namespace", "")
        pod_hash = template_hash(ds)
        pods = [p for p in self.cache(PODS).by_index("owner", meta(ds)["uid"]) if is_controlled_by(p, ds)]
        nodes = self.cache(NODES).list()
        create, delete = plan(ds, nodes, pods, pod_hash)
        if not self.expectations.satisfied(key):
            create, delete = [], []  # our last writes have not all come back as events yet
        victims = list({meta(v)["uid"]: v for v in delete}.values())
        self.expectations.expect_creations(key, len(create))
        self.expectations.expect_deletions(key, [f"{ns}/{meta(v)['name']}" for v in victims])
        for node in create:
            try:
                await self.ctx.client.create(PODS, daemon_pod(ds, node, pod_hash), namespace=ns)
            except errors.StatusError:
                self.expectations.creation_observed(key)
                raise
        for victim in victims:
            try:
                await self.ctx.client.delete(PODS, meta(victim)["name"], namespace=ns)
            except errors.StatusError as err:
                self.expectations.deletion_observed(key, f"{ns}/{meta(victim)['name']}")
                if not errors.is_not_found(err):
                    raise
        eligible = [n for n in nodes if node_should_run(ds, n)]
        live = [p for p in pods if not meta(p).get("deletionTimestamp") and not is_pod_terminated(p)]
        on_eligible = {target_node(p) for p in live} & {meta(n)["name"] for n in eligible}
        st = dict(ds.get("status") or {})
        st.update(
            observedGeneration=meta(ds).get("generation", 0),
            desiredNumberScheduled=len(eligible),
            currentNumberScheduled=len(on_eligible),
            numberMisscheduled=len({target_node(p) for p in live} - on_eligible),
            numberReady=sum(1 for p in live if is_pod_ready(p)),
            numberAvailable=sum(1 for p in live if is_pod_ready(p)),
            updatedNumberScheduled=sum(
                1 for p in live if (meta(p).get("labels") or {}).get(HASH_LABEL) == pod_hash
            ),
        )
        st["numberUnavailable"] = max(0, len(eligible) - st["numberAvailable"])
        if st != (ds.get("status") or {}):
            updated = copy(ds)
            updated["status"] = st
            await self.ctx.client.update(DAEMONSETS, updated, namespace=ns, subresource="status")
        return None
