"""The kubelet's HTTPS server over the simulated runtime, driven as the API server drives it:
TLS with a client certificate from the cluster CA, logs over HTTP, exec/attach over
WebSocket ``v5.channel.k8s.io``, port-forward as SPDY inside a WebSocket."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from apimachinery import wsstream
from apiserver.pki import PKI, ensure_pki, issue_kubelet_serving
from kubelet import server
from kubelet.runtime import interface as rt
from kubelet.runtime.containerd import Containerd
from kubelet.runtime.cri import CRIRuntime
from kubelet.runtime.image_policy import ensure_image
from kubelet.runtime.simulated import SimulatedRuntime
from kubelet.streaming import spdy
from tests.kubelet.runtime.fakes import StepClock
from tests.kubelet.runtime.test_containerd import containerd  # noqa: F401 - the module's fixture
from tests.kubelet.runtime.test_containerd import run_pod as run_real_pod

IMAGE = "pykube.local/busybox:1.36"
pytestmark = pytest.mark.timeout(30)


@dataclass
class Kubelet:
    runtime: SimulatedRuntime
    clock: StepClock
    base: str
    client_tls: ssl.SSLContext
    pki: PKI

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, verify=self.client_tls)

    async def ws(self, path: str, protocols: list[str]) -> wsstream.WebSocket:
        return await wsstream.connect(self.base + path, protocols, ssl_context=self.client_tls)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def kubelet(tmp_path: Path) -> AsyncIterator[Kubelet]:
    pki = ensure_pki(tmp_path / "pki")
    cert, key = tmp_path / "kubelet.crt", tmp_path / "kubelet.key"
    issue_kubelet_serving(pki, "node-1", ["127.0.0.1"], cert, key)
    clock = StepClock()
    runtime = SimulatedRuntime("node-1", clock=clock)
    port = _free_port()
    stop = asyncio.Event()
    options = server.ServingOptions(cert, key, pki.ca_cert, address="127.0.0.1", port=port)
    task = asyncio.create_task(server.serve(server.create_app(runtime), options, shutdown_trigger=stop.wait))
    tls = ssl.create_default_context(cafile=str(pki.ca_cert))
    tls.load_cert_chain(pki.kubelet_client_cert, pki.kubelet_client_key)
    for _ in range(100):
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            break
        except OSError:
            await asyncio.sleep(0.02)
    yield Kubelet(runtime, clock, f"https://127.0.0.1:{port}", tls, pki)
    stop.set()
    await asyncio.wait_for(task, 10)


async def run_pod(
    runtime: SimulatedRuntime,
    name: str,
    command: list[str],
    annotations: dict[str, str] | None = None,
    attempt: int = 0,
    container_annotations: dict[str, str] | None = None,
) -> tuple[str, str]:
    meta = rt.PodSandboxMetadata(name, "default", f"uid-{name}")
    sc = rt.PodSandboxConfig(
        meta, hostname=name, log_directory=f"/logs/{name}", annotations=annotations or {}
    )
    existing = [s.id for s in await runtime.list_pod_sandbox() if s.metadata.name == name]
    sid = existing[0] if existing else await runtime.run_pod_sandbox(sc)
    await ensure_image(runtime, IMAGE)
    cfg = rt.ContainerConfig(
        rt.ContainerMetadata("c", attempt),
        IMAGE,
        command=command,
        log_path=f"c_{attempt}.log",
        annotations=container_annotations or {},
    )
    cid = await runtime.create_container(sid, cfg, sc)
    await runtime.start_container(cid)
    return sid, cid


async def test_a_client_without_a_cluster_certificate_is_refused(kubelet: Kubelet) -> None:
    anonymous = ssl.create_default_context(cafile=str(kubelet.pki.ca_cert))
    async with httpx.AsyncClient(base_url=kubelet.base, verify=anonymous) as client:
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            await client.get("/healthz")
    async with kubelet.http() as client:
        assert (await client.get("/healthz")).text == "ok"


LOG_KEY = "sim.pykube.io/logs"
LOGS = {LOG_KEY: "one\ntwo\nthree", "sim.pykube.io/run-seconds": "5"}

# (id, query, expected body or a predicate)
LOG_CASES = [
    ("plain", "", b"one\ntwo\nthree\n"),
    ("tail", "?tailLines=2", b"two\nthree\n"),
    ("tail-zero", "?tailLines=0", b""),
    ("limit-bytes", "?limitBytes=6", b"one\ntw"),
]


@pytest.mark.parametrize(("query", "expected"), [c[1:] for c in LOG_CASES], ids=[c[0] for c in LOG_CASES])
async def test_container_logs(kubelet: Kubelet, query: str, expected: bytes) -> None:
    await run_pod(kubelet.runtime, "web", ["sh"], LOGS)
    async with kubelet.http() as client:
        response = await client.get(f"/containerLogs/default/web/c{query}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.content == expected


async def test_logs_timestamps_follow_previous_and_errors(kubelet: Kubelet) -> None:
    await run_pod(kubelet.runtime, "web", ["sh"], LOGS)
    async with kubelet.http() as client:
        stamped = (await client.get("/containerLogs/default/web/c?timestamps=true")).text.splitlines()
        assert [line.split(" ", 1)[1] for line in stamped] == ["one", "two", "three"]
        assert all(len(line.split(" ", 1)[0]) == len("2024-12-11T10:00:00.123456789Z") for line in stamped)

        async def follow() -> bytes:
            async with client.stream("GET", "/containerLogs/default/web/c?follow=true") as r:
                return b"".join([chunk async for chunk in r.aiter_bytes()])

        follower = asyncio.create_task(follow())
        await asyncio.sleep(0.3)
        assert not follower.done()
        kubelet.clock.step(5)  # the container exits: the follow ends
        assert await asyncio.wait_for(follower, 5) == b"one\ntwo\nthree\n"

        missing = await client.get("/containerLogs/default/web/c?previous=true")
        assert (missing.status_code, missing.text) == (
            400,
            'previous terminated container "c" in pod "web" not found',
        )
        await run_pod(kubelet.runtime, "web", ["sh"], attempt=1, container_annotations={LOG_KEY: "second"})
        assert (await client.get("/containerLogs/default/web/c?previous=true")).text == "one\ntwo\nthree\n"
        assert (await client.get("/containerLogs/default/web/c")).text == "second\n"
        nowhere = await client.get("/containerLogs/default/nope/c")
        assert (nowhere.status_code, nowhere.text) == (404, 'pod "nope" does not exist')


async def exec_over_v5(
    ws: wsstream.WebSocket, stdin: bytes | None = None
) -> tuple[bytes, bytes, dict[str, object]]:
    if stdin is not None:
        await ws.send(b"\x00" + stdin)
        await ws.send(bytes([255, 0]))  # v5: stdin is done
    out, err, status = b"", b"", {}
    while (message := await ws.receive()) is not None:
        channel, payload = message[0], message[1:]
        if channel == 1:
            out += payload
        elif channel == 2:
            err += payload
        elif channel == 3:
            status = json.loads(payload)
    return out, err, status


async def test_exec_output_and_exit_codes(kubelet: Kubelet) -> None:
    annotations = {"sim.pykube.io/exec-output": "hi\n", "sim.pykube.io/exec-exit-code": "3"}
    await run_pod(kubelet.runtime, "web", ["sh"], annotations)
    ws = await kubelet.ws("/exec/default/web/c?command=sh&command=-c&command=exit+3&output=1", [wsstream.V5])
    assert ws.subprotocol == wsstream.V5
    out, _, status = await exec_over_v5(ws)
    assert out == b"hi\n"
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"] == {"causes": [{"reason": "ExitCode", "message": "3"}]}
    assert ws.close_code == 1000

    await run_pod(kubelet.runtime, "ok", ["sh"])
    ws = await kubelet.ws("/exec/default/ok/c?command=echo&command=hello&stdout=true", [wsstream.V5])
    assert await exec_over_v5(ws) == (b"hello\n", b"", {"metadata": {}, "status": "Success"})


async def test_exec_stdin_and_refusals(kubelet: Kubelet) -> None:
    await run_pod(kubelet.runtime, "web", ["sh"])
    ws = await kubelet.ws("/exec/default/web/c?command=cat&stdin=true&stdout=true", [wsstream.V5])
    out, _, status = await exec_over_v5(ws, stdin=b"ping\n")
    assert (out, status["status"]) == (b"ping\n", "Success")

    with pytest.raises(wsstream.UpgradeFailure) as refused:
        await kubelet.ws("/exec/default/nope/c?command=true", [wsstream.V5])
    assert (refused.value.status, refused.value.body) == (404, b'pod "nope" does not exist')
    with pytest.raises(wsstream.UpgradeFailure) as refused:
        await kubelet.ws("/exec/default/web/c?command=true", ["channel.k8s.io"])
    assert refused.value.status == 400


async def test_attach_follows_output_until_exit(kubelet: Kubelet) -> None:
    _, cid = await run_pod(kubelet.runtime, "web", ["sh"], {"sim.pykube.io/run-seconds": "1"})
    ws = await kubelet.ws("/attach/default/web/c?stdout=true", [wsstream.V5])
    await asyncio.sleep(0.1)
    kubelet.runtime._log(kubelet.runtime.containers[cid], "late line")
    kubelet.clock.step(1)
    out, _, status = await exec_over_v5(ws)
    assert (out, status["status"]) == (b"late line\n", "Success")


async def test_port_forward_spdy_over_websocket(kubelet: Kubelet) -> None:
    await run_pod(kubelet.runtime, "web", ["sh"])
    ws = await kubelet.ws("/portForward/default/web", [wsstream.SPDY_PORT_FORWARD])
    assert ws.subprotocol == wsstream.SPDY_PORT_FORWARD
    client, decoder = spdy.Framer(), spdy.Framer()
    await ws.send(client.syn_stream(1, {"streamtype": "error", "port": "80", "requestid": "0"}, fin=True))
    await ws.send(client.syn_stream(3, {"streamtype": "data", "port": "80", "requestid": "0"}))
    await ws.send(client.data(3, b"GET / HTTP/1.0\r\n\r\n"))
    await ws.send(client.ping(1))
    seen: list[spdy.Frame] = []
    while not any(f.type == 0 and f.stream_id == 3 and f.data for f in seen) or not any(
        f.type == spdy.PING for f in seen
    ):
        message = await asyncio.wait_for(ws.receive(), 5)
        assert message is not None
        seen += decoder.feed(message)
    replies = sorted(f.stream_id for f in seen if f.type == spdy.SYN_REPLY)
    assert replies == [1, 3]
    assert b"".join(f.data for f in seen if f.type == 0 and f.stream_id == 3) == b"GET / HTTP/1.0\r\n\r\n"
    assert [f.ping_id for f in seen if f.type == spdy.PING] == [1]

    await ws.send(client.data(3, b"", fin=True))  # the client is done: the echo closes, both streams end
    fins: set[int] = set()
    while fins != {1, 3}:
        message = await asyncio.wait_for(ws.receive(), 5)
        assert message is not None
        fins |= {f.stream_id for f in decoder.feed(message) if f.type == 0 and f.fin}
    await ws.close()


async def test_port_forward_v4_channels(kubelet: Kubelet) -> None:
    await run_pod(kubelet.runtime, "web", ["sh"])
    ws = await kubelet.ws("/portForward/default/web?ports=8080", [wsstream.V4])
    assert [await ws.receive(), await ws.receive()] == [b"\x00\x90\x1f", b"\x01\x90\x1f"]
    await ws.send(b"\x00hello")
    assert await asyncio.wait_for(ws.receive(), 5) == b"\x00hello"
    await ws.close()


# -- real containers: the same server over containerd (skipped unless root with containerd) --


@pytest.fixture
async def real_kubelet(
    tmp_path: Path,
    containerd: Containerd,  # noqa: F811 - the fixture imported above
) -> AsyncIterator[tuple[Kubelet, CRIRuntime]]:
    pki = ensure_pki(tmp_path / "pki")
    cert, key = tmp_path / "kubelet.crt", tmp_path / "kubelet.key"
    issue_kubelet_serving(pki, "node-1", ["127.0.0.1"], cert, key)
    runtime = CRIRuntime(containerd.endpoint)
    port, stop = _free_port(), asyncio.Event()
    options = server.ServingOptions(cert, key, pki.ca_cert, address="127.0.0.1", port=port)
    task = asyncio.create_task(server.serve(server.create_app(runtime), options, shutdown_trigger=stop.wait))
    tls = ssl.create_default_context(cafile=str(pki.ca_cert))
    tls.load_cert_chain(pki.kubelet_client_cert, pki.kubelet_client_key)
    await asyncio.sleep(0.3)
    before = {s.id for s in await runtime.list_pod_sandbox()}
    yield Kubelet(None, StepClock(), f"https://127.0.0.1:{port}", tls, pki), runtime  # type: ignore[arg-type]
    for sandbox in await runtime.list_pod_sandbox():
        if sandbox.id not in before:
            await runtime.stop_pod_sandbox(sandbox.id)
            await runtime.remove_pod_sandbox(sandbox.id)
    stop.set()
    await asyncio.wait_for(task, 10)
    await runtime.close()


async def test_containerd_logs_exec_and_port_forward(
    real_kubelet: tuple[Kubelet, CRIRuntime],
    containerd: Containerd,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    kubelet, runtime = real_kubelet
    script = "echo hello; echo pong > /tmp/index.html; httpd -f -p 18089 -h /tmp"
    await run_real_pod(runtime, tmp_path, "web", ["sh", "-c", script])
    await asyncio.sleep(0.5)
    async with kubelet.http() as client:
        assert (await client.get("/containerLogs/default/web/main")).text == "hello\n"
    ws = await kubelet.ws(
        "/exec/default/web/main?command=sh&command=-c&command=echo+hi%3B+exit+3&stdout=1&stderr=1",
        [wsstream.V5],
    )
    out, _, status = await exec_over_v5(ws)
    assert out == b"hi\n"
    assert status["details"] == {"causes": [{"reason": "ExitCode", "message": "3"}]}

    ws = await kubelet.ws("/portForward/default/web?ports=18089", [wsstream.V4])
    stream = portforward_channels(ws)
    await ws.send(b"\x00GET /index.html HTTP/1.0\r\n\r\n")
    body = b""
    while (chunk := await asyncio.wait_for(stream.__anext__(), 10)) is not None and b"pong" not in body:
        body += chunk
        if b"pong" in body:
            break
    assert b"200 OK" in body and b"pong" in body
    await ws.close()


async def portforward_channels(ws: wsstream.WebSocket) -> AsyncIterator[bytes | None]:
    """Data-channel payloads of a v4 port-forward (the two port prefixes skipped)."""
    prefixes = 0
    while (message := await ws.receive()) is not None:
        if prefixes < 2:
            prefixes += 1
            continue
        if message[0] == 0:
            yield message[1:]
    yield None
