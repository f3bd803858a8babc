"""Which nodes a DaemonSet's pods belong on, and what a daemon pod looks like.

A node is eligible when the pod template would be allowed there: its
``nodeSelector`` matches the node's labels, its required node affinity matches, and
it tolerates the node's ``NoSchedule``/``NoExecute`` taints. DaemonSet pods get the
tolerations upstream adds (``node.kubernetes.io/not-ready`` and ``unreachable``
NoExecute with no time limit, the pressure and ``unschedulable`` NoSchedule ones),
so they stay on nodes that are merely unhealthy. A pod already on a node may stay
there as long as it tolerates the node's ``NoExecute`` taints (``shouldContinueRunning``);
a node with an untolerated ``NoSchedule`` taint only gets no *new* pod.

As upstream since 1.12, pods are not created with ``nodeName``: each gets a required
node affinity on ``metadata.name`` naming its node, and the scheduler (or, in the
tests, the fake kubelet) binds it there. A pod is *updated* when it carries the
current revision's hash or the current ``pod-template-generation``.

Mirrors: pkg/controller/daemon/util/daemonset_util.go (CreatePodTemplate, IsPodUpdated,
GetTemplateGeneration, AddOrUpdateDaemonPodTolerations,
ReplaceDaemonSetPodNodeNameNodeAffinity, GetTargetNodeName),
pkg/controller/daemon/daemon_controller.go (NodeShouldRunDaemonPod, predicates,
podByCreationTimestampAndPhase, getNodesToDaemonPods),
component-helpers/scheduling/corev1/nodeaffinity and v1helper.TolerationsTolerateTaint.
"""

from __future__ import annotations

from typing import Any

from apimachinery.selectors import new_requirement, selector_from_set
from controllers.history import REVISION_LABEL
from controllers.replicaset import pod_from_template
from controllers.util import Obj, meta

KIND = "DaemonSet"
#: extensions.DaemonSetTemplateGenerationKey (deprecated, still set upstream).
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
#: Where apps/v1 keeps spec.templateGeneration (set by the API server).
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
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


def should_run(ds: Obj, node: Obj) -> tuple[bool, bool]:
    """``NodeShouldRunDaemonPod``: (should a pod be created here, may an existing one stay).

    A pod may stay on a node whose ``NoSchedule`` taints it does not tolerate, as long as
    it tolerates the ``NoExecute`` ones (a node that is merely not ready keeps its daemons).
    """
    pod_spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    if pod_spec.get("nodeName") not in (None, "", meta(node)["name"]):
        return False, False
    if not selector_from_set(pod_spec.get("nodeSelector"))(meta(node).get("labels")):
        return False, False
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if required and not any(_term_matches(t, node) for t in required.get("nodeSelectorTerms") or []):
        return False, False
    tolerations = [*(pod_spec.get("tolerations") or []), *DAEMON_TOLERATIONS]
    taints = (node.get("spec") or {}).get("taints") or []
    if all(tolerates(tolerations, t) for t in taints if t.get("effect") in ("NoSchedule", "NoExecute")):
        return True, True
    return False, all(tolerates(tolerations, t) for t in taints if t.get("effect") == "NoExecute")


def node_should_run(ds: Obj, node: Obj) -> bool:
    """Would a new pod of the DaemonSet be allowed on this node?"""
    return should_run(ds, node)[0]


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


def template_generation(ds: Obj) -> str | None:
    """``GetTemplateGeneration``: the API server's count of template changes."""
    value = (meta(ds).get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION)
    return str(value) if value else None


def daemon_pod(ds: Obj, node: str, hash_: str) -> Obj:
    """``CreatePodTemplate`` + the node affinity: a pod of this DaemonSet for ``node``."""
    pod = pod_from_template(ds, (ds.get("spec") or {}).get("template") or {}, "apps/v1", KIND)
    generation = template_generation(ds)
    if generation is not None:
        pod["metadata"]["labels"][TEMPLATE_GENERATION_LABEL] = generation
    if hash_:
        pod["metadata"]["labels"][REVISION_LABEL] = hash_
    spec = pod["spec"]
    affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]
    }
    existing = spec.get("tolerations") or []
    spec["tolerations"] = existing + [t for t in DAEMON_TOLERATIONS if t not in existing]
    return pod


def is_pod_updated(pod: Obj, hash_: str, generation: str | None) -> bool:
    """``IsPodUpdated``: the pod carries the current hash (or template generation)."""
    labels = meta(pod).get("labels") or {}
    template_matches = generation is not None and labels.get(TEMPLATE_GENERATION_LABEL) == generation
    return (bool(hash_) and labels.get(REVISION_LABEL) == hash_) or template_matches


def oldest_first(pods: list[Obj]) -> list[Obj]:
    """``podByCreationTimestampAndPhase``: scheduled first, then by creation time and name."""
    return sorted(
        pods,
        key=lambda p: (
            not (p.get("spec") or {}).get("nodeName"),
            meta(p).get("creationTimestamp") or "",
            meta(p)["name"],
        ),
    )


def by_node(pods: list[Obj]) -> dict[str, list[Obj]]:
    out: dict[str, list[Obj]] = {}
    for p in pods:
        out.setdefault(target_node(p), []).append(p)
    return out
