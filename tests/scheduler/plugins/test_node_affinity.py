"""Table tests for NodeAffinity (upstream: nodeaffinity/node_affinity_test.go)."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.framework import Code, CycleState
from scheduler.plugins.node_affinity import REASON, NodeAffinity
from tests.scheduler.builders import info, node, pod


def required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}
    }


def expr(key: str, op: str, *values: str) -> dict[str, Any]:
    return {"matchExpressions": [{"key": key, "operator": op, "values": list(values)}]}


LABELS = {"zone": "a", "disk": "ssd", "cores": "8"}


@pytest.mark.parametrize(
    ("spec", "fits"),
    [
        pytest.param({}, True, id="nothing-required"),
        pytest.param({"nodeSelector": {"zone": "a"}}, True, id="selector-match"),
        pytest.param({"nodeSelector": {"zone": "b"}}, False, id="selector-mismatch"),
        pytest.param({"nodeSelector": {"zone": "a", "gpu": "yes"}}, False, id="selector-needs-all"),
        pytest.param({"affinity": required(expr("zone", "In", "a", "b"))}, True, id="in"),
        pytest.param({"affinity": required(expr("zone", "NotIn", "a"))}, False, id="not-in"),
        pytest.param({"affinity": required(expr("gpu", "NotIn", "yes"))}, True, id="not-in-missing-label"),
        pytest.param({"affinity": required(expr("disk", "Exists"))}, True, id="exists"),
        pytest.param({"affinity": required(expr("disk", "DoesNotExist"))}, False, id="does-not-exist"),
        pytest.param({"affinity": required(expr("cores", "Gt", "4"))}, True, id="gt"),
        pytest.param({"affinity": required(expr("cores", "Lt", "4"))}, False, id="lt"),
        pytest.param({"affinity": required(expr("zone", "Gt", "4"))}, False, id="gt-not-integer"),
        pytest.param(
            {"affinity": required(expr("zone", "In", "b"), expr("disk", "In", "ssd"))},
            True,
            id="terms-are-ored",
        ),
        pytest.param({"affinity": required({})}, False, id="empty-term-matches-nothing"),
        pytest.param({"affinity": required()}, False, id="no-terms-matches-nothing"),
        pytest.param(
            {
                "affinity": required(
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}
                )
            },
            True,
            id="match-fields-name",
        ),
        pytest.param(
            {"nodeSelector": {"zone": "b"}, "affinity": required(expr("zone", "In", "a"))},
            False,
            id="selector-and-affinity",
        ),
    ],
)
def test_filter(spec: dict[str, Any], fits: bool) -> None:
    plugin, state, p = NodeAffinity(), CycleState(), pod(**spec)
    plugin.pre_filter(state, p, [])
    status = plugin.filter(state, p, info(node("n1", labels=LABELS)))
    if fits:
        assert status is None
    else:
        assert status is not None
        assert status.reasons == (REASON,)
        assert status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE


def test_pre_filter_skips_pods_without_requirements() -> None:
    status = NodeAffinity().pre_filter(CycleState(), pod(), [])
    assert status is not None
    assert status.code == Code.SKIP


def test_preferred_score_sums_weights_and_normalizes() -> None:
    preferred = [
        {"weight": 5, "preference": expr("zone", "In", "a")},
        {"weight": 2, "preference": expr("disk", "In", "ssd")},
    ]
    p = pod(affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": preferred}})
    nodes = [
        info(node("both", labels={"zone": "a", "disk": "ssd"})),
        info(node("zone", labels={"zone": "a"})),
        info(node("none")),
    ]
    plugin, state = NodeAffinity(), CycleState()
    assert plugin.pre_score(state, p, nodes) is None
    scores = {n.name: plugin.score(state, p, n) for n in nodes}
    assert scores == {"both": 7, "zone": 5, "none": 0}
    plugin.normalize(state, p, scores)
    assert scores == {"both": 100, "zone": 71, "none": 0}
