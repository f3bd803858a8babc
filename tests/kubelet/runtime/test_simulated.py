"""The simulated runtime's state machine, driven by a step clock (no sleeps)."""

from __future__ import annotations

import asyncio
import time

import pytest

from kubelet.runtime import interface as rt
from kubelet.runtime.image_policy import ImageNotPresentError, ensure_image
from kubelet.runtime.simulated import SimulatedRuntime
from tests.kubelet.runtime.fakes import StepClock

IMAGE = "pykube.local/busybox:1.36"
C = rt.ContainerState


def sandbox_config(
    name: str = "p", annotations: dict[str, str] | None = None, host_network: bool = False
) -> rt.PodSandboxConfig:
    meta = rt.PodSandboxMetadata(name, "default", f"uid-{name}")
    return rt.PodSandboxConfig(
        meta,
        hostname=name,
        log_directory=f"/logs/{name}",
        annotations=annotations or {},
        host_network=host_network,
    )


async def start(
    runtime: SimulatedRuntime,
    command: list[str],
    annotations: dict[str, str] | None = None,
    name: str = "c",
    attempt: int = 0,
) -> tuple[str, str]:
    sc = sandbox_config(annotations=annotations)
    sid = await runtime.run_pod_sandbox(sc)
    await ensure_image(runtime, IMAGE)
    cfg = rt.ContainerConfig(
        rt.ContainerMetadata(name, attempt), IMAGE, command=command, log_path=f"{name}.log"
    )
    cid = await runtime.create_container(sid, cfg, sc)
    await runtime.start_container(cid)
    return sid, cid


@pytest.fixture
def clock() -> StepClock:
    return StepClock()


@pytest.fixture
def runtime(clock: StepClock) -> SimulatedRuntime:
    return SimulatedRuntime("node-1", pod_cidr="10.244.1.0/24", clock=clock)


# (id, command, annotations, container name, attempt, seconds later, state, exit code, reason)
LIFECYCLE = [
    ("shell-runs-until-stopped", ["sh"], {}, "c", 0, 1000, C.RUNNING, 0, ""),
    ("echo-completes", ["echo", "hi"], {}, "c", 0, 0, C.EXITED, 0, "Completed"),
    ("false-is-an-error", ["false"], {}, "c", 0, 0, C.EXITED, 1, "Error"),
    ("sleep-5-still-running-at-4", ["sleep", "5"], {}, "c", 0, 4, C.RUNNING, 0, ""),
    ("sleep-5-done-at-5", ["sleep", "5"], {}, "c", 0, 5, C.EXITED, 0, "Completed"),
    ("exit-code-after-run-seconds", ["sh"], {"sim.pykube.io/exit-code": "3", "sim.pykube.io/run-seconds": "2"},
     "c", 0, 2, C.EXITED, 3, "Error"),
    ("run-seconds-not-yet", ["sh"], {"sim.pykube.io/run-seconds": "2"}, "c", 0, 1.5, C.RUNNING, 0, ""),
    ("crash-always", ["sh"], {"sim.pykube.io/crash": "true"}, "c", 5, 0, C.EXITED, 1, "Error"),
    ("crash-first-two-attempt-1", ["sh"], {"sim.pykube.io/crash": "2"}, "c", 1, 0, C.EXITED, 1, "Error"),
    ("crash-first-two-attempt-2", ["sh"], {"sim.pykube.io/crash": "2"}, "c", 2, 100, C.RUNNING, 0, ""),
    ("oom", ["sh"], {"sim.pykube.io/oom": "true"}, "c", 0, 0, C.EXITED, 137, "OOMKilled"),
    ("per-container-key-wins", ["sh"], {"sim.pykube.io/exit-code": "4", "sim.pykube.io/exit-code.web": "0"},
     "web", 0, 0, C.EXITED, 0, "Completed"),
    ("per-container-key-other-name", ["sh"], {"sim.pykube.io/exit-code.web": "9"}, "db", 0, 50, C.RUNNING, 0, ""),
]  # fmt: skip


@pytest.mark.parametrize(
    ("command", "annotations", "name", "attempt", "later", "state", "exit_code", "reason"),
    [case[1:] for case in LIFECYCLE],
    ids=[case[0] for case in LIFECYCLE],
)
async def test_container_lifecycle(
    runtime: SimulatedRuntime,
    clock: StepClock,
    command: list[str],
    annotations: dict[str, str],
    name: str,
    attempt: int,
    later: float,
    state: rt.ContainerState,
    exit_code: int,
    reason: str,
) -> None:
    _, cid = await start(runtime, command, annotations, name, attempt)
    clock.step(later)
    status = await runtime.container_status(cid)
    assert (status.state, status.exit_code, status.reason) == (state, exit_code, reason)
    assert status.started_at >= status.created_at > 0
    if state == C.EXITED:
        assert status.finished_at - status.started_at == pytest.approx(later * 1e9, abs=1e6)


async def test_created_then_running_then_removed(runtime: SimulatedRuntime) -> None:
    sc = sandbox_config()
    sid = await runtime.run_pod_sandbox(sc)
    runtime.preload(IMAGE)
    cid = await runtime.create_container(sid, rt.ContainerConfig(rt.ContainerMetadata("c"), IMAGE), sc)
    assert (await runtime.container_status(cid)).state == C.CREATED
    await runtime.start_container(cid)
    rows = await runtime.list_containers(rt.ContainerFilter(pod_sandbox_id=sid, state=C.RUNNING))
    assert [r.id for r in rows] == [cid]
    with pytest.raises(rt.RuntimeServiceError):
        await runtime.start_container(cid)
    await runtime.remove_container(cid)
    with pytest.raises(rt.NotFoundError):
        await runtime.container_status(cid)


async def test_sandbox_ips_come_from_the_pod_cidr_and_return_on_stop(runtime: SimulatedRuntime) -> None:
    a = await runtime.run_pod_sandbox(sandbox_config("a"))
    b = await runtime.run_pod_sandbox(sandbox_config("b"))
    host = await runtime.run_pod_sandbox(sandbox_config("h", host_network=True))
    ips = [(await runtime.pod_sandbox_status(s)).ip for s in (a, b, host)]
    assert ips == ["10.244.1.2", "10.244.1.3", ""]
    assert (await runtime.pod_sandbox_status(host)).host_network
    await runtime.stop_pod_sandbox(a)
    status = await runtime.pod_sandbox_status(a)
    assert (status.state, status.ip) == (rt.PodSandboxState.NOTREADY, "")
    c = await runtime.run_pod_sandbox(sandbox_config("c"))
    assert (await runtime.pod_sandbox_status(c)).ip == "10.244.1.4"  # freed ones go to the back
    ready = await runtime.list_pod_sandbox(rt.PodSandboxFilter(state=rt.PodSandboxState.READY))
    assert sorted(s.metadata.name for s in ready) == ["b", "c", "h"]


async def test_stop_sandbox_kills_containers_and_remove_is_idempotent(runtime: SimulatedRuntime) -> None:
    sid, cid = await start(runtime, ["sh"])
    await runtime.stop_pod_sandbox(sid)
    status = await runtime.container_status(cid)
    assert (status.state, status.exit_code) == (C.EXITED, 137)
    await runtime.remove_pod_sandbox(sid)
    await runtime.remove_pod_sandbox(sid)
    await runtime.stop_pod_sandbox(sid)
    assert await runtime.list_containers() == []
    with pytest.raises(rt.NotFoundError):
        await runtime.pod_sandbox_status(sid)


async def test_stop_container_sigterm_and_ignored_sigterm(
    runtime: SimulatedRuntime, clock: StepClock
) -> None:
    _, cid = await start(runtime, ["sh"])
    await runtime.stop_container(cid, 30)
    assert (await runtime.container_status(cid)).exit_code == 143

    _, stubborn = await start(runtime, ["sh"], {"sim.pykube.io/ignore-sigterm": "true"})
    stopping = asyncio.create_task(runtime.stop_container(stubborn, 10))
    await asyncio.sleep(0)
    clock.step(9)
    await asyncio.sleep(0)
    assert not stopping.done()
    clock.step(1)
    await stopping
    status = await runtime.container_status(stubborn)
    assert (status.exit_code, status.finished_at - status.started_at) == (137, 10 * 10**9)


# (id, policy, image, preloaded, result: "pulled" | "present" | error class)
IMAGE_POLICY = [
    ("if-not-present-pulls", "IfNotPresent", IMAGE, False, "pulled"),
    ("if-not-present-uses-local", "IfNotPresent", IMAGE, True, "present"),
    ("always-pulls", "Always", IMAGE, True, "pulled"),
    ("never-local", "Never", IMAGE, True, "present"),
    ("never-missing", "Never", IMAGE, False, ImageNotPresentError),
    ("missing-image-err-image-pull", "IfNotPresent", "example.com/missing:1", False, rt.ImagePullError),
    ("does-not-exist", "Always", "doesnotexist", False, rt.ImagePullError),
]


@pytest.mark.parametrize(
    ("policy", "image", "preloaded", "result"),
    [c[1:] for c in IMAGE_POLICY],
    ids=[c[0] for c in IMAGE_POLICY],
)
async def test_image_policy(
    runtime: SimulatedRuntime,
    monkeypatch: pytest.MonkeyPatch,
    policy: str,
    image: str,
    preloaded: bool,
    result: object,
) -> None:
    pulls = []
    original = runtime.pull_image

    async def counting_pull(name: str, sandbox: rt.PodSandboxConfig | None = None) -> str:
        pulls.append(name)
        return await original(name, sandbox)

    monkeypatch.setattr(runtime, "pull_image", counting_pull)
    if preloaded:
        runtime.preload(image)
    if isinstance(result, type):
        with pytest.raises(result):
            await ensure_image(runtime, image, policy)
        return
    ref = await ensure_image(runtime, image, policy)
    assert ref.startswith("sha256:")
    assert bool(pulls) == (result == "pulled")
    assert (await runtime.image_status("docker.io/library/x")) is None


async def test_create_without_the_image_fails(runtime: SimulatedRuntime) -> None:
    sc = sandbox_config()
    sid = await runtime.run_pod_sandbox(sc)
    with pytest.raises(rt.RuntimeServiceError, match="pull it first"):
        await runtime.create_container(sid, rt.ContainerConfig(rt.ContainerMetadata("c"), "busybox"), sc)


# (id, command, annotations, expected ExecResult)
EXEC = [
    ("echo", ["echo", "a", "b"], {}, rt.ExecResult(0, b"a b\n", b"")),
    ("false", ["false"], {}, rt.ExecResult(1, b"", b"")),
    ("other-command", ["cat", "/tmp/healthy"], {}, rt.ExecResult(0, b"", b"")),
    ("configured", ["cat", "/x"], {"sim.pykube.io/exec-output": "ok", "sim.pykube.io/exec-exit-code": "2"},
     rt.ExecResult(2, b"ok", b"")),
]  # fmt: skip


@pytest.mark.parametrize(("cmd", "annotations", "expected"), [c[1:] for c in EXEC], ids=[c[0] for c in EXEC])
async def test_exec_sync(
    runtime: SimulatedRuntime, cmd: list[str], annotations: dict[str, str], expected: rt.ExecResult
) -> None:
    _, cid = await start(runtime, ["sh"], annotations)
    assert await runtime.exec_sync(cid, cmd, timeout=1) == expected


async def test_exec_in_an_exited_container_fails(runtime: SimulatedRuntime) -> None:
    _, cid = await start(runtime, ["true"])
    with pytest.raises(rt.RuntimeServiceError, match="not running"):
        await runtime.exec_sync(cid, ["echo"])


async def test_logs_tail_and_follow_until_exit(runtime: SimulatedRuntime, clock: StepClock) -> None:
    _, cid = await start(
        runtime, ["sh"], {"sim.pykube.io/logs": "one\ntwo\nthree", "sim.pykube.io/run-seconds": "3"}
    )
    tail = [ln.content async for ln in runtime.read_container_log(cid, rt.LogOptions(tail=2))]
    assert tail == [b"two", b"three"]

    async def follow() -> list[bytes]:
        return [ln.content async for ln in runtime.read_container_log(cid, rt.LogOptions(follow=True))]

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0)
    assert not follower.done()
    clock.step(3)  # the container's exit wakes the follower
    assert await asyncio.wait_for(follower, 1) == [b"one", b"two", b"three"]
    line = runtime.containers[cid].logs[0]
    assert line.stream == "stdout" and line.timestamp.endswith("Z") and not line.partial


async def test_exec_and_attach_sessions_and_port_forward(runtime: SimulatedRuntime, clock: StepClock) -> None:
    sid, cid = await start(runtime, ["sh"], {"sim.pykube.io/run-seconds": "1"})
    endpoint = await runtime.exec(rt.ExecRequest(cid, ["cat"], stdin=True))
    assert endpoint.session is not None and not endpoint.url
    await endpoint.session.write_stdin(b"ping")
    await endpoint.session.close_stdin()
    assert [x async for x in endpoint.session.output()] == [(1, b"ping")]
    assert await endpoint.session.wait() == 0

    attach = (await runtime.attach(rt.AttachRequest(cid))).session
    assert attach is not None
    runtime._log(runtime.containers[cid], "late line")
    clock.step(1)
    assert [x async for x in attach.output()] == [(1, b"late line\n")]
    assert await attach.wait() == 0

    forwarder = (await runtime.port_forward(sid, [80])).forwarder
    assert forwarder is not None
    stream = await forwarder.connect(80)
    await stream.send(b"GET /")
    assert await stream.receive() == b"GET /"


async def test_injected_errors_fire_once(runtime: SimulatedRuntime) -> None:
    runtime.inject_error("run_pod_sandbox", rt.RuntimeServiceError("boom"))
    with pytest.raises(rt.RuntimeServiceError, match="boom"):
        await runtime.run_pod_sandbox(sandbox_config())
    assert await runtime.run_pod_sandbox(sandbox_config())


async def test_hundreds_of_nodes_are_cheap() -> None:
    """200 nodes x 5 pods, each a sandbox plus a running container, well under a second."""
    began = time.perf_counter()
    nodes = [SimulatedRuntime(f"node-{i}", pod_cidr=f"10.{i // 250}.{i % 250}.0/24") for i in range(200)]
    for node in nodes:
        node.preload(IMAGE)
        for p in range(5):
            sc = sandbox_config(f"p{p}")
            sid = await node.run_pod_sandbox(sc)
            cid = await node.create_container(sid, rt.ContainerConfig(rt.ContainerMetadata("c"), IMAGE), sc)
            await node.start_container(cid)
    running = 0
    for node in nodes:
        running += len(await node.list_containers(rt.ContainerFilter(state=C.RUNNING)))
    assert running == 1000
    assert time.perf_counter() - began < 2.0
