"""NodePorts: two pods cannot claim the same ``hostPort`` on one node.

Ports conflict when protocol and port are equal and the host IPs overlap: equal, or
either one is ``0.0.0.0`` (all addresses).

Mirrors: pkg/scheduler/framework/plugins/nodeports/node_ports.go,
framework/types.go (``HostPortInfo.CheckConflict``).
"""

from __future__ import annotations

from typing import Final

from scheduler.framework import SKIP, CycleState, Pod, Status, unschedulable
from scheduler.nodeinfo import NodeInfo
from scheduler.resources import host_ports

NAME: Final = "NodePorts"
REASON: Final = "node(s) didn't have free ports for the requested pod ports"
_ANY: Final = "0.0.0.0"


def fits(wanted: list[tuple[str, str, int]], node: NodeInfo) -> bool:
    for ip, protocol, port in wanted:
        used = node.used_ports.get((protocol, port))
        if used and (ip == _ANY or _ANY in used or ip in used):
            return False
    return True


class NodePorts:
    name = NAME

    def pre_filter(self, state: CycleState, pod: Pod, nodes: object) -> Status | None:
        wanted = host_ports(pod)
        if not wanted:
            return SKIP
        state.write(NAME, wanted)
        return None

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        wanted = state.read(NAME)
        if wanted is None:
            wanted = host_ports(pod)
        return None if fits(wanted, node) else unschedulable(REASON)
