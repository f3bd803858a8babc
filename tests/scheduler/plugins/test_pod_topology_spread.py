"""Table tests for PodTopologySpread (upstream: podtopologyspread/filtering_test.go, scoring_test.go)."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.cache import Cache
from scheduler.framework import Code, CycleState
from scheduler.plugins.pod_topology_spread import MISSING_LABEL_REASON, REASON, PodTopologySpread
from tests.scheduler.builders import node, on, pod

ZONE = "topology.kubernetes.io/zone"


def constraint(key: str = ZONE, skew: int = 1, when: str = "DoNotSchedule", **extra: Any) -> dict[str, Any]:
    return {
        "maxSkew": skew,
        "topologyKey": key,
        "whenUnsatisfiable": when,
        "labelSelector": {"matchLabels": {"app": "web"}},
        **extra,
    }


def web(name: str) -> dict[str, Any]:
    return pod(name, labels={"app": "web"})


def cluster(placed: dict[str, int], extra_nodes: tuple[dict[str, Any], ...] = ()) -> Cache:
    """Nodes a1, a2 (zone a), b1 (zone b); ``placed`` = node -> number of web pods."""
    cache = Cache()
    for name, zone in (("a1", "a"), ("a2", "a"), ("b1", "b")):
        cache.add_node(node(name, labels={ZONE: zone}))
    for n in extra_nodes:
        cache.add_node(n)
    for node_name, count in placed.items():
        for i in range(count):
            cache.add_pod(on(node_name, web(f"{node_name}-{i}")))
    return cache


def verdicts(cache: Cache, incoming: dict[str, Any]) -> dict[str, str | None]:
    plugin, state = PodTopologySpread(), CycleState(cache)
    assert plugin.pre_filter(state, incoming, cache.node_infos()) is None
    out = {}
    for n in cache.node_infos():
        s = plugin.filter(state, incoming, n)
        out[n.name] = s.reasons[0] if s else None
    return out


@pytest.mark.parametrize(
    ("placed", "constraints", "expected"),
    [
        pytest.param({}, [constraint()], {"a1": None, "a2": None, "b1": None}, id="empty-cluster"),
        pytest.param({"a1": 1}, [constraint()], {"a1": REASON, "a2": REASON, "b1": None}, id="zone-skew"),
        pytest.param({"a1": 1}, [constraint(skew=2)], {"a1": None, "a2": None, "b1": None}, id="max-skew-2"),
        pytest.param(
            {"a1": 1},
            [constraint("kubernetes.io/hostname")],
            {"a1": REASON, "a2": None, "b1": None},
            id="hostname",
        ),
        pytest.param(
            {"a1": 1, "b1": 1},
            [constraint(), constraint("kubernetes.io/hostname")],
            {"a1": REASON, "a2": None, "b1": REASON},
            id="two-constraints",
        ),
        pytest.param(
            {"b1": 1},
            [constraint(minDomains=3)],
            {"a1": None, "a2": None, "b1": REASON},
            id="min-domains-treats-min-as-zero",
        ),
    ],
)
def test_filter(
    placed: dict[str, int], constraints: list[dict[str, Any]], expected: dict[str, str | None]
) -> None:
    assert (
        verdicts(cluster(placed), pod(labels={"app": "web"}, topologySpreadConstraints=constraints))
        == expected
    )


def test_node_without_the_label_is_unresolvable() -> None:
    cache = cluster({}, (node("bare"),))
    plugin, state = PodTopologySpread(), CycleState(cache)
    p = pod(labels={"app": "web"}, topologySpreadConstraints=[constraint()])
    plugin.pre_filter(state, p, cache.node_infos())
    status = plugin.filter(state, p, cache.get("bare"))  # type: ignore[arg-type]
    assert status is not None
    assert (status.code, status.reasons) == (Code.UNSCHEDULABLE_AND_UNRESOLVABLE, (MISSING_LABEL_REASON,))


def test_node_affinity_policy_honor_ignores_excluded_nodes() -> None:
    # b1 has 0 pods but is excluded by the nodeSelector, so the minimum is zone a's count.
    cache = cluster({"a1": 1})
    p = pod(labels={"app": "web"}, nodeSelector={ZONE: "a"}, topologySpreadConstraints=[constraint()])
    assert verdicts(cache, p) == {"a1": None, "a2": None, "b1": None}


def test_schedule_anyway_scores_emptier_domains_higher() -> None:
    cache = cluster({"a1": 2, "b1": 0})
    p = pod(labels={"app": "web"}, topologySpreadConstraints=[constraint(when="ScheduleAnyway")])
    plugin, state = PodTopologySpread(), CycleState(cache)
    skip = plugin.pre_filter(CycleState(cache), p, cache.node_infos())
    assert skip is not None
    assert skip.code == Code.SKIP
    assert plugin.pre_score(state, p, cache.node_infos()) is None
    scores = {n.name: plugin.score(state, p, n) for n in cache.node_infos()}
    assert scores == {"a1": 3, "a2": 3, "b1": 0}  # 2 * log(2 + 2) rounds to 3
    plugin.normalize(state, p, scores)
    assert scores == {"a1": 0, "a2": 0, "b1": 100}
