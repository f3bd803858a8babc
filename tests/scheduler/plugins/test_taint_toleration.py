"""Table tests for TaintToleration (upstream: tainttoleration/taint_toleration_test.go)."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.framework import CycleState
from scheduler.plugins.taint_toleration import TaintToleration, tolerates
from tests.scheduler.builders import info, node, pod

CONTROL_PLANE = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
GPU = {"key": "gpu", "value": "true", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("toleration", "taint", "expected"),
    [
        pytest.param({"key": "gpu", "value": "true", "effect": "NoSchedule"}, GPU, True, id="equal"),
        pytest.param({"key": "gpu", "operator": "Equal", "value": "false"}, GPU, False, id="value-differs"),
        pytest.param({"key": "gpu", "operator": "Exists"}, GPU, True, id="exists-any-effect"),
        pytest.param(
            {"key": "gpu", "operator": "Exists", "effect": "NoExecute"}, GPU, False, id="effect-differs"
        ),
        pytest.param({"operator": "Exists"}, GPU, True, id="empty-key-exists-tolerates-all"),
        pytest.param({"key": "other", "operator": "Exists"}, GPU, False, id="key-differs"),
        pytest.param(
            {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists"},
            CONTROL_PLANE,
            True,
            id="no-value",
        ),
        pytest.param({"key": "gpu", "operator": "Bogus", "value": "true"}, GPU, False, id="unknown-operator"),
    ],
)
def test_tolerates(toleration: dict[str, Any], taint: dict[str, Any], expected: bool) -> None:
    assert tolerates(toleration, taint) is expected


@pytest.mark.parametrize(
    ("taints", "tolerations", "reason"),
    [
        pytest.param([], [], None, id="no-taints"),
        pytest.param(
            [CONTROL_PLANE],
            [],
            "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",
            id="control-plane",
        ),
        pytest.param([GPU], [], "node(s) had untolerated taint {gpu: true}", id="key-value"),
        pytest.param([GPU], [{"key": "gpu", "operator": "Exists"}], None, id="tolerated"),
        pytest.param(
            [{"key": "k", "value": "v", "effect": "NoExecute"}],
            [],
            "node(s) had untolerated taint {k: v}",
            id="no-execute",
        ),
        pytest.param(
            [{"key": "k", "effect": "PreferNoSchedule"}], [], None, id="prefer-no-schedule-is-not-filtered"
        ),
        pytest.param(
            [GPU, CONTROL_PLANE],
            [{"key": "gpu", "operator": "Exists"}],
            "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }",
            id="second-untolerated",
        ),
    ],
)
def test_filter(taints: list[dict[str, Any]], tolerations: list[dict[str, Any]], reason: str | None) -> None:
    status = TaintToleration().filter(CycleState(), pod(tolerations=tolerations), info(node(taints=taints)))
    assert (status.reasons[0] if status else None) == reason


def test_score_prefers_fewer_untolerated_prefer_no_schedule_taints() -> None:
    prefer = [{"key": f"k{i}", "effect": "PreferNoSchedule"} for i in range(2)]
    nodes = {
        "clean": info(node("clean")),
        "one": info(node("one", taints=prefer[:1])),
        "two": info(node("two", taints=prefer)),
    }
    plugin, p = (
        TaintToleration(),
        pod(tolerations=[{"key": "k1", "operator": "Exists", "effect": "PreferNoSchedule"}]),
    )
    scores = {name: plugin.score(CycleState(), p, n) for name, n in nodes.items()}
    assert scores == {"clean": 0, "one": 1, "two": 1}
    plugin.normalize(CycleState(), p, scores)
    assert scores == {"clean": 100, "one": 0, "two": 0}
