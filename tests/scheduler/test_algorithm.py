"""One scheduling decision over a handful of nodes (upstream: schedule_one_test.go)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from scheduler.algorithm import Algorithm, num_feasible_nodes_to_find
from scheduler.cache import Cache
from scheduler.fiterror import fit_error_message
from scheduler.framework import CycleState
from scheduler.profile import default_profile
from tests.scheduler.builders import node, on, pod

CONTROL_PLANE = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("nodes", "percentage", "expected"),
    [
        # The cases of TestNumFeasibleNodesToFind in upstream's schedule_one_test.go.
        pytest.param(10, 0, 10, id="upstream-not-set-few-nodes"),
        pytest.param(10, 40, 10, id="upstream-set-few-nodes"),
        pytest.param(1000, 0, 420, id="upstream-not-set-1000-nodes"),
        pytest.param(1000, 40, 400, id="upstream-set-1000-nodes"),
        pytest.param(6000, 0, 300, id="upstream-not-set-more-than-50x125"),
        pytest.param(6000, 40, 2400, id="upstream-set-more-than-50x125"),
        # The edges of the formula: max(50 - nodes/125, 5) %, at least 100 nodes.
        pytest.param(99, 0, 99, id="below-min-all"),
        pytest.param(100, 0, 100, id="min"),
        pytest.param(125, 0, 100, id="49-percent-floored-to-100"),
        pytest.param(250, 0, 120, id="48-percent"),
        pytest.param(5000, 0, 500, id="5k-adaptive-10-percent"),
        pytest.param(5625, 0, 281, id="last-above-5-percent"),
        pytest.param(20000, 0, 1000, id="floor-5-percent"),
        pytest.param(200, 10, 100, id="at-least-100"),
        pytest.param(1000, 100, 1000, id="all"),
    ],
)
def test_num_feasible_nodes_to_find(nodes: int, percentage: int, expected: int) -> None:
    assert num_feasible_nodes_to_find(nodes, percentage) == expected


@pytest.mark.parametrize(
    ("totals", "expected"),
    [
        pytest.param({}, {""}, id="no-nodes"),
        pytest.param({"a": 1}, {"a"}, id="one"),
        pytest.param({"a": 1, "b": 3, "c": 2}, {"b"}, id="highest-wins"),
        pytest.param({"a": 3, "b": 3, "c": 2}, {"a", "b"}, id="ties-both-possible"),
    ],
)
def test_select_host(totals: dict[str, int], expected: set[str]) -> None:
    algo = Algorithm(default_profile(), rng=random.Random(0))
    assert {algo.select_host(totals) for _ in range(50)} == expected


def test_select_host_is_uniform_among_ties() -> None:
    algo = Algorithm(default_profile(), rng=random.Random(7))
    picks = Counter(algo.select_host({"a": 5, "b": 5, "c": 5, "d": 1}) for _ in range(3000))
    assert set(picks) == {"a", "b", "c"}
    assert all(900 < n < 1100 for n in picks.values())


def three_nodes() -> Cache:
    cache = Cache()
    cache.add_node(node("control-plane", cpu="4", taints=[CONTROL_PLANE]))
    cache.add_node(node("node-1", cpu="1"))
    cache.add_node(node("node-2", cpu="1"))
    return cache


def test_the_issue_example_message() -> None:
    cache = three_nodes()
    algo = Algorithm(default_profile())
    result = algo.schedule(CycleState(cache), pod(cpu="2"), cache.node_infos())
    assert result.node is None
    assert fit_error_message(3, result.diagnosis) == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 Insufficient cpu."
    )
    assert result.diagnosis.unschedulable_plugins == {"TaintToleration", "NodeResourcesFit"}


def test_prefers_the_emptier_node() -> None:
    cache = three_nodes()
    cache.add_pod(on("node-1", pod("busy", cpu="800m")))
    result = Algorithm(default_profile()).schedule(CycleState(cache), pod(cpu="100m"), cache.node_infos())
    assert result.node == "node-2"


def test_spreads_identical_pods() -> None:
    cache = Cache()
    for i in range(4):
        cache.add_node(node(f"n{i}", cpu="8", memory="16Gi"))
    algo = Algorithm(default_profile(), rng=random.Random(1))
    for i in range(8):
        p = pod(f"p{i}", cpu="500m", memory="512Mi")
        result = algo.schedule(CycleState(cache), p, cache.node_infos())
        assert result.node is not None
        cache.assume_pod(p, result.node)
    assert sorted(len(n.pods) for n in cache.node_infos()) == [2, 2, 2, 2]


def test_round_robin_start_and_early_stop_on_large_clusters() -> None:
    cache = Cache()
    for i in range(1000):
        cache.add_node(node(f"n{i:04}"))
    algo = Algorithm(default_profile())
    first = algo.schedule(CycleState(cache), pod("a"), cache.node_infos())
    assert (first.evaluated, first.feasible) == (420, 420)
    assert algo.next_start_node_index == 420


def test_wraps_around_from_the_round_robin_start() -> None:
    cache = Cache()
    for i in range(300):
        cache.add_node(node(f"n{i:04}"))
    algo = Algorithm(default_profile(), percentage_of_nodes_to_score=50)
    algo.next_start_node_index = 250
    result = algo.schedule(CycleState(cache), pod("a"), cache.node_infos())
    assert (result.evaluated, result.feasible) == (150, 150)
    assert algo.next_start_node_index == 100  # 250 + 150 wrapped around 300


def test_skips_plugins_with_nothing_to_do() -> None:
    """No taint, no cordon, no affinity, no spread, no images: only the resource checks run."""
    cache = three_nodes()
    cache.remove_node("control-plane")
    state = CycleState(cache)
    Algorithm(default_profile()).schedule(state, pod(cpu="100m"), cache.node_infos())
    assert state.skip_filter == {
        "NodeUnschedulable",
        "NodeName",
        "TaintToleration",
        "NodeAffinity",
        "NodePorts",
        "PodTopologySpread",
        "InterPodAffinity",
    }
    assert state.skip_score == {
        "TaintToleration",
        "NodeAffinity",
        "PodTopologySpread",
        "InterPodAffinity",
        "ImageLocality",
    }


def test_a_taint_anywhere_turns_the_taint_checks_on() -> None:
    cache = three_nodes()
    state = CycleState(cache)
    Algorithm(default_profile()).schedule(state, pod(cpu="100m"), cache.node_infos())
    assert "TaintToleration" not in state.skip_filter
