"""The kubelet on REAL containers: a private containerd over CRI, the real API server, kubectl.

Skipped, with the reason, when not root or when containerd cannot start (see
tests/kubelet/runtime/test_containerd.py for the runtime alone). Pods use the
locally built ``pykube.local/busybox:1.36`` image; pod networking is the bridge CNI
plugin on its own bridge and CIDR, both removed at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelet.runtime.containerd import Containerd
from kubelet.runtime.cri import CRIRuntime
from kubelet.runtime.images import BUSYBOX_IMAGE
from kubelet.runtime.interface import LogOptions
from tests.apiserver.e2e.conftest import Server, start_server, stop_server
from tests.kubelet.containerd_env import private_containerd
from tests.kubelet.kubelet_thread import KubeletThread, wait_for
from tests.kubelet.test_e2e_simulated import apply, condition, container_state, get, make_pod, row

pytestmark = pytest.mark.slow
NODE = "ctd-node-1"
POD_CIDR = "10.88.9.0/24"
BRIDGE = "pyktest1"


@pytest.fixture(scope="module")
def containerd() -> Iterator[Containerd]:
    with private_containerd(prefix="pyk-kl-", pod_cidr=POD_CIDR, bridge=BRIDGE) as daemon:
        yield daemon


@pytest.fixture(scope="module")
def server(containerd: Containerd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start_server(tmp_path_factory.mktemp("apiserver"), "sqlite")
    try:
        yield s
    finally:
        stop_server(s)


@pytest.fixture(scope="module")
def kubelet(server: Server, containerd: Containerd) -> Iterator[KubeletThread]:
    root = Path(tempfile.mkdtemp(prefix="pyk-kubelet-", dir="/tmp"))
    k = KubeletThread(server.kubeconfig, NODE, root, lambda: CRIRuntime(containerd.endpoint), "containerd",
                      host_ip="127.0.0.1", pod_cidr=POD_CIDR, real_network=True)  # fmt: skip
    k.start()
    try:
        yield k
    finally:
        for pod in server.kubectl_json("get", "pods", "-A")["items"]:  # let the kubelet tear every pod down
            server.kubectl("delete", "pod", "-n", pod["metadata"]["namespace"], pod["metadata"]["name"],
                           "--wait=false", check=False)  # fmt: skip
        wait_for("pods gone", lambda: not server.kubectl_json("get", "pods", "-A")["items"], timeout=90)
        k.close()
        shutil.rmtree(root, ignore_errors=True)


_counter = iter(range(1_000_000))


@pytest.fixture
def ns(server: Server, kubelet: KubeletThread) -> str:
    name = f"c{next(_counter)}-{os.getpid() % 1000}"
    server.kubectl("create", "namespace", name)
    return name


def busybox(name: str, command: list[str], **extra: object) -> dict[str, object]:
    pod = make_pod(name, node=NODE, command=command, **extra)
    pod["spec"]["containers"][0]["image"] = BUSYBOX_IMAGE  # type: ignore[index]
    return pod


def test_node_reports_the_containerd_version(server: Server, kubelet: KubeletThread) -> None:
    node = wait_for("node", lambda: server.kubectl_json("get", "node", NODE))
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://")
    assert condition({"status": node["status"]}, "Ready") == "True"


def test_kubectl_run_echo_completes_and_logs(server: Server, ns: str, kubelet: KubeletThread) -> None:
    server.kubectl("run", "echo", "-n", ns, f"--image={BUSYBOX_IMAGE}", "--restart=Never",
                   f'--overrides={{"spec":{{"nodeName":"{NODE}"}}}}', "--", "echo", "hello from busybox")  # fmt: skip
    assert wait_for("Completed", lambda: row(server, ns, "echo")[2] == "Completed", timeout=30)
    pod = get(server, ns, "echo")
    assert pod["status"]["phase"] == "Succeeded"
    assert container_state(pod)["terminated"]["exitCode"] == 0
    assert pod["status"]["containerStatuses"][0]["containerID"].startswith("containerd://")
    assert kubelet.kubelet is not None

    async def logs() -> list[bytes]:
        assert kubelet.kubelet is not None
        where = await kubelet.kubelet.lookup.container(ns, "echo", "echo")
        assert where is not None and where.log_path.endswith("echo/0.log")
        return [
            line.content
            async for line in kubelet.runtime.read_container_log(where.container_id, LogOptions())
        ]

    assert b"hello from busybox" in kubelet.call(logs())


def test_httpd_runs_on_its_pod_ip_and_readiness_gates_ready(server: Server, ns: str) -> None:
    probe = {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}
    pod = busybox(
        "web", ["sh", "-c", "mkdir -p /www && echo hi > /www/index.html && httpd -f -p 8080 -h /www"]
    )
    pod["spec"]["containers"][0]["readinessProbe"] = probe  # type: ignore[index]
    apply(server, ns, pod)
    assert wait_for("1/1 Running", lambda: row(server, ns, "web")[1:3] == ["1/1", "Running"], timeout=30)
    ip = get(server, ns, "web")["status"]["podIP"]
    assert ip.startswith("10.88.9.")
    with urllib.request.urlopen(f"http://{ip}:8080/", timeout=5) as r:
        assert r.read() == b"hi\n"


def test_pod_reaches_another_pod_over_its_pod_ip(server: Server, ns: str) -> None:
    server_pod = busybox(
        "srv", ["sh", "-c", "mkdir -p /www && echo pong > /www/ping && httpd -f -p 8080 -h /www"]
    )
    apply(server, ns, server_pod)
    wait_for("srv Running", lambda: row(server, ns, "srv")[1:3] == ["1/1", "Running"], timeout=30)
    ip = get(server, ns, "srv")["status"]["podIP"]
    # a second pod, in its own network namespace, fetches from the first over the bridge
    client = busybox("cli", ["wget", "-q", "-O", "-", f"http://{ip}:8080/ping"], restartPolicy="Never")
    apply(server, ns, client)
    assert wait_for("cli Completed", lambda: row(server, ns, "cli")[2] == "Completed", timeout=30)
    cli = get(server, ns, "cli")
    assert cli["status"]["podIP"] != ip and container_state(cli)["terminated"]["exitCode"] == 0


def test_memory_limit_exceeded_is_reported_oom_killed(server: Server, ns: str) -> None:
    # the container's only process asks for one 64 MiB buffer under a 16 MiB limit: the
    # kernel's OOM killer ends it (SIGKILL, 128 + 9) and the runtime reports why
    pod = busybox("hog", ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"], restartPolicy="Never")
    pod["spec"]["containers"][0]["resources"] = {"limits": {"memory": "16Mi"}}  # type: ignore[index]
    apply(server, ns, pod)
    assert wait_for("OOMKilled", lambda: row(server, ns, "hog")[2] == "OOMKilled", timeout=30)
    terminated = container_state(get(server, ns, "hog"))["terminated"]
    assert (terminated["reason"], terminated["exitCode"]) == ("OOMKilled", 137)


def test_crash_loop_back_off_grows(server: Server, ns: str) -> None:
    apply(server, ns, busybox("crash", ["sh", "-c", "exit 3"]))
    seen: list[str] = []

    def at_4s() -> bool:
        message = container_state(get(server, ns, "crash")).get("waiting", {}).get("message", "")
        if message and (not seen or seen[-1] != message):
            seen.append(message)
        return "back-off 4s" in message

    assert wait_for("back-off 4s", at_4s, timeout=60, interval=0.1)
    assert [m.split()[1] for m in seen][:3] == ["1s", "2s", "4s"]
    assert (
        get(server, ns, "crash")["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 3
    )


def test_graceful_delete_waits_for_a_process_that_ignores_sigterm(server: Server, ns: str) -> None:
    pod = busybox(
        "stubborn", ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"], terminationGracePeriodSeconds=2
    )
    apply(server, ns, pod)
    wait_for("Running", lambda: row(server, ns, "stubborn")[2] == "Running", timeout=30)
    began = time.monotonic()
    server.kubectl("delete", "pod", "-n", ns, "stubborn", timeout=60)
    assert 1.8 <= time.monotonic() - began < 15


def test_liveness_failure_restarts(server: Server, ns: str) -> None:
    # sleep as PID 1 has no SIGTERM handler: the kill waits out the grace period (1 s here)
    pod = busybox("sick", ["sleep", "3600"], terminationGracePeriodSeconds=1)
    pod["spec"]["containers"][0]["livenessProbe"] = {  # type: ignore[index]
        "exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 1,
    }  # fmt: skip
    apply(server, ns, pod)
    assert wait_for(
        "restart",
        lambda: get(server, ns, "sick")["status"]["containerStatuses"][0]["restartCount"] >= 1,
        timeout=30,
    )
    events = server.kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.name=sick").stdout
    assert "Liveness probe failed" in events


def _log(kubelet: KubeletThread, ns: str, pod: str, container: str) -> bytes:
    """A container's log read through the runtime (this thread kubelet serves no HTTPS endpoint)."""

    async def read() -> bytes:
        assert kubelet.kubelet is not None
        where = await kubelet.kubelet.lookup.container(ns, pod, container)
        if where is None:
            return b""
        return b"".join(
            [
                line.content
                async for line in kubelet.runtime.read_container_log(where.container_id, LogOptions())
            ]
        )

    return kubelet.call(read())


def test_post_start_hook_runs_in_the_container_before_it_counts_as_started(
    server: Server, ns: str, kubelet: KubeletThread
) -> None:
    # The hook writes a file inside the container; the main process waits for it, so the
    # log line proves the hook ran in the container's own filesystem (CRI ExecSync).
    pod = busybox("hooked", ["sh", "-c", "while [ ! -f /tmp/hook ]; do sleep 0.1; done; cat /tmp/hook; sleep 3600"],
                  terminationGracePeriodSeconds=1)  # fmt: skip
    pod["spec"]["containers"][0]["lifecycle"] = {  # type: ignore[index]
        "postStart": {"exec": {"command": ["sh", "-c", "echo from-post-start > /tmp/hook"]}}
    }
    apply(server, ns, pod)
    assert wait_for("Running", lambda: row(server, ns, "hooked")[1:3] == ["1/1", "Running"], timeout=30)
    assert wait_for(
        "hook output in the log",
        lambda: b"from-post-start" in _log(kubelet, ns, "hooked", "c"),
        timeout=15,
    )


def test_failed_post_start_hook_kills_the_container(server: Server, ns: str) -> None:
    pod = busybox("badhook", ["sleep", "3600"], terminationGracePeriodSeconds=1, restartPolicy="Never")
    pod["spec"]["containers"][0]["lifecycle"] = {  # type: ignore[index]
        "postStart": {"exec": {"command": ["sh", "-c", "exit 7"]}}
    }
    apply(server, ns, pod)
    assert wait_for(
        "Failed", lambda: get(server, ns, "badhook")["status"].get("phase") == "Failed", timeout=30
    )
    events = server.kubectl(
        "get", "events", "-n", ns, "--field-selector", "involvedObject.name=badhook"
    ).stdout
    assert "FailedPostStartHook" in events


def test_kubelet_restart_keeps_containers(
    server: Server, ns: str, kubelet: KubeletThread, containerd: Containerd
) -> None:
    apply(server, ns, busybox("steady", ["sleep", "3600"], terminationGracePeriodSeconds=1))
    wait_for("Running", lambda: row(server, ns, "steady")[1:3] == ["1/1", "Running"], timeout=30)
    before = get(server, ns, "steady")["status"]["containerStatuses"][0]
    kubelet.stop()
    kubelet.runtime = kubelet.call(kubelet._make(lambda: CRIRuntime(containerd.endpoint)))  # a new connection
    kubelet.start()
    time.sleep(2)
    after = get(server, ns, "steady")["status"]["containerStatuses"][0]
    assert after["containerID"] == before["containerID"] and after["restartCount"] == 0
