"""The scheduling framework: extension points, Status, CycleState.

kube-scheduler places one pod at a time. For that pod it runs a fixed pipeline of
*extension points*, and every scheduling feature is a *plugin* that implements a few
of them::

    PreFilter   once per pod: precompute what Filter needs (or say "I have nothing to check": Skip)
    Filter      once per node: can the pod run here?  (a Status: Success or Unschedulable + reasons)
    PreScore    once per pod, over the feasible nodes: precompute what Score needs
    Score       once per feasible node: how good is this node, 0..100 (after NormalizeScore)
    Normalize   once per pod: map the raw scores of one plugin onto 0..100

Each extension point is a tiny protocol below; a plugin module (``scheduler/plugins/``)
holds a name, its reason strings, pure functions over (pod, NodeInfo), and a small
class that plugs those functions into the extension points it needs.

``Status`` carries a ``Code`` and human reasons; the reasons are what users read in
``kubectl describe pod`` (see fiterror.py). ``CycleState`` is the per-pod scratch space
PreFilter writes and Filter reads, discarded when the cycle ends.

Mirrors: pkg/scheduler/framework/interface.go (Code, Status, the *Plugin interfaces),
pkg/scheduler/framework/cycle_state.go.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from scheduler.nodeinfo import NodeInfo

Pod = dict[str, Any]
Node = dict[str, Any]

#: Scores are integers in [MIN_NODE_SCORE, MAX_NODE_SCORE] after normalization.
MIN_NODE_SCORE: Final = 0
MAX_NODE_SCORE: Final = 100


class Code(enum.IntEnum):
    """Why a plugin said what it said (framework.Code)."""

    SUCCESS = 0
    #: Something broke (not the pod's fault); the pod is retried with backoff.
    ERROR = 1
    #: Does not fit now, but preempting pods on this node might help.
    UNSCHEDULABLE = 2
    #: Does not fit, and preemption cannot change that (wrong labels, a taint, ...).
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3
    #: From PreFilter/PreScore: "nothing for me to do for this pod"; the plugin's
    #: Filter/Score is then not called at all this cycle.
    SKIP = 5


@dataclass(frozen=True, slots=True)
class Status:
    """A plugin's verdict: a code, the reasons users will read, the plugin that said it."""

    code: Code
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @property
    def message(self) -> str:
        return ", ".join(self.reasons)

    def is_success(self) -> bool:
        return self.code == Code.SUCCESS

    def is_rejected(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    def with_plugin(self, plugin: str) -> Status:
        return Status(self.code, self.reasons, plugin)


#: Filters return ``None`` for success: the hot path allocates nothing when a node fits.
SUCCESS: Final = Status(Code.SUCCESS)
SKIP: Final = Status(Code.SKIP)


def unschedulable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE, reasons)


def unresolvable(*reasons: str) -> Status:
    return Status(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons)


def error(message: str) -> Status:
    return Status(Code.ERROR, (message,))


class Snapshot(Protocol):
    """The cluster as the plugins see it during one cycle (framework.SharedLister)."""

    def node_infos(self) -> Sequence[NodeInfo]: ...

    def num_nodes_with_image(self, image: str) -> int: ...

    def namespace_labels(self, namespace: str) -> dict[str, str]: ...

    def have_pods_with_affinity(self, nodes: Sequence[NodeInfo]) -> bool:
        """May any of ``nodes`` hold a pod with (anti-)affinity terms? (``HavePodsWithAffinityList``)

        A snapshot may answer from running totals instead of walking ``nodes``; a
        ``True`` that turns out wrong only costs time, a ``False`` must be right.
        """
        ...

    def have_pods_with_required_anti_affinity(self, nodes: Sequence[NodeInfo]) -> bool:
        """The same for required anti-affinity (``HavePodsWithRequiredAntiAffinityList``)."""
        ...

    def have_tainted_nodes(self, nodes: Sequence[NodeInfo]) -> bool:
        """May any of ``nodes`` carry a taint? (lets TaintToleration Skip; not upstream)"""
        ...

    def have_unschedulable_nodes(self, nodes: Sequence[NodeInfo]) -> bool:
        """May any of ``nodes`` be cordoned? (lets NodeUnschedulable Skip; not upstream)"""
        ...


class EmptySnapshot:
    def node_infos(self) -> Sequence[NodeInfo]:
        return ()

    def num_nodes_with_image(self, image: str) -> int:
        return 0

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        return {}

    def have_pods_with_affinity(self, nodes: Sequence[NodeInfo]) -> bool:
        return any(n.pods_with_affinity for n in nodes)

    def have_pods_with_required_anti_affinity(self, nodes: Sequence[NodeInfo]) -> bool:
        return any(n.pods_with_required_anti_affinity for n in nodes)

    def have_tainted_nodes(self, nodes: Sequence[NodeInfo]) -> bool:
        return any(n.taints for n in nodes)

    def have_unschedulable_nodes(self, nodes: Sequence[NodeInfo]) -> bool:
        return any(n.unschedulable for n in nodes)


class CycleState:
    """Per-pod scratch space for one scheduling cycle (framework.CycleState).

    PreFilter/PreScore ``write`` under the plugin's name; Filter/Score ``read`` it.
    ``skip_filter`` / ``skip_score`` name the plugins that answered Skip.
    """

    __slots__ = ("_data", "pod_info", "skip_filter", "skip_score", "snapshot")

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self._data: dict[str, Any] = {}
        self.skip_filter: set[str] = set()
        self.skip_score: set[str] = set()
        #: The cluster as this cycle sees it (the handle's SnapshotSharedLister upstream).
        self.snapshot: Snapshot = snapshot if snapshot is not None else EmptySnapshot()
        #: The pod being scheduled, parsed once (``nodeinfo.cycle_pod_info``): every
        #: plugin reads it on every node, so it is a slot rather than a ``read``.
        self.pod_info: Any = None

    def write(self, key: str, value: Any) -> None:
        self._data[key] = value

    def read(self, key: str) -> Any:
        return self._data.get(key)


# --- The extension points: each a tiny protocol. A plugin implements the ones it needs. ---


class Plugin(Protocol):
    name: str


class PreFilterPlugin(Plugin, Protocol):
    def pre_filter(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        """Precompute for Filter; ``SKIP`` to opt out; a rejection fails every node at once."""
        ...


class FilterPlugin(Plugin, Protocol):
    def filter(self, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
        """``None`` when the pod fits on ``node``, else why not."""
        ...


class PreScorePlugin(Plugin, Protocol):
    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None: ...


class ScorePlugin(Plugin, Protocol):
    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int: ...


class NormalizeScorePlugin(Plugin, Protocol):
    def normalize(self, state: CycleState, pod: Pod, scores: dict[str, int]) -> None:
        """Rewrite ``scores`` (node name → raw score) in place onto 0..MAX_NODE_SCORE."""
        ...


def default_normalize_score(scores: dict[str, int], reverse: bool = False) -> None:
    """Scale so the best node gets 100 (``reverse``: the best gets 0) (helper.DefaultNormalizeScore)."""
    highest = max(scores.values(), default=0)
    if highest == 0:
        if reverse:
            for name in scores:
                scores[name] = MAX_NODE_SCORE
        return
    for name, score in scores.items():
        scaled = MAX_NODE_SCORE * score // highest
        scores[name] = MAX_NODE_SCORE - scaled if reverse else scaled
