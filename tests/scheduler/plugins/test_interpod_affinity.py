"""Table tests for InterPodAffinity (upstream: interpodaffinity/filtering_test.go, scoring_test.go)."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.cache import Cache
from scheduler.framework import Code, CycleState
from scheduler.plugins.interpod_affinity import (
    AFFINITY_REASON,
    ANTI_AFFINITY_REASON,
    EXISTING_ANTI_AFFINITY_REASON,
    InterPodAffinity,
)
from tests.scheduler.builders import node, on, pod

ZONE = "topology.kubernetes.io/zone"


def term(app: str, key: str = ZONE) -> dict[str, Any]:
    return {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}


def affinity(kind: str, *terms: dict[str, Any]) -> dict[str, Any]:
    return {kind: {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}


def cluster(*pods_on: tuple[str, dict[str, Any]]) -> Cache:
    cache = Cache()
    for name, zone in (("a1", "a"), ("a2", "a"), ("b1", "b")):
        cache.add_node(node(name, labels={ZONE: zone}))
    cache.add_node(node("nozone"))
    for node_name, p in pods_on:
        cache.add_pod(on(node_name, p))
    return cache


def verdicts(cache: Cache, incoming: dict[str, Any]) -> dict[str, str | None]:
    plugin, state = InterPodAffinity(), CycleState(cache)
    status = plugin.pre_filter(state, incoming, cache.node_infos())
    if status is not None and status.code == Code.SKIP:
        return {n.name: None for n in cache.node_infos()}
    out = {}
    for n in cache.node_infos():
        s = plugin.filter(state, incoming, n)
        out[n.name] = s.reasons[0] if s else None
    return out


@pytest.mark.parametrize(
    ("existing", "incoming", "expected"),
    [
        pytest.param(
            [("a1", pod("db", labels={"app": "db"}))],
            pod(affinity=affinity("podAffinity", term("db"))),
            {"a1": None, "a2": None, "b1": AFFINITY_REASON, "nozone": AFFINITY_REASON},
            id="affinity-same-zone",
        ),
        pytest.param(
            [],
            pod(labels={"app": "db"}, affinity=affinity("podAffinity", term("db"))),
            {"a1": None, "a2": None, "b1": None, "nozone": AFFINITY_REASON},
            id="first-pod-of-self-affine-group",
        ),
        pytest.param(
            [],
            pod(affinity=affinity("podAffinity", term("db"))),
            {"a1": AFFINITY_REASON, "a2": AFFINITY_REASON, "b1": AFFINITY_REASON, "nozone": AFFINITY_REASON},
            id="affinity-nothing-matches",
        ),
        pytest.param(
            [("a1", pod("web", labels={"app": "web"}))],
            pod(labels={"app": "web"}, affinity=affinity("podAntiAffinity", term("web"))),
            {"a1": ANTI_AFFINITY_REASON, "a2": ANTI_AFFINITY_REASON, "b1": None, "nozone": None},
            id="anti-affinity-zone",
        ),
        pytest.param(
            [("a1", pod("web", labels={"app": "web"}))],
            pod(affinity=affinity("podAntiAffinity", term("web", "kubernetes.io/hostname"))),
            {"a1": ANTI_AFFINITY_REASON, "a2": None, "b1": None, "nozone": None},
            id="anti-affinity-hostname",
        ),
        pytest.param(
            [
                (
                    "b1",
                    pod("loner", labels={"app": "loner"}, affinity=affinity("podAntiAffinity", term("web"))),
                )
            ],
            pod(labels={"app": "web"}),
            {"a1": None, "a2": None, "b1": EXISTING_ANTI_AFFINITY_REASON, "nozone": None},
            id="existing-pods-anti-affinity",
        ),
        pytest.param(
            [("a1", pod("db", namespace="other", labels={"app": "db"}))],
            pod(affinity=affinity("podAntiAffinity", term("db"))),
            {"a1": None, "a2": None, "b1": None, "nozone": None},
            id="other-namespace-does-not-count",
        ),
        pytest.param(
            [("a1", pod("db", namespace="other", labels={"app": "db"}))],
            pod(affinity=affinity("podAntiAffinity", {**term("db"), "namespaceSelector": {}})),
            {"a1": ANTI_AFFINITY_REASON, "a2": ANTI_AFFINITY_REASON, "b1": None, "nozone": None},
            id="empty-namespace-selector-means-all",
        ),
    ],
)
def test_filter(
    existing: list[tuple[str, dict[str, Any]]], incoming: dict[str, Any], expected: dict[str, str | None]
) -> None:
    assert verdicts(cluster(*existing), incoming) == expected


def test_affinity_failure_is_unresolvable_and_anti_affinity_is_not() -> None:
    cache = cluster(("a1", pod("web", labels={"app": "web"})))
    plugin = InterPodAffinity()
    for spec, code in (
        (affinity("podAffinity", term("db")), Code.UNSCHEDULABLE_AND_UNRESOLVABLE),
        (affinity("podAntiAffinity", term("web")), Code.UNSCHEDULABLE),
    ):
        state = CycleState(cache)
        p = pod(affinity=spec)
        plugin.pre_filter(state, p, cache.node_infos())
        status = plugin.filter(state, p, cache.get("a1"))  # type: ignore[arg-type]
        assert status is not None
        assert status.code == code


def test_preferred_scores() -> None:
    cache = cluster(("a1", pod("db", labels={"app": "db"})), ("b1", pod("web", labels={"app": "web"})))
    preferred = {
        "podAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 10, "podAffinityTerm": term("db")}]
        },
        "podAntiAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 5, "podAffinityTerm": term("web")}]
        },
    }
    p = pod(affinity=preferred)
    plugin, state = InterPodAffinity(), CycleState(cache)
    assert plugin.pre_score(state, p, cache.node_infos()) is None
    scores = {n.name: plugin.score(state, p, n) for n in cache.node_infos()}
    assert scores == {"a1": 10, "a2": 10, "b1": -5, "nozone": 0}
    plugin.normalize(state, p, scores)
    assert scores == {"a1": 100, "a2": 100, "b1": 0, "nozone": 33}
