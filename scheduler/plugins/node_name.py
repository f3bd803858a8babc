"""NodeName: a pod that names its node (``spec.nodeName``) fits only there.

The scheduler only sees pods whose ``nodeName`` is empty, so in practice this plugin
matters for preemption and for pods created with a nodeName by other schedulers.

Mirrors: pkg/scheduler/framework/plugins/nodename/node_name.go.
"""

from __future__ import annotations

from typing import Final

from scheduler.framework import SKIP, CycleState, Pod, Status, unresolvable
from scheduler.nodeinfo import NodeInfo

NAME: Final = "NodeName"
REASON: Final = "node(s) didn't match the requested node name"


def fits(pod: Pod, node: NodeInfo) -> bool:
    wanted = pod["spec"].get("nodeName")
    return not wanted or wanted == node.name


class NodeName:
    name = NAME

    def pre_filter(self, state: CycleState, pod: Pod, nodes: object) -> Status | None:
        return None if pod["spec"].get("nodeName") else SKIP

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        return None if fits(pod, node) else unresolvable(REASON)
