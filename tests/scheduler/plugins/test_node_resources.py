"""Table tests for NodeResourcesFit, LeastAllocated and BalancedAllocation, and pod requests.

Upstream: noderesources/fit_test.go, least_allocated_test.go, balanced_allocation_test.go,
component-helpers/resource/helpers_test.go.
"""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.framework import Code, CycleState
from scheduler.nodeinfo import PodInfo
from scheduler.plugins.balanced_allocation import balanced_score
from scheduler.plugins.node_resources_fit import NodeResourcesFit, fits_fast, fits_request, least_allocated
from scheduler.resources import pod_requests
from tests.scheduler.builders import info, node, on, pod

MI = 1024 * 1024


def _container(name: str, cpu: str | None = None, memory: str | None = None, **extra: Any) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"name": name, "image": "x", "resources": {"requests": requests}, **extra}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            {"containers": [_container("a", "100m", "64Mi"), _container("b", "250m")]},
            {"cpu": 350, "memory": 64 * MI},
            id="containers-add",
        ),
        pytest.param(
            {"containers": [_container("a", "100m")], "initContainers": [_container("i", "2")]},
            {"cpu": 2000},
            id="init-container-peak-wins",
        ),
        pytest.param(
            {"containers": [_container("a", "1")], "initContainers": [_container("i", "500m")]},
            {"cpu": 1000},
            id="app-containers-win",
        ),
        pytest.param(
            {
                "containers": [_container("a", "1")],
                "initContainers": [
                    _container("side", "500m", restartPolicy="Always"),
                    _container("i", "1200m"),
                ],
            },
            {"cpu": 1700},
            id="sidecar-adds-and-counts-during-later-init",
        ),
        pytest.param(
            {"containers": [_container("a", "1", "1Gi")], "overhead": {"cpu": "250m", "memory": "120Mi"}},
            {"cpu": 1250, "memory": 1144 * MI},
            id="overhead",
        ),
        pytest.param({"containers": [{"name": "a", "image": "x"}]}, {}, id="no-requests"),
    ],
)
def test_pod_requests(spec: dict[str, Any], expected: dict[str, int]) -> None:
    assert pod_requests({"metadata": {"name": "p"}, "spec": spec}) == expected


def test_non_zero_requests_default_per_container() -> None:
    p = {"metadata": {}, "spec": {"containers": [{"name": "a"}, _container("b", "1")]}}
    assert pod_requests(p, non_zero=True) == {"cpu": 1100, "memory": 400 * MI}


def _fit(p: dict[str, Any], n: dict[str, Any], *existing: dict[str, Any]) -> Any:
    plugin, state = NodeResourcesFit(), CycleState()
    plugin.pre_filter(state, p, [])
    return plugin.filter(state, p, info(n, *[on(n["metadata"]["name"], e) for e in existing]))


@pytest.mark.parametrize(
    ("incoming", "the_node", "existing", "reasons", "code"),
    [
        pytest.param(pod(cpu="1"), node(cpu="2"), [], None, None, id="fits"),
        pytest.param(
            pod(cpu="1"),
            node(cpu="2"),
            [pod("e", cpu="1500m")],
            ("Insufficient cpu",),
            Code.UNSCHEDULABLE,
            id="cpu",
        ),
        pytest.param(
            pod(memory="2Gi"),
            node(memory="3Gi"),
            [pod("e", memory="2Gi")],
            ("Insufficient memory",),
            Code.UNSCHEDULABLE,
            id="memory",
        ),
        pytest.param(
            pod(cpu="1", memory="2Gi"),
            node(cpu="1", memory="2Gi"),
            [pod("e", cpu="1", memory="1")],
            ("Insufficient cpu", "Insufficient memory"),
            Code.UNSCHEDULABLE,
            id="all-shortfalls-reported",
        ),
        pytest.param(
            pod(), node(pods="1"), [pod("e")], ("Too many pods",), Code.UNSCHEDULABLE, id="too-many-pods"
        ),
        pytest.param(
            pod(cpu="8"),
            node(cpu="4"),
            [],
            ("Insufficient cpu",),
            Code.UNSCHEDULABLE_AND_UNRESOLVABLE,
            id="bigger-than-node",
        ),
        pytest.param(pod(cpu="4"), node(cpu="4"), [], None, None, id="exactly-full"),
        pytest.param(pod(), node(cpu="1"), [pod("e", cpu="1")], None, None, id="no-requests-always-fit"),
    ],
)
def test_fit_filter(
    incoming: dict[str, Any],
    the_node: dict[str, Any],
    existing: list[dict[str, Any]],
    reasons: tuple[str, ...] | None,
    code: Code | None,
) -> None:
    status = _fit(incoming, the_node, *existing)
    assert (status.reasons if status else None) == reasons
    assert (status.code if status else None) == code


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        pytest.param("ephemeral-storage", "Insufficient ephemeral-storage", id="ephemeral-storage"),
        pytest.param("nvidia.com/gpu", "Insufficient nvidia.com/gpu", id="extended-resource"),
    ],
)
def test_fit_other_resources(resource: str, reason: str) -> None:
    p = pod()
    p["spec"]["containers"][0]["resources"] = {"requests": {resource: "2"}}
    status = _fit(p, node(extra={resource: "1"}))
    assert status is not None
    assert status.reasons == (reason,)


@pytest.mark.parametrize(
    ("requested_cpu", "requested_memory", "least", "balanced"),
    [
        pytest.param("0", "0", 97, 99, id="empty-node-default-requests"),
        pytest.param("2", "4Gi", 47, 99, id="half-and-half"),
        pytest.param("3", "1Gi", 53, 68, id="cpu-heavy"),
    ],
)
def test_scores(requested_cpu: str, requested_memory: str, least: int, balanced: int) -> None:
    n = info(node(cpu="4", memory="8Gi"), on("n1", pod("e", cpu=requested_cpu, memory=requested_memory)))
    incoming = PodInfo.of(pod())
    assert least_allocated(incoming, n) == least
    assert balanced_score(incoming, n) == balanced


@pytest.mark.parametrize(
    ("the_node", "existing", "incoming"),
    [
        pytest.param(node(cpu="4", memory="8Gi"), [], pod(cpu="1", memory="1Gi"), id="fits"),
        pytest.param(node(cpu="4"), [pod("e", cpu="3500m")], pod(cpu="500m"), id="exactly-full-cpu"),
        pytest.param(node(cpu="4"), [pod("e", cpu="3500m")], pod(cpu="501m"), id="short-of-cpu"),
        pytest.param(node(memory="1Gi"), [pod("e", memory="1Gi")], pod(memory="1"), id="short-of-memory"),
        pytest.param(node(pods="1"), [pod("e")], pod(), id="too-many-pods"),
        pytest.param(node(pods="0"), [], pod(), id="no-pods-allowed"),
        pytest.param(node(cpu="1"), [pod("e", cpu="2")], pod(), id="overcommitted-but-asks-for-nothing"),
        pytest.param(
            node(extra={"example.com/gpu": "1"}),
            [],
            pod(containers=[{"name": "c", "resources": {"requests": {"example.com/gpu": "1"}}}]),
            id="extended-resource-takes-the-general-path",
        ),
        pytest.param(
            node(),
            [],
            pod(containers=[{"name": "c", "resources": {"requests": {"ephemeral-storage": "1Gi"}}}]),
            id="ephemeral-storage-takes-the-general-path",
        ),
    ],
)
def test_fast_path_never_disagrees(
    the_node: dict[str, Any], existing: list[dict[str, Any]], incoming: dict[str, Any]
) -> None:
    """``fits_fast`` may only say "fits" when the general ``fits_request`` finds nothing short."""
    n = info(the_node, *[on("n1", p) for p in existing])
    p = PodInfo.of(incoming)
    if fits_fast(p, n):
        assert fits_request(p.requests, n) == []
    expected = NodeResourcesFit().filter(CycleState(), incoming, n)
    assert (expected is None) == (fits_request(p.requests, n) == [])
