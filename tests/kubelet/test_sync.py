"""One pod sync against the simulated runtime, on a fake clock: tables of pods and outcomes."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kubelet import status as pod_status
from kubelet.runtime import interface as rt
from tests.kubelet.helpers import HOST_IP, Node, pod


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[Node]:
    n = Node(tmp_path)
    yield n
    await n.probes.stop()


async def sync_status(node: Node, p: dict[str, Any], times: int = 1) -> dict[str, Any]:
    for _ in range(times):
        rp = await node.syncer.sync(p)
        status = pod_status.generate(
            p, rp, node.syncer.waiting.get(p["metadata"]["uid"], {}), node.probes.ready, node.probes.started,
            HOST_IP, "simulated",
        )  # fmt: skip
        pod_status.with_transitions(status, p.get("status") or {}, "2026-01-01T00:00:00Z")
        p["status"] = status
    return p["status"]


def state(status: dict[str, Any], i: int = 0) -> tuple[str, str]:
    """(state kind, reason) of container ``i``."""
    s = status["containerStatuses"][i]["state"]
    kind = next(iter(s))
    return kind, s[kind].get("reason", "")


def condition(status: dict[str, Any], type_: str) -> str:
    return next(c["status"] for c in status["conditions"] if c["type"] == type_)


async def test_a_pod_runs_and_is_ready(node: Node) -> None:
    p = pod()
    status = await sync_status(node, p)
    assert status["phase"] == "Running"
    assert state(status) == ("running", "")
    assert status["podIP"].startswith("10.244.0.") and status["hostIP"] == HOST_IP
    assert [
        condition(status, t) for t in ("PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready")
    ] == ["True"] * 4
    cs = status["containerStatuses"][0]
    assert cs["ready"] and cs["started"] and cs["restartCount"] == 0
    assert cs["containerID"].startswith("simulated://") and cs["imageID"].startswith("sha256:")
    assert node.reasons() == ["Pulling", "Pulled", "Created", "Started"]  # IfNotPresent: pulled once
    pulled = node.recorded()[1][1]  # image_manager.go's words; the simulated image is 1 MiB
    assert re.fullmatch(
        r'Successfully pulled image "busybox:1\.36" in (\d+ms|0s) \(\1 including waiting\)\. Image size: 1048576 bytes\.',
        pulled,
    ), pulled
    again = await sync_status(node, p)  # level-triggered: nothing more to do
    assert again["containerStatuses"][0]["containerID"] == cs["containerID"]
    assert node.reasons() == ["Pulling", "Pulled", "Created", "Started"]


@pytest.mark.parametrize(
    ("restart", "command", "phase", "reason"),
    [
        ("Never", ["echo", "hi"], "Succeeded", "Completed"),
        ("Never", ["false"], "Failed", "Error"),
        ("OnFailure", ["true"], "Succeeded", "Completed"),
        ("OnFailure", ["false"], "Running", "CrashLoopBackOff"),
        ("Always", ["true"], "Running", "CrashLoopBackOff"),
    ],
    ids=["never-ok", "never-fails", "onfailure-ok", "onfailure-fails", "always-exits"],
)
async def test_restart_policy(node: Node, restart: str, command: list[str], phase: str, reason: str) -> None:
    p = pod(restart=restart, command=command)
    status = await sync_status(node, p, times=3)
    assert status["phase"] == phase
    assert state(status)[1] == reason


async def test_crash_loop_back_off_doubles(node: Node) -> None:
    p = pod(command=["sh", "-c", "exit 1"], annotations={"sim.pykube.io/crash": "true"})
    status = await sync_status(node, p, times=2)  # first crash restarts at once (no back-off yet)
    seen = []
    for delay in (10, 20, 40, 80, 160, 300, 300):
        status = await sync_status(node, p)
        _, reason = state(status)
        message = status["containerStatuses"][0]["state"]["waiting"]["message"]
        seen.append((status["containerStatuses"][0]["restartCount"], reason, message.split(" restarting")[0]))
        node.clock.step(delay - 0.5)
        assert state(await sync_status(node, p))[1] == "CrashLoopBackOff"  # not yet
        node.clock.step(0.6)
        await sync_status(node, p)  # restarted: it crashes again
    assert seen[:3] == [
        (1, "CrashLoopBackOff", "back-off 10s"),
        (2, "CrashLoopBackOff", "back-off 20s"),
        (3, "CrashLoopBackOff", "back-off 40s"),
    ]
    assert [s[2] for s in seen[3:]] == ["back-off 1m20s", "back-off 2m40s", "back-off 5m0s", "back-off 5m0s"]
    uid = p["metadata"]["uid"]
    assert status["containerStatuses"][0]["state"]["waiting"]["message"].endswith(
        f"container=c pod=web_default({uid})"
    )
    assert status["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 1
    assert status["phase"] == "Running"


async def test_init_containers_run_in_order_before_containers(node: Node) -> None:
    p = pod(init=[{"name": "one", "image": "busybox:1.36", "command": ["sleep", "5"]},
                  {"name": "two", "image": "busybox:1.36", "command": ["true"]}])  # fmt: skip
    status = await sync_status(node, p)
    assert status["phase"] == "Pending"
    assert [next(iter(s["state"])) for s in status["initContainerStatuses"]] == ["running", "waiting"]
    assert state(status) == ("waiting", "PodInitializing")
    assert condition(status, "Initialized") == "False"
    node.clock.step(5)
    status = await sync_status(node, p, times=3)
    assert [s["state"]["terminated"]["reason"] for s in status["initContainerStatuses"]] == ["Completed"] * 2
    assert status["phase"] == "Running" and condition(status, "Initialized") == "True"


async def test_failed_init_container_with_restart_never_fails_the_pod(node: Node) -> None:
    p = pod(restart="Never", init=[{"name": "one", "image": "busybox:1.36", "command": ["false"]}])
    status = await sync_status(node, p, times=2)
    assert status["phase"] == "Failed"
    assert status["containerStatuses"][0]["state"]["waiting"]["reason"] == "PodInitializing"


async def test_image_pull_error_then_back_off(node: Node) -> None:
    p = pod(image="registry.example/missing:1")
    status = await sync_status(node, p)
    assert state(status) == ("waiting", "ErrImagePull")
    assert "not found" in status["containerStatuses"][0]["state"]["waiting"]["message"]
    status = await sync_status(node, p)
    assert state(status) == ("waiting", "ImagePullBackOff")
    assert (
        status["containerStatuses"][0]["state"]["waiting"]["message"]
        == 'Back-off pulling image "registry.example/missing:1"'
    )
    assert status["phase"] == "Pending"
    assert node.reasons()[:4] == ["Pulling", "Failed", "Failed", "BackOff"]


async def test_image_pull_policy_never_without_the_image(node: Node) -> None:
    status = await sync_status(node, pod(image="busybox:9", imagePullPolicy="Never"))
    assert state(status) == ("waiting", "ErrImageNeverPull")


async def test_missing_config_map_key_is_a_config_error(node: Node) -> None:
    p = pod(env=[{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}}])
    status = await sync_status(node, p)
    assert state(status) == ("waiting", "CreateContainerConfigError")
    assert status["containerStatuses"][0]["state"]["waiting"]["message"] == 'configmap "cfg" not found'


async def test_a_restarted_kubelet_adopts_running_containers(node: Node) -> None:
    p = pod()
    before = (await sync_status(node, p))["containerStatuses"][0]["containerID"]
    node.syncer = node.new_syncer()  # the kubelet restarted; the runtime kept running
    after = await sync_status(node, p, times=2)
    assert after["containerStatuses"][0]["containerID"] == before
    assert after["containerStatuses"][0]["restartCount"] == 0
    assert len(node.runtime.containers) == 1


async def test_kill_stops_containers_then_the_sandbox(node: Node) -> None:
    p = pod()
    await sync_status(node, p)
    rp = await node.syncer.kill(p, p["metadata"]["uid"], 30)
    latest = rp.latest("c")
    assert latest is not None and latest.state == rt.ContainerState.EXITED and latest.exit_code == 143
    assert rp.sandbox is not None and rp.sandbox.state == rt.PodSandboxState.NOTREADY
    assert ("Killing", "Stopping container c", "spec.containers{c}") in node.recorded()
    await node.syncer.remove(p["metadata"]["uid"])
    assert not node.runtime.sandboxes and not node.runtime.containers


async def test_host_network_pod_gets_the_node_ip(node: Node) -> None:
    p = pod()
    p["spec"]["hostNetwork"] = True
    status = await sync_status(node, p)
    assert status["podIP"] == HOST_IP


async def test_status_manager_writes_only_changes() -> None:
    manager = pod_status.StatusManager(None)
    p = pod()
    first = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    assert await manager.set(p, first)
    stamp = first["conditions"][0]["lastTransitionTime"]
    assert not await manager.set(p, {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]})
    changed = {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}
    assert await manager.set(p, changed)
    assert manager.writes == 2
    assert changed["conditions"][0]["lastTransitionTime"] >= stamp


async def test_orphan_cleanup_sees_only_this_nodes_pods(node: Node) -> None:
    from kubelet.podstate import pods_on_runtime

    node.syncer.node_name = "node-a"
    p = pod()
    await sync_status(node, p)
    assert list(await pods_on_runtime(node.runtime, "node-a")) == [p["metadata"]["uid"]]
    assert await pods_on_runtime(node.runtime, "node-b") == {}  # another kubelet on the same runtime
