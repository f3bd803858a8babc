"""One scheduling decision: filter → score → select, for one pod over a snapshot of nodes.

::

    PreFilter (once)  ──reject──▶ every node fails with that status
        │
    Filter, node by node, starting where the last pod's search stopped (round robin),
    until `num_feasible_nodes_to_find` nodes fit or all were tried
        │ no feasible node ──▶ FitError (Diagnosis: node → first rejecting status)
        │ one feasible node ──▶ that node, no scoring needed
    PreScore (once) ─▶ Score (per plugin, per node) ─▶ NormalizeScore ─▶ * weight ─▶ sum
        │
    select the highest total; ties broken uniformly at random (reservoir sampling)

For large clusters not every node is filtered: ``percentageOfNodesToScore`` defaults
to an adaptive ``50 - nodes/125`` percent (at least 5 %, at least 100 nodes), because
"good enough, quickly" beats "best, slowly" when pods keep arriving.

Everything here is synchronous and pure over the NodeInfos it is handed: the caller
(scheduler.py) runs it on the event loop between two awaits, so the cache cannot
change underneath it.

Mirrors: pkg/scheduler/schedule_one.go (``schedulePod``, ``findNodesThatFitPod``,
``findNodesThatPassFilters``, ``numFeasibleNodesToFind``, ``prioritizeNodes``,
``selectHost``) and framework/runtime/framework.go (``RunFilterPlugins``, ``RunScorePlugins``).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from scheduler.fiterror import Diagnosis
from scheduler.framework import Code, CycleState, Pod, Status
from scheduler.nodeinfo import NodeInfo
from scheduler.profile import Profile

MIN_FEASIBLE_NODES_TO_FIND: Final = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: Final = 5


def num_feasible_nodes_to_find(num_all_nodes: int, percentage: int = 0) -> int:
    """How many fitting nodes are enough (``numFeasibleNodesToFind``)."""
    if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND or percentage >= 100:
        return num_all_nodes
    if percentage == 0:
        percentage = max(50 - num_all_nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    return max(num_all_nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


@dataclass
class ScheduleResult:
    node: str | None
    evaluated: int
    feasible: int
    diagnosis: Diagnosis


def run_pre_filter(profile: Profile, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
    for plugin in profile.pre_filter:
        status = plugin.pre_filter(state, pod, nodes)
        if status is None:
            continue
        if status.code == Code.SKIP:
            state.skip_filter.add(plugin.name)
        elif not status.is_success():
            return status.with_plugin(plugin.name)
    return None


def run_filters(profile: Profile, state: CycleState, pod: Pod, node: NodeInfo) -> Status | None:
    """The first plugin that rejects ``node`` decides (``RunFilterPlugins``)."""
    for plugin in profile.filter:
        if plugin.name in state.skip_filter:
            continue
        status = plugin.filter(state, pod, node)
        if status is not None:
            return status.with_plugin(plugin.name)
    return None


class Algorithm:
    """Stateful only in the round-robin start index (``nextStartNodeIndex``)."""

    def __init__(
        self, profile: Profile, percentage_of_nodes_to_score: int = 0, rng: random.Random | None = None
    ):
        self.profile = profile
        self.percentage = percentage_of_nodes_to_score
        self.next_start_node_index = 0
        self.rng = rng or random.Random()

    def find_nodes_that_fit(
        self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]
    ) -> tuple[list[NodeInfo], Diagnosis, int]:
        diagnosis = Diagnosis()
        rejected = run_pre_filter(self.profile, state, pod, nodes)
        if rejected is not None:
            diagnosis.pre_filter_msg = rejected.message
            diagnosis.unschedulable_plugins.add(rejected.plugin)
            for node in nodes:
                diagnosis.node_to_status[node.name] = rejected
            return [], diagnosis, 0
        # Bind the active filters once: this loop is the scheduler's hot path.
        filters = [(p.name, p.filter) for p in self.profile.filter if p.name not in state.skip_filter]
        wanted = num_feasible_nodes_to_find(len(nodes), self.percentage)
        feasible: list[NodeInfo] = []
        n, evaluated = len(nodes), 0
        start = self.next_start_node_index % n if n else 0
        # Round robin: start where the previous pod's search stopped, wrap around once.
        for node in itertools.chain(itertools.islice(nodes, start, None), itertools.islice(nodes, start)):
            evaluated += 1
            for name, check in filters:
                status = check(state, pod, node)
                if status is not None:
                    diagnosis.node_to_status[node.name] = status.with_plugin(name)
                    diagnosis.unschedulable_plugins.add(name)
                    break
            else:
                feasible.append(node)
                if len(feasible) >= wanted:
                    break
        if n:
            self.next_start_node_index = (start + evaluated) % n
        return feasible, diagnosis, evaluated

    def prioritize(self, state: CycleState, pod: Pod, feasible: Sequence[NodeInfo]) -> dict[str, int]:
        """Weighted sum of normalized scores per node (``prioritizeNodes``, ``RunScorePlugins``).

        Scores are kept in lists aligned with ``feasible``; a node-name dict is built
        only for plugins that normalize (their protocol rewrites one in place).
        """
        for plugin in self.profile.pre_score:
            status = plugin.pre_score(state, pod, feasible)
            if status is not None and status.code == Code.SKIP:
                state.skip_score.add(plugin.name)
        names = [node.name for node in feasible]
        totals = [0] * len(feasible)
        for plugin, weight in self.profile.score:
            if plugin.name in state.skip_score:
                continue
            score = plugin.score
            raw: Iterable[int] = [score(state, pod, node) for node in feasible]
            normalize = getattr(plugin, "normalize", None)
            if normalize is not None:
                by_name = dict(zip(names, raw, strict=True))
                normalize(state, pod, by_name)
                raw = by_name.values()  # same order: normalize rewrites values in place
            totals = [t + s * weight for t, s in zip(totals, raw, strict=True)]
        return dict(zip(names, totals, strict=True))

    def select_host(self, totals: dict[str, int]) -> str:
        """Highest score; among equals each is picked with equal probability.

        Upstream draws once per tie (reservoir sampling); one draw among the tied
        names gives the same uniform choice, and identical empty nodes tie by hundreds.
        """
        if not totals:
            return ""
        best_score = max(totals.values())
        ties = [name for name, score in totals.items() if score == best_score]
        return ties[self.rng.randrange(len(ties))] if len(ties) > 1 else ties[0]

    def schedule(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> ScheduleResult:
        feasible, diagnosis, evaluated = self.find_nodes_that_fit(state, pod, nodes)
        if not feasible:
            return ScheduleResult(None, evaluated, 0, diagnosis)
        if len(feasible) == 1:
            return ScheduleResult(feasible[0].name, evaluated, 1, diagnosis)
        totals = self.prioritize(state, pod, feasible)
        return ScheduleResult(self.select_host(totals), evaluated, len(feasible), diagnosis)
