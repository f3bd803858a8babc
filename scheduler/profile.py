"""The default profile: which plugins run, in which order, with which score weights.

Filters run in this order on every node and stop at the first rejection, so the
cheap, most-selective checks come first. Score weights multiply each plugin's
normalized 0..100 score before they are summed.

=============================  ======  =====  =========
plugin                         filter  score  weight
=============================  ======  =====  =========
NodeUnschedulable              yes
NodeName                       yes
TaintToleration                yes     yes    3
NodeAffinity                   yes     yes    2
NodePorts                      yes
NodeResourcesFit               yes     yes    1 (LeastAllocated)
PodTopologySpread              yes     yes    2
InterPodAffinity               yes     yes    2
NodeResourcesBalancedAllocation        yes    1
ImageLocality                          yes    1
=============================  ======  =====  =========

(Volume plugins, SchedulingGates and DefaultPreemption are not plugins here: there
are no volumes yet, and preemption lives in preemption.py.)

Mirrors: pkg/scheduler/apis/config/v1/default_plugins.go (``getDefaultPlugins``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from scheduler.plugins.balanced_allocation import BalancedAllocation
from scheduler.plugins.image_locality import ImageLocality
from scheduler.plugins.interpod_affinity import InterPodAffinity
from scheduler.plugins.node_affinity import NodeAffinity
from scheduler.plugins.node_name import NodeName
from scheduler.plugins.node_ports import NodePorts
from scheduler.plugins.node_resources_fit import NodeResourcesFit
from scheduler.plugins.node_unschedulable import NodeUnschedulable
from scheduler.plugins.pod_topology_spread import PodTopologySpread
from scheduler.plugins.taint_toleration import TaintToleration

DEFAULT_SCHEDULER_NAME: Final = "default-scheduler"


@dataclass
class Profile:
    """A scheduler name and its plugins per extension point (``KubeSchedulerProfile``)."""

    scheduler_name: str = DEFAULT_SCHEDULER_NAME
    pre_filter: list[Any] = field(default_factory=list)
    filter: list[Any] = field(default_factory=list)
    pre_score: list[Any] = field(default_factory=list)
    #: (plugin, weight)
    score: list[tuple[Any, int]] = field(default_factory=list)


def default_profile() -> Profile:
    unschedulable, node_name, taints = NodeUnschedulable(), NodeName(), TaintToleration()
    affinity, ports, fit = NodeAffinity(), NodePorts(), NodeResourcesFit()
    spread, inter_pod, images = PodTopologySpread(), InterPodAffinity(), ImageLocality()
    filters = [unschedulable, node_name, taints, affinity, ports, fit, spread, inter_pod]
    return Profile(
        pre_filter=[p for p in filters if hasattr(p, "pre_filter")],
        filter=filters,
        pre_score=[taints, affinity, spread, inter_pod, images],
        score=[
            (taints, 3),
            (affinity, 2),
            (fit, 1),
            (spread, 2),
            (inter_pod, 2),
            (BalancedAllocation(), 1),
            (images, 1),
        ],
    )
