"""The CRI runtime against a real, private containerd: real namespaces, cgroups, CNI.

Skipped, with the reason, when not root or when containerd cannot start. One
containerd serves the whole module; the last test stops it and checks that no
containerd or shim of ours is left. Timings are printed (run with ``-s`` to see them).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from kubelet.runtime import interface as rt
from kubelet.runtime.cgroups import cgroup_dirs, pod_cgroup_parent, remove_pod_cgroup
from kubelet.runtime.containerd import Containerd, _alive
from kubelet.runtime.cri import CRIRuntime
from kubelet.runtime.image_policy import ensure_image
from kubelet.runtime.images import BUSYBOX_IMAGE, PAUSE_IMAGE
from tests.kubelet.containerd_env import private_containerd

pytestmark = pytest.mark.slow
POD_CIDR = "10.88.7.0/24"
BRIDGE = "pyktest0"


@pytest.fixture(scope="module")
def containerd() -> Iterator[Containerd]:
    with private_containerd(prefix="pyk-ctd-", pod_cidr=POD_CIDR, bridge=BRIDGE) as daemon:
        yield daemon


@pytest.fixture
async def runtime(containerd: Containerd) -> AsyncIterator[CRIRuntime]:
    client = CRIRuntime(containerd.endpoint)
    sandboxes_before = {s.id for s in await client.list_pod_sandbox()}
    yield client
    for sandbox in await client.list_pod_sandbox():  # whatever the test left behind
        if sandbox.id not in sandboxes_before:
            await client.stop_pod_sandbox(sandbox.id)
            await client.remove_pod_sandbox(sandbox.id)
            remove_pod_cgroup(pod_cgroup_parent(sandbox.metadata.uid))
    await client.close()


async def run_pod(
    runtime: CRIRuntime,
    base: Path,
    name: str,
    command: list[str],
    host_network: bool = True,
    resources: rt.Resources | None = None,
) -> tuple[str, str, rt.PodSandboxConfig]:
    uid = f"uid-{name}-{time.monotonic_ns()}"
    sandbox = rt.PodSandboxConfig(
        rt.PodSandboxMetadata(name, "default", uid),
        hostname=name,
        log_directory=str(base / "pods" / uid),
        host_network=host_network,
        cgroup_parent=pod_cgroup_parent(uid),
    )
    Path(sandbox.log_directory).mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - test setup
    await ensure_image(runtime, BUSYBOX_IMAGE)
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    config = rt.ContainerConfig(
        rt.ContainerMetadata("main"),
        BUSYBOX_IMAGE,
        command=command,
        log_path="main/0.log",
        resources=resources or rt.Resources(),
        seccomp="RuntimeDefault",
    )
    container_id = await runtime.create_container(sandbox_id, config, sandbox)
    await runtime.start_container(container_id)
    return sandbox_id, container_id, sandbox


async def wait_exited(runtime: CRIRuntime, container_id: str, limit: float = 10) -> rt.ContainerStatus:
    deadline = time.monotonic() + limit
    while (status := await runtime.container_status(container_id)).state != rt.ContainerState.EXITED:
        assert time.monotonic() < deadline, f"still {status.state} after {limit}s"
        await asyncio.sleep(0.05)
    return status


async def test_version_status_and_local_images(runtime: CRIRuntime) -> None:
    version = await runtime.version()
    assert (version.runtime_name, version.runtime_api_version) == ("containerd", "v1")
    assert (await runtime.status()).ready("RuntimeReady")
    for image in (BUSYBOX_IMAGE, PAUSE_IMAGE):
        found = await runtime.image_status(image)
        assert found is not None and found.id.startswith("sha256:")
    assert await runtime.image_status("pykube.local/nothing:1") is None
    with pytest.raises(rt.ImagePullError):  # no registry can be reached: ErrImagePull
        await ensure_image(runtime, "pykube.local/nothing:1")


async def test_host_network_pod_echo_lands_in_the_cri_log(
    runtime: CRIRuntime, containerd: Containerd
) -> None:
    began = time.monotonic()
    sandbox_id, container_id, sandbox = await run_pod(runtime, containerd.dir, "echo", ["echo", "hello"])
    print(f"\nhost-network pod + 1 container started in {(time.monotonic() - began) * 1000:.0f} ms")
    status = await wait_exited(runtime, container_id)
    assert (status.exit_code, status.reason) == (0, "Completed")
    assert status.log_path == f"{sandbox.log_directory}/main/0.log"
    raw = Path(status.log_path).read_text()  # noqa: ASYNC240 - a few bytes
    timestamp, stream, tag, content = raw.rstrip("\n").split(" ", 3)
    assert (stream, tag, content) == ("stdout", "F", "hello") and timestamp.endswith("Z")
    lines = [line async for line in runtime.read_container_log(container_id, rt.LogOptions())]
    assert [line.content for line in lines] == [b"hello"]
    assert (await runtime.pod_sandbox_status(sandbox_id)).host_network
    assert cgroup_dirs(sandbox.cgroup_parent), "the pod cgroup exists while the pod does"
    began = time.monotonic()
    await runtime.stop_pod_sandbox(sandbox_id)
    await runtime.remove_pod_sandbox(sandbox_id)
    print(f"teardown (stop + remove sandbox) {(time.monotonic() - began) * 1000:.0f} ms")
    remove_pod_cgroup(sandbox.cgroup_parent)
    assert cgroup_dirs(sandbox.cgroup_parent) == [], "the kubelet removes the pod cgroup"


async def test_exec_sync_output_exit_code_and_timeout(runtime: CRIRuntime, containerd: Containerd) -> None:
    _, container_id, _ = await run_pod(runtime, containerd.dir, "exec", ["sleep", "300"])
    result = await runtime.exec_sync(container_id, ["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=5)
    assert result == rt.ExecResult(3, b"out\n", b"err\n")
    code, out, _ = await runtime.exec_sync(container_id, ["grep", "Seccomp:", "/proc/self/status"])
    assert (code, out.split()) == (0, [b"Seccomp:", b"2"]), "RuntimeDefault seccomp (== 0 in proto) applied"
    with pytest.raises(rt.ExecTimeoutError):
        await runtime.exec_sync(container_id, ["sleep", "10"], timeout=1)
    endpoint = await runtime.exec(rt.ExecRequest(container_id, ["sh"], stdin=True))
    assert endpoint.url.startswith("http://127.0.0.1:") and "/exec/" in endpoint.url


async def test_too_small_memory_limit_is_oom_killed(runtime: CRIRuntime, containerd: Containerd) -> None:
    limit = rt.Resources(memory_limit_in_bytes=16 << 20)
    command = ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]  # one 64 MiB buffer
    _, container_id, _ = await run_pod(runtime, containerd.dir, "oom", command, resources=limit)
    status = await wait_exited(runtime, container_id)
    assert (status.exit_code, status.reason) == (137, "OOMKilled")


async def test_stop_waits_out_the_timeout_when_sigterm_is_ignored(
    runtime: CRIRuntime, containerd: Containerd
) -> None:
    # PID 1 in a PID namespace gets no default signal actions: `sleep` ignores SIGTERM
    _, container_id, _ = await run_pod(runtime, containerd.dir, "stop", ["sleep", "300"])
    began = time.monotonic()
    await runtime.stop_container(container_id, timeout=1)
    took = time.monotonic() - began
    status = await runtime.container_status(container_id)
    assert (status.state, status.exit_code) == (rt.ContainerState.EXITED, 137)
    assert 1.0 <= took < 5.0, took
    await runtime.remove_container(container_id)
    with pytest.raises(rt.NotFoundError):
        await runtime.container_status(container_id)


async def test_bridge_pods_reach_each_other(runtime: CRIRuntime, containerd: Containerd) -> None:
    serve = ["sh", "-c", "mkdir /www && echo hi-from-a > /www/index.html && exec httpd -f -p 8080 -h /www"]
    began = time.monotonic()
    server_sandbox, _, _ = await run_pod(runtime, containerd.dir, "web", serve, host_network=False)
    print(f"\nbridge-CNI pod + 1 container started in {(time.monotonic() - began) * 1000:.0f} ms")
    _, client, _ = await run_pod(runtime, containerd.dir, "client", ["sleep", "300"], host_network=False)
    ip = (await runtime.pod_sandbox_status(server_sandbox)).ip
    assert ip.startswith("10.88.7."), ip
    deadline = time.monotonic() + 5
    while True:  # httpd may still be binding its port (no `wget -T`: it segfaults in busybox 1.35)
        result = await runtime.exec_sync(client, ["wget", "-q", "-O", "-", f"http://{ip}:8080/"], timeout=5)
        if result.exit_code == 0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert result == rt.ExecResult(0, b"hi-from-a\n", b"")


async def test_teardown_leaves_no_containerd_process(containerd: Containerd) -> None:
    assert containerd.pid is not None
    containerd.stop()
    assert not _alive(containerd.pid)
    assert [pid for pid in containerd.shim_pids() if _alive(pid)] == []
