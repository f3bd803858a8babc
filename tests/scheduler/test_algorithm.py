"""One scheduling decision over a handful of nodes (upstream: schedule_one_test.go)."""

from __future__ import annotations

import random

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
        (10, 0, 10),
        (99, 0, 99),
        (100, 0, 100),
        (1000, 0, 420),
        (5000, 0, 500),
        (6000, 0, 300),
        (200, 10, 100),
        (1000, 100, 1000),
    ],
    ids=["tiny", "below-min", "min", "1k-adaptive", "5k-adaptive", "floor-5-percent", "at-least-100", "all"],
)
def test_num_feasible_nodes_to_find(nodes: int, percentage: int, expected: int) -> None:
    assert num_feasible_nodes_to_find(nodes, percentage) == expected


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
