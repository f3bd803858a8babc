"""NodeUnschedulable: a cordoned node (``spec.unschedulable: true``) takes no new pods.

``kubectl cordon`` sets the flag; the node controller mirrors it as the taint
``node.kubernetes.io/unschedulable:NoSchedule``, so a pod that tolerates that taint
(DaemonSet pods do) may still land there.

Mirrors: pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from scheduler.framework import SKIP, CycleState, Pod, Status, unresolvable
from scheduler.nodeinfo import NodeInfo
from scheduler.plugins.taint_toleration import tolerates

NAME: Final = "NodeUnschedulable"
REASON: Final = "node(s) were unschedulable"
TAINT_UNSCHEDULABLE: Final = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


def fits(pod: Pod, node: NodeInfo) -> bool:
    if not node.unschedulable:
        return True
    return any(tolerates(t, TAINT_UNSCHEDULABLE) for t in pod["spec"].get("tolerations") or ())


class NodeUnschedulable:
    name = NAME

    def pre_filter(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        """Skip when no node is cordoned (not upstream: it saves a call per node)."""
        return None if state.snapshot.have_unschedulable_nodes(nodes) else SKIP

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        return None if fits(pod, node) else unresolvable(REASON)
