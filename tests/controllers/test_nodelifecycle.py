"""Node lifecycle decisions: condition taints, NoExecute taints, marking pods not ready."""

from __future__ import annotations

from typing import Any

import pytest

from controllers.nodelifecycle import desired_taints, pod_marked_not_ready
from controllers.util import find_condition, timestamp
from tests.controllers._objects import T0, pod

NOW = T0 + 100  # the fake clock
NR, UR = "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"


def _node(conditions: dict[str, str], taints: list[dict[str, Any]] | None = None, **spec: Any) -> dict:
    conds = [{"type": t, "status": s} for t, s in conditions.items()]
    return {
        "metadata": {"name": "n"},
        "spec": {**spec, "taints": taints or []},
        "status": {"conditions": conds},
    }


def _pairs(taints: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in taints}


@pytest.mark.parametrize(
    ("conditions", "taints", "spec", "expected"),
    [
        ({"Ready": "True"}, [], {}, set()),
        ({"Ready": "False"}, [], {}, {(NR, "NoSchedule"), (NR, "NoExecute")}),
        ({"Ready": "Unknown"}, [], {}, {(UR, "NoSchedule"), (UR, "NoExecute")}),
        (
            {"Ready": "Unknown"},
            [{"key": NR, "effect": "NoSchedule"}, {"key": NR, "effect": "NoExecute"}],
            {},
            {(UR, "NoSchedule"), (UR, "NoExecute")},
        ),
        (
            {"Ready": "True"},
            [{"key": UR, "effect": "NoSchedule"}, {"key": UR, "effect": "NoExecute"}],
            {},
            set(),
        ),
        (
            {"Ready": "True", "MemoryPressure": "True", "DiskPressure": "True", "PIDPressure": "False"},
            [],
            {},
            {
                ("node.kubernetes.io/memory-pressure", "NoSchedule"),
                ("node.kubernetes.io/disk-pressure", "NoSchedule"),
            },
        ),
        (
            {"Ready": "True", "NetworkUnavailable": "True", "PIDPressure": "True"},
            [],
            {},
            {
                ("node.kubernetes.io/network-unavailable", "NoSchedule"),
                ("node.kubernetes.io/pid-pressure", "NoSchedule"),
            },
        ),
        (
            {"Ready": "True"},
            [],
            {"unschedulable": True},
            {("node.kubernetes.io/unschedulable", "NoSchedule")},
        ),
        ({"Ready": "True"}, [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}], {}, set()),
        (
            {"Ready": "True"},
            [
                {"key": "dedicated", "value": "db", "effect": "NoSchedule"},
                {"key": NR, "effect": "PreferNoSchedule"},
            ],
            {},
            {("dedicated", "NoSchedule"), (NR, "PreferNoSchedule")},
        ),
        ({}, [{"key": UR, "effect": "NoExecute"}], {}, {(UR, "NoExecute")}),
    ],
    ids=[
        "ready",
        "not-ready",
        "unreachable",
        "not-ready-swapped-for-unreachable",
        "ready-again-clears",
        "memory-and-disk-pressure",
        "network-and-pid",
        "cordoned",
        "uncordoned",
        "others-taints-kept",
        "no-ready-condition-keeps-noexecute",
    ],
)
def test_desired_taints(
    conditions: dict[str, str], taints: list[dict[str, Any]], spec: dict[str, Any], expected: set
) -> None:
    assert _pairs(desired_taints(_node(conditions, taints, **spec), NOW)) == expected


def test_new_taints_get_time_added_and_old_ones_keep_theirs() -> None:
    kept = {"key": NR, "effect": "NoExecute", "timeAdded": timestamp(T0)}
    out = desired_taints(_node({"Ready": "False"}, [kept]), NOW)
    by_effect = {t["effect"]: t for t in out}
    assert by_effect["NoExecute"] == kept  # the eviction clock does not restart
    assert by_effect["NoSchedule"]["timeAdded"] == timestamp(NOW)


@pytest.mark.parametrize(
    ("ready", "changes"),
    [("True", True), ("False", False), (None, False)],
    ids=["ready-flips", "already-not-ready", "no-ready-condition"],
)
def test_pod_marked_not_ready(ready: str | None, changes: bool) -> None:
    p = pod("a", node="n", phase="Running")
    if ready is not None:
        p["status"]["conditions"] = [
            {"type": "ContainersReady", "status": "True", "lastTransitionTime": timestamp(T0)},
            {"type": "Ready", "status": ready, "reason": "R", "lastTransitionTime": timestamp(T0)},
        ]
    out = pod_marked_not_ready(p, NOW)
    if not changes:
        assert out is None
        return
    assert out is not None
    cond = find_condition(out["status"]["conditions"], "Ready")
    assert cond == {"type": "Ready", "status": "False", "reason": "R", "lastTransitionTime": timestamp(NOW)}
    assert find_condition(out["status"]["conditions"], "ContainersReady")["status"] == "True"  # type: ignore[index]
    assert find_condition(p["status"]["conditions"], "Ready")["status"] == "True"  # type: ignore[index]
