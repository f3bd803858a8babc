"""PodTopologySpread: spread matching pods evenly across topology domains.

A constraint (``spec.topologySpreadConstraints[]``) names a node label
(``topologyKey``: hostname, zone, ...), a ``labelSelector`` for "my group" and a
``maxSkew``. For each domain (value of the label) count the group's pods in it; then::

    skew(node) = count(node's domain) + (1 if the pod is in its own group) - min over domains

``whenUnsatisfiable: DoNotSchedule`` is a Filter: skew > maxSkew rejects the node
(``node(s) didn't match pod topology spread constraints``); a node without the label
can never satisfy it (``... (missing required label)``, unresolvable). With
``minDomains`` and fewer domains than that, the minimum counts as 0.
``ScheduleAnyway`` is a Score: fewer matching pods in the node's domain is better,
each constraint weighted by ``log(domains + 2)``, then inverted onto 0..100.

Only nodes that pass the pod's nodeSelector/affinity are counted
(``nodeAffinityPolicy: Honor``, the default); taints are ignored unless
``nodeTaintsPolicy: Honor``. ``matchLabelKeys`` adds the pod's own values for those
keys to the selector.

Mirrors: pkg/scheduler/framework/plugins/podtopologyspread/filtering.go, scoring.go,
common.go.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from apimachinery.selectors import Requirement, Selector, from_label_selector
from scheduler.framework import MAX_NODE_SCORE, SKIP, CycleState, Pod, Status, unresolvable, unschedulable
from scheduler.nodeinfo import NodeInfo
from scheduler.plugins.node_affinity import required_matches
from scheduler.plugins.taint_toleration import untolerated_taint

NAME: Final = "PodTopologySpread"
REASON: Final = "node(s) didn't match pod topology spread constraints"
MISSING_LABEL_REASON: Final = "node(s) didn't match pod topology spread constraints (missing required label)"
HOSTNAME: Final = "kubernetes.io/hostname"


@dataclass(frozen=True, slots=True)
class Constraint:
    max_skew: int
    topology_key: str
    selector: Selector
    min_domains: int
    honor_affinity: bool
    honor_taints: bool


def constraints(pod: Pod, action: str) -> list[Constraint]:
    """The pod's constraints with ``whenUnsatisfiable == action``, selectors parsed."""
    labels = pod["metadata"].get("labels") or {}
    out = []
    for c in pod["spec"].get("topologySpreadConstraints") or []:
        if c.get("whenUnsatisfiable", "DoNotSchedule") != action:
            continue
        selector = from_label_selector(c.get("labelSelector"))
        extra = [Requirement(k, "in", (labels[k],)) for k in c.get("matchLabelKeys") or [] if k in labels]
        if extra:
            selector = Selector([*selector.requirements, *extra])
        out.append(
            Constraint(
                max_skew=int(c.get("maxSkew", 1)),
                topology_key=c.get("topologyKey", ""),
                selector=selector,
                min_domains=int(c.get("minDomains") or 1),
                honor_affinity=c.get("nodeAffinityPolicy", "Honor") == "Honor",
                honor_taints=c.get("nodeTaintsPolicy", "Ignore") == "Honor",
            )
        )
    return out


def count_matching(node: NodeInfo, selector: Selector, namespace: str) -> int:
    n = 0
    for info in node.pods.values():
        meta = info.pod["metadata"]
        if (
            meta.get("namespace") == namespace
            and not meta.get("deletionTimestamp")
            and selector(meta.get("labels"))
        ):
            n += 1
    return n


def _eligible(pod: Pod, node: NodeInfo, c: Constraint, all_keys: Sequence[str]) -> bool:
    if any(k not in node.labels for k in all_keys):
        return False
    if c.honor_affinity and not required_matches(pod, node):
        return False
    return not (c.honor_taints and untolerated_taint(pod, node) is not None)


@dataclass(slots=True)
class _FilterState:
    constraints: list[Constraint]
    counts: list[Counter[str]]  # per constraint: domain value -> matching pods
    minimum: list[int]


def pre_filter_counts(pod: Pod, cs: list[Constraint], nodes: Sequence[NodeInfo]) -> _FilterState:
    namespace = pod["metadata"].get("namespace", "")
    keys = [c.topology_key for c in cs]
    counts: list[Counter[str]] = [Counter() for _ in cs]
    for node in nodes:
        for i, c in enumerate(cs):
            if _eligible(pod, node, c, keys):
                counts[i][node.labels[c.topology_key]] += count_matching(node, c.selector, namespace)
    minimum = [
        0 if len(counts[i]) < c.min_domains else min(counts[i].values(), default=0) for i, c in enumerate(cs)
    ]
    return _FilterState(cs, counts, minimum)


def filter_node(s: _FilterState, pod: Pod, node: NodeInfo) -> Status | None:
    labels = pod["metadata"].get("labels")
    for i, c in enumerate(s.constraints):
        value = node.labels.get(c.topology_key)
        if value is None:
            return unresolvable(MISSING_LABEL_REASON)
        self_match = 1 if c.selector(labels) else 0
        if s.counts[i][value] + self_match - s.minimum[i] > c.max_skew:
            return unschedulable(REASON)
    return None


@dataclass(slots=True)
class _ScoreState:
    constraints: list[Constraint]
    counts: list[Counter[str]]
    weights: list[float]
    ignored: set[str]


class PodTopologySpread:
    name = NAME

    def pre_filter(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        cs = constraints(pod, "DoNotSchedule")
        if not cs:
            return SKIP
        state.write(NAME, pre_filter_counts(pod, cs, nodes))
        return None

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        return filter_node(state.read(NAME), pod, node)

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        cs = constraints(pod, "ScheduleAnyway")
        if not cs:
            return SKIP
        keys = [c.topology_key for c in cs]
        ignored = {n.name for n in nodes if any(k not in n.labels for k in keys)}
        feasible = [n for n in nodes if n.name not in ignored]
        domains = [{n.labels[c.topology_key] for n in feasible} for c in cs]
        counts: list[Counter[str]] = [Counter() for _ in cs]
        namespace = pod["metadata"].get("namespace", "")
        for node in state.snapshot.node_infos() or nodes:
            for i, c in enumerate(cs):
                if c.topology_key == HOSTNAME or not _eligible(pod, node, c, keys):
                    continue
                value = node.labels[c.topology_key]
                if value in domains[i]:
                    counts[i][value] += count_matching(node, c.selector, namespace)
        weights = [math.log(len(d) + 2) for d in domains]
        state.write(NAME + "/score", _ScoreState(cs, counts, weights, ignored))
        return None

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        s: _ScoreState = state.read(NAME + "/score")
        if node.name in s.ignored:
            return 0
        namespace = pod["metadata"].get("namespace", "")
        total = 0.0
        for i, c in enumerate(s.constraints):
            if c.topology_key == HOSTNAME:
                count = count_matching(node, c.selector, namespace)
            else:
                count = s.counts[i][node.labels[c.topology_key]]
            total += count * s.weights[i] + (c.max_skew - 1)
        return round(total)

    def normalize(self, state: CycleState, pod: Pod, scores: dict[str, int]) -> None:
        s: _ScoreState = state.read(NAME + "/score")
        valid = [v for name, v in scores.items() if name not in s.ignored]
        low, high = min(valid, default=0), max(valid, default=0)
        for name, v in scores.items():
            if name in s.ignored:
                scores[name] = 0
            elif high == 0:
                scores[name] = MAX_NODE_SCORE
            else:
                scores[name] = MAX_NODE_SCORE * (high + low - v) // high
