"""The FailedScheduling message: why no node fits, as one histogram sentence.

Every node that failed a filter contributes its reasons; equal reasons are counted and
the "<count> <reason>" strings sorted, so three nodes give::

    0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: },
    2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.

(one line). The format is ``0/N nodes are available: <PreFilter message>. <filter
histogram>. <PostFilter message>.``: a PreFilter rejection replaces the histogram
(every node got the same status), and the PostFilter part is what preemption said.

Mirrors: pkg/scheduler/framework/types.go (``FitError.Error``, ``Diagnosis``,
``NoNodeAvailableMsg``, ``SeparatorFormat``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from scheduler.framework import Status

NO_NODE_AVAILABLE: str = "0/{} nodes are available"


@dataclass
class Diagnosis:
    """Why a pod did not fit (framework.Diagnosis)."""

    #: node name -> the first rejecting Status on that node
    node_to_status: dict[str, Status] = field(default_factory=dict)
    #: plugins that rejected the pod somewhere (decides which cluster events re-queue it)
    unschedulable_plugins: set[str] = field(default_factory=set)
    pre_filter_msg: str = ""
    post_filter_msg: str = ""


def fit_error_message(num_all_nodes: int, diagnosis: Diagnosis) -> str:
    message = NO_NODE_AVAILABLE.format(num_all_nodes) + ":"
    if diagnosis.pre_filter_msg:
        message += f" {diagnosis.pre_filter_msg}."
    else:
        reasons: Counter[str] = Counter()
        for status in diagnosis.node_to_status.values():
            reasons.update(status.reasons)
        histogram = sorted(f"{count} {reason}" for reason, count in reasons.items())
        if histogram:
            message += f" {', '.join(histogram)}."
    if diagnosis.post_filter_msg:
        # The preemption message is itself a full sentence: one period, not two.
        message += f" {diagnosis.post_filter_msg.rstrip('.')}."
    return message
