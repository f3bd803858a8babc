"""Table tests for NodeUnschedulable, NodeName and NodePorts (upstream: the *_test.go beside each)."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.framework import Code, CycleState
from scheduler.plugins.node_name import NodeName
from scheduler.plugins.node_ports import NodePorts
from scheduler.plugins.node_unschedulable import NodeUnschedulable
from tests.scheduler.builders import info, node, on, pod

UNSCHEDULABLE_TOLERATION = {
    "key": "node.kubernetes.io/unschedulable",
    "operator": "Exists",
    "effect": "NoSchedule",
}


@pytest.mark.parametrize(
    ("the_pod", "the_node", "reason"),
    [
        pytest.param(pod(), node(), None, id="schedulable-node"),
        pytest.param(pod(), node(unschedulable=True), "node(s) were unschedulable", id="cordoned"),
        pytest.param(
            pod(tolerations=[UNSCHEDULABLE_TOLERATION]), node(unschedulable=True), None, id="tolerates-cordon"
        ),
        pytest.param(
            pod(tolerations=[{"operator": "Exists"}]),
            node(unschedulable=True),
            None,
            id="tolerates-everything",
        ),
    ],
)
def test_node_unschedulable(the_pod: dict[str, Any], the_node: dict[str, Any], reason: str | None) -> None:
    status = NodeUnschedulable().filter(CycleState(), the_pod, info(the_node))
    assert (status.reasons[0] if status else None) == reason
    if status:
        assert status.code == Code.UNSCHEDULABLE_AND_UNRESOLVABLE


@pytest.mark.parametrize(
    ("node_name", "reason"),
    [
        pytest.param(None, None, id="no-node-name"),
        pytest.param("n1", None, id="matching"),
        pytest.param("n2", "node(s) didn't match the requested node name", id="other-node"),
    ],
)
def test_node_name(node_name: str | None, reason: str | None) -> None:
    p = pod() if node_name is None else pod(nodeName=node_name)
    status = NodeName().filter(CycleState(), p, info(node("n1")))
    assert (status.reasons[0] if status else None) == reason


def _ported(
    host_port: int, ip: str | None = None, protocol: str | None = None, name: str = "p"
) -> dict[str, Any]:
    port: dict[str, Any] = {"containerPort": 80, "hostPort": host_port}
    if ip:
        port["hostIP"] = ip
    if protocol:
        port["protocol"] = protocol
    p = pod(name)
    p["spec"]["containers"][0]["ports"] = [port]
    return p


PORT_REASON = "node(s) didn't have free ports for the requested pod ports"


@pytest.mark.parametrize(
    ("incoming", "existing", "reason"),
    [
        pytest.param(_ported(8080), [], None, id="free"),
        pytest.param(_ported(8080), [_ported(8080, name="x")], PORT_REASON, id="same-port"),
        pytest.param(_ported(8080), [_ported(8081, name="x")], None, id="other-port"),
        pytest.param(_ported(8080, protocol="UDP"), [_ported(8080, name="x")], None, id="other-protocol"),
        pytest.param(
            _ported(8080, ip="10.0.0.1"), [_ported(8080, ip="10.0.0.2", name="x")], None, id="other-ip"
        ),
        pytest.param(
            _ported(8080, ip="10.0.0.1"), [_ported(8080, name="x")], PORT_REASON, id="wildcard-existing"
        ),
        pytest.param(
            _ported(8080), [_ported(8080, ip="10.0.0.2", name="x")], PORT_REASON, id="wildcard-incoming"
        ),
    ],
)
def test_node_ports(incoming: dict[str, Any], existing: list[dict[str, Any]], reason: str | None) -> None:
    plugin, state = NodePorts(), CycleState()
    assert plugin.pre_filter(state, incoming, []) is None
    status = plugin.filter(state, incoming, info(node(), *[on("n1", p) for p in existing]))
    assert (status.reasons[0] if status else None) == reason


def test_node_ports_skips_pods_without_host_ports() -> None:
    assert NodePorts().pre_filter(CycleState(), pod(), []) is not None
