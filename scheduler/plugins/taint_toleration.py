"""TaintToleration: a node's taints repel pods that do not tolerate them.

Filter: every ``NoSchedule`` and ``NoExecute`` taint must be tolerated, else
``node(s) had untolerated taint {key: value}`` (the first one found).
Score: fewer untolerated ``PreferNoSchedule`` taints is better (normalized in reverse:
the node with the most gets 0).

A toleration matches a taint when the effects match (or the toleration has none), the
keys match (or the toleration has none, with ``operator: Exists``), and with
``Equal`` (the default) the values match.

Mirrors: pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go,
k8s.io/api/core/v1/toleration.go (``ToleratesTaint``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from scheduler.framework import SKIP, CycleState, Pod, Status, default_normalize_score, unresolvable
from scheduler.nodeinfo import NodeInfo

NAME: Final = "TaintToleration"
_FILTERED: Final = ("NoSchedule", "NoExecute")


def reason(taint: Mapping[str, Any]) -> str:
    return f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value', '')}}}"


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """``Toleration.ToleratesTaint``."""
    effect = toleration.get("effect")
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key")
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def untolerated_taint(pod: Pod, node: NodeInfo) -> Mapping[str, Any] | None:
    """The first NoSchedule/NoExecute taint no toleration covers, or None."""
    tolerations = pod["spec"].get("tolerations") or ()
    for taint in node.taints:
        if taint.get("effect") in _FILTERED and not any(tolerates(t, taint) for t in tolerations):
            return taint
    return None


def count_intolerable_prefer_no_schedule(pod: Pod, node: NodeInfo) -> int:
    tolerations = [
        t for t in pod["spec"].get("tolerations") or () if t.get("effect") in (None, "", "PreferNoSchedule")
    ]
    return sum(
        1
        for taint in node.taints
        if taint.get("effect") == "PreferNoSchedule" and not any(tolerates(t, taint) for t in tolerations)
    )


class TaintToleration:
    """Upstream has no PreFilter here and PreScore never skips. On a cluster with no
    taint at all the filter passes everywhere and every score normalizes to the same
    100, so both Skip: the choice of node is the same, without a call per node."""

    name = NAME

    def pre_filter(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        return None if state.snapshot.have_tainted_nodes(nodes) else SKIP

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        return None if state.snapshot.have_tainted_nodes(nodes) else SKIP

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        if not node.taints:
            return None
        taint = untolerated_taint(pod, node)
        return None if taint is None else unresolvable(reason(taint))

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        return count_intolerable_prefer_no_schedule(pod, node) if node.taints else 0

    def normalize(self, state: CycleState, pod: Pod, scores: dict[str, int]) -> None:
        default_normalize_score(scores, reverse=True)
