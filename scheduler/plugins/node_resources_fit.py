"""NodeResourcesFit: the pod's requests must fit in what the node has left; LeastAllocated score.

Filter, in upstream's order: one more pod must not exceed ``allocatable.pods``
(``Too many pods``); then for cpu, memory, ephemeral-storage and every extended
resource the pod requests, ``requested + pod's request <= allocatable``
(``Insufficient cpu`` ...). Every shortfall is reported, not just the first. When the
pod alone is bigger than the whole node, the status is UnschedulableAndUnresolvable:
preempting other pods could never help.

Score (the default ``LeastAllocated`` strategy, cpu and memory weighted 1 each)::

    score = mean over r of  (allocatable[r] - requested[r] - pod[r]) * 100 / allocatable[r]

with the "non-zero" requests (100m / 200Mi for pods that ask for nothing), so emptier
nodes win and identical pods spread out.

Mirrors: pkg/scheduler/framework/plugins/noderesources/fit.go (``fitsRequest``),
least_allocated.go, resource_allocation.go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from scheduler import resources
from scheduler.framework import MAX_NODE_SCORE, Code, CycleState, Pod, Status
from scheduler.nodeinfo import NodeInfo, PodInfo, cycle_pod_info

NAME: Final = "NodeResourcesFit"
TOO_MANY_PODS: Final = "Too many pods"


def insufficient(name: str) -> str:
    return f"Insufficient {name}"


@dataclass(frozen=True, slots=True)
class InsufficientResource:
    name: str
    reason: str
    #: The pod would not fit even on an empty node.
    unresolvable: bool


def fits_request(request: resources.Resources, node: NodeInfo) -> list[InsufficientResource]:
    """Every resource the node is short of for this request (``fitsRequest``)."""
    out = []
    allowed_pods = node.allocatable.get(resources.PODS, 0)
    if len(node.pods) + 1 > allowed_pods:
        out.append(InsufficientResource(resources.PODS, TOO_MANY_PODS, False))
    ordered = [resources.CPU, resources.MEMORY, resources.EPHEMERAL_STORAGE]
    ordered += sorted(
        r for r in request if r not in (resources.CPU, resources.MEMORY, resources.EPHEMERAL_STORAGE)
    )
    for name in ordered:
        wanted = request.get(name, 0)
        if wanted <= 0:
            continue
        allocatable = node.allocatable.get(name, 0)
        if wanted > allocatable - node.requested.get(name, 0):
            out.append(InsufficientResource(name, insufficient(name), wanted > allocatable))
    return out


def fits_fast(pod: PodInfo, node: NodeInfo) -> bool:
    """True when ``fits_request`` would find nothing short: pods, cpu and memory only.

    Pure integer comparisons on NodeInfo's precomputed slots; a pod that asks for
    anything else (ephemeral-storage, extended resources) takes the general path.
    """
    return (
        pod.only_cpu_memory
        and len(node.pods) < node.alloc_pods
        and (pod.cpu <= 0 or pod.cpu <= node.alloc_cpu - node.req_cpu)
        and (pod.memory <= 0 or pod.memory <= node.alloc_memory - node.req_memory)
    )


def least_allocated(pod: PodInfo, node: NodeInfo) -> int:
    """``leastResourceScorer`` over cpu and memory, weight 1 each, in integer arithmetic."""
    total = 0
    allocatable = node.alloc_cpu
    requested = node.non_zero_cpu + pod.non_zero_cpu
    if allocatable and requested <= allocatable:
        total += (allocatable - requested) * MAX_NODE_SCORE // allocatable
    allocatable = node.alloc_memory
    requested = node.non_zero_memory + pod.non_zero_memory
    if allocatable and requested <= allocatable:
        total += (allocatable - requested) * MAX_NODE_SCORE // allocatable
    return total // 2


class NodeResourcesFit:
    name = NAME

    def pre_filter(self, state: CycleState, pod: Pod, nodes: object) -> Status | None:
        cycle_pod_info(state, pod)  # computePodResourceRequest: once per cycle
        return None

    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        info = cycle_pod_info(state, pod)
        if fits_fast(info, node):
            return None
        short = fits_request(info.requests, node)
        if not short:
            return None
        code = (
            Code.UNSCHEDULABLE_AND_UNRESOLVABLE if any(s.unresolvable for s in short) else Code.UNSCHEDULABLE
        )
        return Status(code, tuple(s.reason for s in short))

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        return least_allocated(cycle_pod_info(state, pod), node)
