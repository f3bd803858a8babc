"""``kubectl logs``, ``exec``, ``attach`` and ``port-forward`` end to end: the real kubectl,
the real API server process, and a kubelet server (kubelet/server.py) over a runtime.

The kubelet runs in this process on its own event loop thread. Its pods are made
directly through the runtime (sandbox + containers named after the API object, which
is all the kubelet's lookup needs), and the Node object it answers for is registered
here with its address and ``daemonEndpoints.kubeletEndpoint.Port``, so the API server
finds it exactly as it would find a real node. The simulated runtime's behaviour comes
from pod annotations (kubelet/runtime/simulated_behaviour.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from apiserver.pki import PKI, issue_kubelet_serving
from kubelet import server as kubelet_server
from kubelet.runtime import interface as rt
from kubelet.runtime.image_policy import ensure_image
from kubelet.runtime.simulated import SimulatedRuntime
from tests.apiserver.e2e.conftest import Server, free_port

pytestmark = pytest.mark.timeout(120)
T = TypeVar("T")
IMAGE = "pykube.local/busybox:1.36"
NODE = "node-stream"


@dataclass
class Node:
    """A kubelet server on a background loop, and the Node object pointing at it."""

    runtime: SimulatedRuntime
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)


@pytest.fixture(scope="module")
def node(server: Server) -> Iterator[Node]:
    pki = PKI(server.data_dir / "pki")
    cert, key = server.home / "kubelet.crt", server.home / "kubelet.key"
    issue_kubelet_serving(pki, NODE, ["127.0.0.1"], cert, key)
    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop: asyncio.Event | None = None
    holder: dict[str, SimulatedRuntime] = {}

    async def main() -> None:
        nonlocal stop
        stop = asyncio.Event()
        holder["runtime"] = runtime = SimulatedRuntime(NODE)
        options = kubelet_server.ServingOptions(cert, key, pki.ca_cert, address="127.0.0.1", port=port)
        serving = asyncio.create_task(
            kubelet_server.serve(kubelet_server.create_app(runtime), options, shutdown_trigger=stop.wait)
        )
        ready.set()
        await serving

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        threading.Event().wait(0.05)

    with server.http() as http:
        body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}}
        assert http.post("/api/v1/nodes", json=body).status_code in (201, 409)
        status = {
            "status": {
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
            }
        }
        r = http.patch(
            f"/api/v1/nodes/{NODE}/status",
            content=json.dumps(status),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 200, r.text
    yield Node(holder["runtime"], loop)
    assert stop is not None
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)


def make_pod(
    server: Server,
    node: Node,
    ns: str,
    name: str,
    containers: dict[str, list[str]],
    annotations: dict[str, str] | None = None,
    *,
    scheduled: bool = True,
) -> None:
    """The API object (bound to the node, phase Running) and its sandbox + containers."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "annotations": annotations or {}},
        "spec": {
            "containers": [{"name": c, "image": IMAGE, "command": cmd} for c, cmd in containers.items()],
            **({"nodeName": NODE} if scheduled else {}),
        },
    }
    server.kubectl("apply", "-f", "-", input=json.dumps(pod))
    if not scheduled:
        return
    with server.http() as http:
        status = {"status": {"phase": "Running"}}
        r = http.patch(
            f"/api/v1/namespaces/{ns}/pods/{name}/status",
            content=json.dumps(status),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 200, r.text
    node.run(_start(node.runtime, ns, name, containers, annotations or {}))


async def _start(
    runtime: SimulatedRuntime,
    ns: str,
    name: str,
    containers: dict[str, list[str]],
    annotations: dict[str, str],
    attempt: int = 0,
    container_annotations: dict[str, str] | None = None,
) -> None:
    meta = rt.PodSandboxMetadata(name, ns, f"uid-{ns}-{name}")
    sc = rt.PodSandboxConfig(meta, hostname=name, log_directory=f"/logs/{ns}_{name}", annotations=annotations)
    existing = [
        s.id
        for s in await runtime.list_pod_sandbox()
        if s.metadata.name == name and s.metadata.namespace == ns
    ]
    sid = existing[0] if existing else await runtime.run_pod_sandbox(sc)
    await ensure_image(runtime, IMAGE)
    for cname, cmd in containers.items():
        cfg = rt.ContainerConfig(
            rt.ContainerMetadata(cname, attempt),
            IMAGE,
            command=cmd,
            log_path=f"{cname}_{attempt}.log",
            annotations=container_annotations or {},
        )
        cid = await runtime.create_container(sid, cfg, sc)
        await runtime.start_container(cid)


LOGS = {"sim.pykube.io/logs": "one\ntwo\nthree"}


def test_logs_plain_tail_timestamps_container(server: Server, node: Node, ns: str) -> None:
    make_pod(server, node, ns, "web", {"c": ["sh"]}, LOGS)
    assert server.kubectl("logs", "web", "-n", ns).stdout == "one\ntwo\nthree\n"
    assert server.kubectl("logs", "web", "-n", ns, "--tail=1").stdout == "three\n"
    stamped = server.kubectl("logs", "web", "-n", ns, "--timestamps").stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["one", "two", "three"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", ln.split(" ")[0]) for ln in stamped)
    assert server.kubectl("logs", "web", "-n", ns, "--limit-bytes=5").stdout == "one\nt"

    make_pod(server, node, ns, "two", {"a": ["sh"], "b": ["sh"]}, {"sim.pykube.io/logs.b": "from b"})
    assert server.kubectl("logs", "two", "-n", ns, "-c", "b").stdout == "from b\n"
    r = server.kubectl("get", "--raw", f"/api/v1/namespaces/{ns}/pods/two/log", check=False)
    assert "a container name must be specified for pod two, choose one of: [a b]" in r.stderr
    r = server.kubectl("logs", "two", "-n", ns, "-c", "nope", check=False)
    assert r.returncode != 0 and "container nope is not valid for pod two" in r.stderr


def test_logs_follow_ends_when_the_container_exits(server: Server, node: Node, ns: str) -> None:
    make_pod(server, node, ns, "job", {"c": ["sh"]}, {**LOGS, "sim.pykube.io/run-seconds": "2"})
    r = server.kubectl("logs", "-f", "job", "-n", ns, timeout=20)
    assert r.stdout == "one\ntwo\nthree\n"


def test_logs_previous_after_a_restart(server: Server, node: Node, ns: str) -> None:
    make_pod(server, node, ns, "web", {"c": ["sh"]}, LOGS)
    r = server.kubectl("logs", "web", "-n", ns, "--previous", check=False)
    assert r.returncode == 1
    assert 'previous terminated container "c" in pod "web" not found' in r.stderr
    restart = _start(node.runtime, ns, "web", {"c": ["sh"]}, LOGS, 1, {"sim.pykube.io/logs": "second"})
    node.run(restart)
    assert server.kubectl("logs", "web", "-n", ns, "--previous").stdout == "one\ntwo\nthree\n"
    assert server.kubectl("logs", "web", "-n", ns).stdout == "second\n"


def test_logs_of_an_unscheduled_pod_are_empty(server: Server, node: Node, ns: str) -> None:
    make_pod(server, node, ns, "pending", {"c": ["sh"]}, scheduled=False)
    assert server.kubectl("logs", "pending", "-n", ns).stdout == ""


def test_exec_prints_output_and_exits_with_the_command_code(server: Server, node: Node, ns: str) -> None:
    make_pod(
        server,
        node,
        ns,
        "web",
        {"c": ["sh"]},
        {"sim.pykube.io/exec-output": "hi\n", "sim.pykube.io/exec-exit-code": "3"},
    )
    r = server.kubectl("exec", "web", "-n", ns, "--", "sh", "-c", "echo hi; exit 3", check=False)
    assert (r.returncode, r.stdout) == (3, "hi\n"), r.stderr
    assert "command terminated with exit code 3" in r.stderr

    make_pod(server, node, ns, "plain", {"c": ["sh"]})
    r = server.kubectl("exec", "plain", "-n", ns, "--", "echo", "hello", "there")
    assert (r.returncode, r.stdout) == (0, "hello there\n")


def test_exec_with_stdin(server: Server, node: Node, ns: str) -> None:
    make_pod(server, node, ns, "web", {"c": ["sh"]})
    r = server.kubectl("exec", "-i", "web", "-n", ns, "--", "cat", input="hello\nworld\n")
    assert r.stdout == "hello\nworld\n"


def test_exec_refusals_are_the_servers_words(server: Server, node: Node, ns: str) -> None:
    make_pod(server, node, ns, "pending", {"c": ["sh"]}, scheduled=False)
    r = server.kubectl("exec", "pending", "-n", ns, "--", "true", check=False)
    assert r.returncode == 1 and "pod pending does not have a host assigned" in r.stderr
    r = server.kubectl("exec", "ghost", "-n", ns, "--", "true", check=False)
    assert r.returncode == 1 and 'pods "ghost" not found' in r.stderr


def test_attach_streams_until_the_container_exits(server: Server, node: Node, ns: str) -> None:
    make_pod(server, node, ns, "web", {"c": ["sh"]}, {"sim.pykube.io/run-seconds": "3"})
    r = server.kubectl("attach", "web", "-n", ns, timeout=30, check=False)
    assert r.returncode == 0, r.stderr


def test_port_forward_carries_bytes_both_ways(server: Server, node: Node, ns: str) -> None:
    make_pod(server, node, ns, "web", {"c": ["sh"]})
    proc = subprocess.Popen(
        ["kubectl", "port-forward", "-n", ns, "pod/web", ":80"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=server.env(),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> 80", line)
        assert match, line + (proc.stderr.read() if proc.stderr and proc.poll() is not None else "")
        for message in (b"GET / HTTP/1.0\r\n\r\n", b"second connection"):
            with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=10) as conn:
                conn.sendall(message)
                received = b""
                while len(received) < len(message):
                    received += conn.recv(65536)
                assert received == message  # the simulated pod echoes
    finally:
        proc.terminate()
        proc.wait(10)
