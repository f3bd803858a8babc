"""NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory use stay in proportion.

For each resource the fraction used after placing the pod (capped at 1); the score is
``(1 - standard deviation of the fractions) * 100``. With cpu and memory only, the
deviation is ``|cpu_fraction - memory_fraction| / 2``. A node 80 % full on cpu and
20 % on memory scores 70; one 50/50 scores 100. It keeps nodes from running out of one
resource while the other sits idle.

Mirrors: pkg/scheduler/framework/plugins/noderesources/balanced_allocation.go.
"""

from __future__ import annotations

from typing import Final

from scheduler.framework import MAX_NODE_SCORE, CycleState, Pod
from scheduler.nodeinfo import NodeInfo, PodInfo, cycle_pod_info

NAME: Final = "NodeResourcesBalancedAllocation"


def balanced_score(pod: PodInfo, node: NodeInfo) -> int:
    cpu_alloc = node.alloc_cpu
    mem_alloc = node.alloc_memory
    if not cpu_alloc or not mem_alloc:
        return 0
    cpu = (node.non_zero_cpu + pod.non_zero_cpu) / cpu_alloc
    if cpu > 1.0:
        cpu = 1.0
    mem = (node.non_zero_memory + pod.non_zero_memory) / mem_alloc
    if mem > 1.0:
        mem = 1.0
    std = abs(cpu - mem) / 2
    return int((1 - std) * MAX_NODE_SCORE)


class BalancedAllocation:
    name = NAME

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        return balanced_score(cycle_pod_info(state, pod), node)
