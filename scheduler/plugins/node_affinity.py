"""NodeAffinity: ``nodeSelector`` and node affinity, required (Filter) and preferred (Score).

Filter: the node's labels must match every ``nodeSelector`` entry, *and* at least one
of the ``requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`` (terms are
ORed; inside a term, ``matchExpressions`` and ``matchFields`` are ANDed; a term with
neither matches nothing). Operators: In, NotIn, Exists, DoesNotExist, Gt, Lt (integers).
``matchFields`` knows one field, ``metadata.name``.

Score: the sum of the ``weight`` of every preferred term the node matches, then scaled
so the best node gets 100.

Mirrors: pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go,
k8s.io/component-helpers/scheduling/corev1/nodeaffinity/nodeaffinity.go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from scheduler.framework import SKIP, CycleState, Pod, Status, default_normalize_score, unresolvable
from scheduler.nodeinfo import NodeInfo

NAME: Final = "NodeAffinity"
REASON: Final = "node(s) didn't match Pod's node affinity/selector"


def _requirement_matches(req: Mapping[str, Any], values: Mapping[str, str]) -> bool:
    op, key = req.get("operator"), req.get("key", "")
    want = req.get("values") or []
    have = values.get(key)
    if op == "In":
        return have is not None and have in want
    if op == "NotIn":
        return have is None or have not in want
    if op == "Exists":
        return have is not None
    if op == "DoesNotExist":
        return have is None
    if op in ("Gt", "Lt"):
        try:
            a, b = int(have or ""), int(want[0])
        except (ValueError, IndexError):
            return False
        return a > b if op == "Gt" else a < b
    return False


def term_matches(term: Mapping[str, Any], node: NodeInfo) -> bool:
    """One NodeSelectorTerm: all expressions and fields hold (an empty term matches nothing)."""
    expressions, fields = term.get("matchExpressions") or [], term.get("matchFields") or []
    if not expressions and not fields:
        return False
    name_field = {"metadata.name": node.name}
    return all(_requirement_matches(r, node.labels) for r in expressions) and all(
        _requirement_matches(r, name_field) for r in fields
    )


def required_matches(pod: Pod, node: NodeInfo) -> bool:
    """nodeSelector AND required node affinity (``GetRequiredNodeAffinity(pod).Match``)."""
    spec = pod["spec"]
    for key, value in (spec.get("nodeSelector") or {}).items():
        if node.labels.get(key) != value:
            return False
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if required is None:
        return True
    return any(term_matches(t, node) for t in required.get("nodeSelectorTerms") or [])


def preferred_score(pod: Pod, node: NodeInfo) -> int:
    preferred = ((pod["spec"].get("affinity") or {}).get("nodeAffinity") or {}).get(
        "preferredDuringSchedulingIgnoredDuringExecution"
    ) or []
    return sum(int(p.get("weight", 0)) for p in preferred if term_matches(p.get("preference") or {}, node))


def _has_required(pod: Pod) -> bool:
    spec = pod["spec"]
    node_affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
    return bool(spec.get("nodeSelector")) or "requiredDuringSchedulingIgnoredDuringExecution" in node_affinity


class NodeAffinity:
    name = NAME

    def pre_filter(self, state: CycleState, pod: Pod, nodes: object) -> Status | None:
        return None if _has_required(pod) else SKIP

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        return None if required_matches(pod, node) else unresolvable(REASON)

    def pre_score(self, state: CycleState, pod: Pod, nodes: object) -> Status | None:
        node_affinity = (pod["spec"].get("affinity") or {}).get("nodeAffinity") or {}
        return None if node_affinity.get("preferredDuringSchedulingIgnoredDuringExecution") else SKIP

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        return preferred_score(pod, node)

    def normalize(self, state: CycleState, pod: Pod, scores: dict[str, int]) -> None:
        default_normalize_score(scores)
