"""InterPodAffinity: place pods near (affinity) or away from (anti-affinity) other pods.

A term says "pods matching ``labelSelector`` in ``namespaces``, counted per
``topologyKey`` domain" (a domain is the set of nodes sharing one value of that node
label: one node for ``kubernetes.io/hostname``, a zone for ``topology.kubernetes.io/zone``).

PreFilter counts, per (topologyKey, value), the existing pods that matter:

* ``affinity``:  pods matching *all* the incoming pod's required affinity terms;
* ``anti``:      pods matching one of its required anti-affinity terms;
* ``existing``:  pods whose *own* required anti-affinity terms match the incoming pod.

Filter then checks, in upstream's order, for the node's domain:

1. every required affinity term has a matching pod there, else
   ``node(s) didn't match pod affinity rules`` (unresolvable). Exception: when no pod
   anywhere matches and the pod matches its own terms, it may start the group;
2. no required anti-affinity term has a matching pod there, else
   ``node(s) didn't match pod anti-affinity rules``;
3. no existing pod's anti-affinity forbids it there, else
   ``node(s) didn't satisfy existing pods anti-affinity rules``.

Score: for every (existing pod, preferred term) match, ± the term's weight is added to
that pod's domain (required affinity terms of existing pods count with weight 1);
a node's score is the sum for its domains, scaled min→0, max→100.

Mirrors: pkg/scheduler/framework/plugins/interpodaffinity/filtering.go, scoring.go.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from scheduler.framework import MAX_NODE_SCORE, SKIP, CycleState, Pod, Status, unresolvable, unschedulable
from scheduler.nodeinfo import AffinityTerm, NodeInfo, PodInfo, cycle_pod_info

NAME: Final = "InterPodAffinity"
AFFINITY_REASON: Final = "node(s) didn't match pod affinity rules"
ANTI_AFFINITY_REASON: Final = "node(s) didn't match pod anti-affinity rules"
EXISTING_ANTI_AFFINITY_REASON: Final = "node(s) didn't satisfy existing pods anti-affinity rules"
#: Weight of an existing pod's *required* affinity term in scoring (args.HardPodAffinityWeight).
HARD_POD_AFFINITY_WEIGHT: Final = 1

Pair = tuple[str, str]


@dataclass(slots=True)
class _FilterState:
    pod: PodInfo
    affinity: Counter[Pair]
    anti: Counter[Pair]
    existing: Counter[Pair]


def _pairs(terms: Sequence[AffinityTerm], node: NodeInfo) -> list[Pair]:
    return [(t.topology_key, node.labels[t.topology_key]) for t in terms if t.topology_key in node.labels]


def pre_filter_counts(state: CycleState, incoming: PodInfo, nodes: Sequence[NodeInfo]) -> _FilterState:
    snapshot = state.snapshot
    pod = incoming.pod
    pod_ns_labels = snapshot.namespace_labels(pod["metadata"].get("namespace", ""))
    counts = _FilterState(incoming, Counter(), Counter(), Counter())
    wants_terms = incoming.required_affinity or incoming.required_anti_affinity
    for node in nodes:
        if not node.labels or not (wants_terms or node.pods_with_required_anti_affinity):
            continue
        for existing in node.pods.values():
            for term in existing.required_anti_affinity:
                if term.topology_key in node.labels and term.matches(pod, pod_ns_labels):
                    counts.existing[(term.topology_key, node.labels[term.topology_key])] += 1
            if not wants_terms:
                continue
            ns_labels = snapshot.namespace_labels(existing.pod["metadata"].get("namespace", ""))
            if incoming.required_affinity and all(
                t.matches(existing.pod, ns_labels) for t in incoming.required_affinity
            ):
                counts.affinity.update(_pairs(incoming.required_affinity, node))
            for term in incoming.required_anti_affinity:
                if term.topology_key in node.labels and term.matches(existing.pod, ns_labels):
                    counts.anti[(term.topology_key, node.labels[term.topology_key])] += 1
    return counts


def satisfies_affinity(s: _FilterState, node: NodeInfo, pod_ns_labels: dict[str, str]) -> bool:
    pods_exist = True
    for term in s.pod.required_affinity:
        value = node.labels.get(term.topology_key)
        if value is None:
            return False  # every topology label must exist on the node
        if s.affinity[(term.topology_key, value)] <= 0:
            pods_exist = False
    if pods_exist:
        return True
    # The first pod of a group with affinity to itself may go anywhere with the labels.
    return not s.affinity and all(t.matches(s.pod.pod, pod_ns_labels) for t in s.pod.required_affinity)


def satisfies_anti_affinity(s: _FilterState, node: NodeInfo) -> bool:
    return not any(s.anti[p] > 0 for p in _pairs(s.pod.required_anti_affinity, node))


def satisfies_existing_anti_affinity(s: _FilterState, node: NodeInfo) -> bool:
    return not any(s.existing[(k, v)] > 0 for k, v in node.labels.items()) if s.existing else True


def topology_scores(state: CycleState, incoming: PodInfo, nodes: Sequence[NodeInfo]) -> dict[Pair, int]:
    """Weight per (topologyKey, value) from every relevant (existing pod, term) match."""
    snapshot = state.snapshot
    pod = incoming.pod
    pod_ns_labels = snapshot.namespace_labels(pod["metadata"].get("namespace", ""))
    scores: Counter[Pair] = Counter()

    def add(
        terms: Sequence[AffinityTerm], target: Pod, ns_labels: dict[str, str], node: NodeInfo, sign: int
    ) -> None:
        for t in terms:
            if t.topology_key in node.labels and t.matches(target, ns_labels):
                scores[(t.topology_key, node.labels[t.topology_key])] += sign * t.weight

    has_own = bool(incoming.preferred_affinity or incoming.preferred_anti_affinity)
    for node in nodes:
        if not node.labels or not (has_own or node.pods_with_affinity):
            continue
        for existing in node.pods.values():
            ns_labels = snapshot.namespace_labels(existing.pod["metadata"].get("namespace", ""))
            add(incoming.preferred_affinity, existing.pod, ns_labels, node, 1)
            add(incoming.preferred_anti_affinity, existing.pod, ns_labels, node, -1)
            for t in existing.required_affinity:
                if t.topology_key in node.labels and t.matches(pod, pod_ns_labels):
                    scores[(t.topology_key, node.labels[t.topology_key])] += HARD_POD_AFFINITY_WEIGHT
            add(existing.preferred_affinity, pod, pod_ns_labels, node, 1)
            add(existing.preferred_anti_affinity, pod, pod_ns_labels, node, -1)
    return dict(scores)


class InterPodAffinity:
    name = NAME

    def pre_filter(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        incoming = cycle_pod_info(state, pod)
        anyone_anti = state.snapshot.have_pods_with_required_anti_affinity(nodes)
        if not (incoming.required_affinity or incoming.required_anti_affinity or anyone_anti):
            return SKIP
        state.write(NAME, pre_filter_counts(state, incoming, nodes))
        return None

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        s: _FilterState = state.read(NAME)
        ns_labels = state.snapshot.namespace_labels(pod["metadata"].get("namespace", ""))
        if not satisfies_affinity(s, node, ns_labels):
            return unresolvable(AFFINITY_REASON)
        if not satisfies_anti_affinity(s, node):
            return unschedulable(ANTI_AFFINITY_REASON)
        if not satisfies_existing_anti_affinity(s, node):
            return unschedulable(EXISTING_ANTI_AFFINITY_REASON)
        return None

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        incoming = cycle_pod_info(state, pod)
        everyone = state.snapshot.node_infos()
        if not (
            incoming.preferred_affinity
            or incoming.preferred_anti_affinity
            or state.snapshot.have_pods_with_affinity(everyone)
        ):
            return SKIP
        state.write(NAME + "/score", topology_scores(state, incoming, everyone))
        return None

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        scores: dict[Pair, int] = state.read(NAME + "/score")
        return sum(scores.get((k, v), 0) for k, v in node.labels.items())

    def normalize(self, state: CycleState, pod: Pod, scores: dict[str, int]) -> None:
        if not scores:
            return
        low, high = min(scores.values()), max(scores.values())
        for name, score in scores.items():
            scores[name] = int(MAX_NODE_SCORE * (score - low) / (high - low)) if high > low else 0
