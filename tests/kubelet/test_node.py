"""kubelet/node.py: the node status the kubelet keeps on the server (tryUpdateNodeStatus)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from client.rest import NODES, PatchType, RESTClient
from kubelet.node import NodeAgent, NodeConfig, status_differs
from kubelet.runtime.simulated import SimulatedRuntime
from tests.apiserver.e2e.conftest import Server


def _status(ready: str = "True", **extra: Any) -> dict[str, Any]:
    cond = {"type": "Ready", "status": ready, "reason": "KubeletReady", "message": "kubelet is posting ready status",
            "lastHeartbeatTime": "2026-11-24T00:00:00Z", "lastTransitionTime": "2026-11-24T00:00:00Z"}  # fmt: skip
    return {"capacity": {"cpu": "2"}, "conditions": [cond], **extra}


@pytest.mark.parametrize(
    ("theirs", "differs"),
    [
        (_status(), False),
        ({**_status(), "conditions": [{**_status()["conditions"][0], "lastHeartbeatTime": "later"}]}, False),
        (_status(volumesInUse=["x"]), False),  # a field the kubelet does not report
        (
            {
                **_status(),
                "conditions": [*_status()["conditions"], {"type": "NetworkUnavailable", "status": "False"}],
            },
            False,
        ),  # another writer's condition
        (_status(ready="Unknown"), True),  # the node lifecycle controller's write
        ({"capacity": {"cpu": "4"}, "conditions": _status()["conditions"]}, True),
        ({"capacity": {"cpu": "2"}}, True),  # no conditions yet
    ],
    ids=[
        "same",
        "heartbeat-only",
        "foreign-field",
        "foreign-condition",
        "ready-unknown",
        "capacity",
        "empty",
    ],
)
def test_status_differs_compares_what_the_kubelet_reports(theirs: dict[str, Any], differs: bool) -> None:
    assert status_differs(_status(), theirs) is differs


@pytest.fixture
async def rest(server: Server) -> AsyncIterator[RESTClient]:
    async with RESTClient.from_kubeconfig(server.kubeconfig) as client:
        yield client


def _ready(node: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in node["status"]["conditions"] if c["type"] == "Ready")


async def test_ready_unknown_written_by_the_controller_is_put_back_at_the_next_check(
    rest: RESTClient,
) -> None:
    runtime = SimulatedRuntime("n-status")
    agent = NodeAgent(rest, NodeConfig("n-status", "192.0.2.7", simulated=True), runtime, runtime)
    await agent.register()
    registered = _ready(await rest.get(NODES, "n-status"))
    assert registered["status"] == "True"
    assert await agent.update_status() is False  # nothing differs: nothing sent

    # what the node lifecycle controller writes when the Lease lapses
    unknown = {**registered, "status": "Unknown", "reason": "NodeStatusUnknown",
               "message": "Kubelet stopped posting node status.", "lastTransitionTime": "2026-11-24T01:00:00Z"}  # fmt: skip
    patch = {"status": {"conditions": [unknown]}}
    await rest.patch(NODES, "n-status", patch, subresource="status", patch_type=PatchType.STRATEGIC)

    assert await agent.update_status() is True  # the server's copy differs: sent at once
    ready = _ready(await rest.get(NODES, "n-status"))
    assert (ready["status"], ready["reason"]) == ("True", "KubeletReady")
    assert ready["lastTransitionTime"] != "2026-11-24T01:00:00Z"  # a transition, so a new time
    assert await agent.update_status() is False
