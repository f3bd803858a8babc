"""Preemption: make room for a pod by evicting lower-priority pods (the PostFilter step).

When no node fits, for each node where preemption *might* help (its status was
Unschedulable, not UnschedulableAndUnresolvable: no amount of evicting fixes a taint):

1. pretend every pod with a lower priority is gone; if the pod still does not fit,
   this node is no candidate;
2. otherwise put them back one at a time, most important first, keeping each that
   still leaves room (the "reprieve"); whoever is left are the *victims*.

Among the candidates pick the node whose victims matter least: lowest highest-victim
priority, then lowest sum of priorities, then fewest victims. The scheduler then
sets the pod's ``status.nominatedNodeName``, deletes the victims gracefully, and
retries the pod when their deletion is observed.

When nothing can be done, the message says why per node, in the FailedScheduling
event after ``preemption:``, e.g. ``0/3 nodes are available: 3 Preemption is not
helpful for scheduling.``

Simplification: the PreFilter state of InterPodAffinity and PodTopologySpread is not
updated for removed victims (upstream's AddPod/RemovePod extensions), and pods
nominated to a node do not reserve room there.

Mirrors: pkg/scheduler/framework/preemption/preemption.go (``Evaluator.Preempt``,
``findCandidates``, ``nodesWherePreemptionMightHelp``, ``pickOneNodeForPreemption``),
plugins/defaultpreemption/default_preemption.go (``SelectVictimsOnNode``,
``PodEligibleToPreemptOthers``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from scheduler.algorithm import run_filters, run_pre_filter
from scheduler.fiterror import Diagnosis, fit_error_message
from scheduler.framework import Code, CycleState, Pod, Snapshot, Status, unresolvable
from scheduler.nodeinfo import NodeInfo, PodInfo
from scheduler.profile import Profile

NOT_HELPFUL: Final = "Preemption is not helpful for scheduling"
NO_VICTIMS: Final = "No preemption victims found for incoming pod"
NEVER: Final = "not eligible due to preemptionPolicy=Never."


@dataclass
class PreemptionResult:
    node: str | None = None
    victims: list[PodInfo] = field(default_factory=list)
    #: what follows "preemption: " in the FailedScheduling message ("" when a node was found)
    message: str = ""


def _priority(pod: Pod) -> int:
    return int(pod["spec"].get("priority") or 0)


def select_victims(
    profile: Profile, snapshot: Snapshot, pod: Pod, node: NodeInfo
) -> tuple[list[PodInfo], Status | None]:
    """The fewest, least important pods to evict from ``node`` (``SelectVictimsOnNode``)."""
    prio = _priority(pod)
    lower = [p for p in node.pods.values() if p.priority < prio]
    if not lower:
        return [], unresolvable(NO_VICTIMS)
    trial = node.clone()
    for p in lower:
        trial.remove_pod(p.key)
    state = CycleState(snapshot)
    rejected = run_pre_filter(profile, state, pod, snapshot.node_infos())
    if rejected is None:
        rejected = run_filters(profile, state, pod, trial)
    if rejected is not None:
        return [], rejected
    victims = []
    for p in sorted(lower, key=lambda p: -p.priority):
        trial.add_pod(p)
        if run_filters(profile, state, pod, trial) is not None:
            trial.remove_pod(p.key)
            victims.append(p)
    return victims, None


def preempt(profile: Profile, snapshot: Snapshot, pod: Pod, diagnosis: Diagnosis) -> PreemptionResult:
    if pod["spec"].get("preemptionPolicy") == "Never":
        return PreemptionResult(message=NEVER)
    nodes: Sequence[NodeInfo] = snapshot.node_infos()
    statuses = Diagnosis()
    candidates: list[tuple[tuple[int, int, int], str, list[PodInfo]]] = []
    for node in nodes:
        status = diagnosis.node_to_status.get(node.name)
        if status is None or status.code != Code.UNSCHEDULABLE:
            statuses.node_to_status[node.name] = unresolvable(NOT_HELPFUL)
            continue
        victims, why = select_victims(profile, snapshot, pod, node)
        if why is not None:
            statuses.node_to_status[node.name] = why
            continue
        prios = [v.priority for v in victims]
        candidates.append(((max(prios, default=-(2**31)), sum(prios), len(victims)), node.name, victims))
    if not candidates:
        return PreemptionResult(message=fit_error_message(len(nodes), statuses))
    _, name, victims = min(candidates, key=lambda c: c[0])
    return PreemptionResult(node=name, victims=victims)
