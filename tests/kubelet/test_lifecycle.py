"""postStart and preStop hooks (kubelet/lifecycle.py, kuberuntime.py) on the simulated runtime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kubelet.runtime import interface as rt
from tests.kubelet.helpers import Node, pod
from tests.kubelet.test_sync import state, sync_status


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = Node(tmp_path)
    yield n
    await n.probes.stop()


def with_hook(handler: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    return pod(lifecycle={"postStart": handler}, **kwargs)


def events(node: Node) -> list[tuple[str, str]]:
    return [(reason, message) for reason, message, _ in node.recorded()]


@pytest.mark.parametrize(
    "handler",
    [
        {"exec": {"command": ["sh", "-c", "echo ready > /tmp/ready"]}},
        {"httpGet": {"path": "/hook", "port": 8080}},
        {"sleep": {"seconds": 0}},
    ],
    ids=["exec", "httpGet", "sleep"],
)
async def test_a_post_start_hook_that_succeeds(node: Node, handler: dict[str, Any]) -> None:
    status = await sync_status(node, with_hook(handler))
    assert state(status) == ("running", "")
    assert status["phase"] == "Running" and status["containerStatuses"][0]["restartCount"] == 0
    assert "FailedPostStartHook" not in node.reasons()


async def test_the_container_is_not_reported_running_before_its_hook_completes(node: Node) -> None:
    p = with_hook({"exec": {"command": ["sleep", "5"]}})
    sync = asyncio.create_task(sync_status(node, p))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not sync.done()  # the pod worker waits on the hook: no status is written meanwhile
    [running] = [c for c in node.runtime.containers.values() if c.exited is None]
    assert running.started is not None  # ... while the runtime already runs the container
    node.clock.step(5)
    status = await sync
    assert state(status) == ("running", "") and status["containerStatuses"][0]["started"]


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        (
            {"exec": {"command": ["sh", "-c", "exit 3"]}},
            'Exec lifecycle hook ([sh -c exit 3]) for Container "c" in Pod "web_default({uid})" failed'
            " - error: command 'sh -c exit 3' exited with 3: , message: \"\"",
        ),
        (
            {"httpGet": {"path": "/hook", "port": "http"}},
            'HTTP lifecycle hook (/hook) for Container "c" in Pod "web_default({uid})" failed - error: '
            'Get "http://{ip}:8080/hook": dial tcp {ip}:8080: connect: connection refused',
        ),
    ],
    ids=["exec", "httpGet"],
)
async def test_a_failed_post_start_hook_kills_the_container(
    node: Node, handler: dict[str, Any], message: str
) -> None:
    # sim.pykube.io/exec-exit-code makes every exec (and simulated HTTP GET) in it fail
    p = with_hook(
        handler, restart="OnFailure", annotations={"sim.pykube.io/exec-exit-code": "3"},
        ports=[{"name": "http", "containerPort": 8080}],
    )  # fmt: skip
    status = await sync_status(node, p)
    uid, ip = p["metadata"]["uid"], status["podIP"]
    assert events(node)[-3:] == [
        ("Started", "Started container c"),
        ("FailedPostStartHook", "PostStartHook failed"),  # the handler's output stays out of Events
        ("Killing", "FailedPostStartHook"),
    ]
    [killed] = await node.runtime.list_containers()
    assert killed.state == rt.ContainerState.EXITED
    waiting = node.syncer.waiting[uid]["c"]
    assert waiting == ("PostStartHookError", message.format(uid=uid, ip=ip))
    assert status["containerStatuses"][0]["state"]["waiting"]["reason"] == "PostStartHookError"
    assert status["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 143
    assert status["phase"] == "Running"  # waiting to restart (killed: exit code != 0)


async def test_a_failed_post_start_hook_with_restart_policy_never_fails_the_pod(node: Node) -> None:
    status = await sync_status(node, with_hook({"exec": {"command": ["false"]}}, restart="Never"))
    assert state(status) == ("terminated", "Error") and status["phase"] == "Failed"
    assert status["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 143


async def test_a_failing_post_start_hook_restarts_then_backs_off(node: Node) -> None:
    p = with_hook({"exec": {"command": ["false"]}})
    status = await sync_status(node, p)
    assert state(status)[1] == "PostStartHookError"
    status = await sync_status(node, p)  # the first restart is immediate; its hook fails again
    assert state(status)[1] == "PostStartHookError"
    assert status["containerStatuses"][0]["restartCount"] == 1
    status = await sync_status(node, p)
    assert state(status)[1] == "CrashLoopBackOff" and status["phase"] == "Running"
    assert node.reasons().count("FailedPostStartHook") == 2 and node.reasons().count("BackOff") == 1


async def test_a_failing_pre_stop_hook_is_reported_and_the_container_still_stops(node: Node) -> None:
    p = pod(lifecycle={"preStop": {"exec": {"command": ["false"]}}})
    await sync_status(node, p)
    await node.syncer.kill(p, p["metadata"]["uid"], 30)
    assert events(node)[-2:] == [
        ("Killing", "Stopping container c"),
        ("FailedPreStopHook", "PreStopHook failed"),
    ]
    [stopped] = await node.runtime.list_containers()
    assert stopped.state == rt.ContainerState.EXITED
