"""Pod conditions (kubelet/status.py): readiness gates, others' conditions, the status patch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kubelet import status as pod_status
from tests.kubelet.helpers import Node, pod
from tests.kubelet.test_sync import sync_status

TRUE = {"type": "ContainersReady", "status": "True"}
NOT_READY = {
    "type": "ContainersReady", "status": "False", "reason": "ContainersNotReady",
    "message": "containers with unready status: [c]",
}  # fmt: skip


MISSING = 'corresponding condition of pod readiness gate "{}" does not exist.'
NOT_TRUE = 'the status of pod readiness gate "{}" is not "True", but {}'


def gates_not_ready(*messages: str) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": "False",
        "reason": "ReadinessGatesNotReady",
        "message": ", ".join(messages),
    }


@pytest.mark.parametrize(
    ("gates", "conditions", "containers_ready", "expected"),
    [
        ([], [], TRUE, {"type": "Ready", "status": "True"}),
        (["g"], [], NOT_READY, {**NOT_READY, "type": "Ready"}),
        (["g"], [], TRUE, gates_not_ready(MISSING.format("g"))),
        (["g"], [{"type": "g", "status": "False"}], TRUE, gates_not_ready(NOT_TRUE.format("g", "False"))),
        (["g"], [{"type": "g", "status": "True"}], TRUE, {"type": "Ready", "status": "True"}),
        (
            ["a", "b"],
            [{"type": "b", "status": "Unknown"}],
            TRUE,
            gates_not_ready(MISSING.format("a"), NOT_TRUE.format("b", "Unknown")),
        ),
    ],
    ids=["no-gates", "containers-not-ready", "gate-missing", "gate-false", "gate-true", "two-gates"],
)
def test_ready_condition(
    gates: list[str],
    conditions: list[dict[str, Any]],
    containers_ready: dict[str, Any],
    expected: dict[str, Any],
) -> None:
    spec = {"readinessGates": [{"conditionType": g} for g in gates]}
    assert pod_status.ready_condition(spec, containers_ready, conditions) == expected


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = Node(tmp_path)
    yield n
    await n.probes.stop()


def conditions(status: dict[str, Any]) -> dict[str, str]:
    return {c["type"]: c["status"] for c in status["conditions"]}


async def test_ready_waits_for_the_gate_and_keeps_the_gate_condition(node: Node) -> None:
    p = pod()
    p["spec"]["readinessGates"] = [{"conditionType": "example.com/lb"}]
    status = await sync_status(node, p)
    assert conditions(status)["ContainersReady"] == "True" and conditions(status)["Ready"] == "False"
    gate = {"type": "example.com/lb", "status": "True", "lastTransitionTime": "2026-01-01T00:00:09Z"}
    p["status"]["conditions"].append(gate)  # a controller sets it (kubectl patch --subresource=status)
    status = await sync_status(node, p)
    assert conditions(status)["Ready"] == "True"
    assert [c for c in status["conditions"] if c["type"] == "example.com/lb"] == [gate]  # untouched


def test_the_status_patch_carries_only_the_kubelets_conditions() -> None:
    status = {
        "phase": "Running",
        "conditions": [
            {"type": "Ready", "status": "True"},
            {"type": "example.com/lb", "status": "True"},
        ],
        "podIPs": [{"ip": "10.0.0.2"}],
    }
    patch = pod_status.status_patch(status)
    # merged by type on the server: the gate condition is not sent, so never overwritten;
    # null clears the reason and message a False Ready had
    assert patch["conditions"] == [{"type": "Ready", "status": "True", "reason": None, "message": None}]
    assert patch["podIPs"] == [{"ip": "10.0.0.2"}, {"$patch": "replace"}]
    assert status["conditions"][1] == {"type": "example.com/lb", "status": "True"}  # not mutated
