"""Pod startup latency through the kubelet: pod created → ``Running`` seen on a watch.

Run: ``.venv/bin/python -m bench.kubelet [--quick] [--skip-containerd] [--skip-simulated]``

* **containerd**: a private containerd (kubelet/runtime/containerd.py, bridge CNI), the
  API server, and ``python -m kubelet --runtime containerd`` as its own process. First
  single pods one after another (each created, watched to Running, deleted), then 20
  pods created at once. Pods run the local busybox image (present: no pull), so this is
  the kubelet + CRI + runc path alone. Needs root; skipped with the reason otherwise.
* **simulated**: ``python -m kubelet.sim --nodes 100`` (100 real kubelets over simulated
  runtimes in one process) and 1,000 pods created with ``spec.nodeName`` spread over
  the nodes by 16 concurrent clients (no scheduler in the path).

Reported: p50 / p99 of (Running seen - create sent) per pod, and for batches the wall
time from the first create to the last Running. Anchors: the Kubernetes pod startup
SLO is p99 ≤ 5 s excluding image pull; a bare CRI pod start here is ~125 ms.
Targets: containerd single pod p99 ≤ 1 s; 1,000 simulated pods Running in ≤ 20 s.

This is a benchmark, not a test: nothing asserts. ``--quick`` keeps it under a minute.
Mirrors: test/e2e/node/density.go and the SIG-scalability pod startup SLI.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from client.rest import NODES, PODS, RESTClient
from client.transport import TransportError
from tests.apiserver.e2e.conftest import ROOT, Server, start_server, stop_server

from ._common import quantiles_ms

NAMESPACE = "default"
CLIENTS = 16


def pod(name: str, node: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "c", "image": image, "command": ["sleep", "3600"]}],
        },
    }


class Watcher:
    """Records when each pod is first seen with phase Running."""

    def __init__(self, rest: RESTClient) -> None:
        self.rest, self.running = rest, {}  # type: RESTClient, dict[str, float]
        self._task: asyncio.Task[None] | None = None
        self._waiters: list[tuple[set[str], asyncio.Future[None]]] = []

    async def start(self) -> None:
        listed = await self.rest.list(PODS, namespace=NAMESPACE)
        rv = listed["metadata"]["resourceVersion"]

        async def run() -> None:
            async with self.rest.watch(
                PODS, namespace=NAMESPACE, resource_version=rv, timeout_seconds=3600
            ) as ev:
                async for event in ev:
                    obj = event["object"]
                    name = obj.get("metadata", {}).get("name")
                    if (obj.get("status") or {}).get("phase") == "Running" and name not in self.running:
                        self.running[name] = time.monotonic()
                        for names, fut in self._waiters:
                            if names <= self.running.keys() and not fut.done():
                                fut.set_result(None)

        self._task = asyncio.get_running_loop().create_task(run())

    async def wait(self, names: set[str], limit: float) -> None:
        if names <= self.running.keys():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((names, fut))
        await asyncio.wait_for(fut, limit)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def create_all(rest: RESTClient, pods: list[dict[str, Any]]) -> dict[str, float]:
    sent: dict[str, float] = {}
    queue = iter(pods)

    async def client() -> None:
        for p in queue:
            sent[p["metadata"]["name"]] = time.monotonic()
            for attempt in range(3):  # a keep-alive connection the server just closed
                try:
                    await rest.create(PODS, p, namespace=NAMESPACE)
                    break
                except TransportError:
                    if attempt == 2:
                        raise

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return sent


async def wait_nodes(rest: RESTClient, count: int, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        nodes = (await rest.list(NODES))["items"]
        ready = [n for n in nodes if any(c["type"] == "Ready" and c["status"] == "True"
                                         for c in (n.get("status") or {}).get("conditions") or [])]  # fmt: skip
        if len(ready) >= count:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{count} nodes not Ready within {limit}s")


def line(label: str, latencies: list[float], wall: float | None = None) -> str:
    p50, p99 = quantiles_ms(latencies)
    wall_text = f"{wall:.2f} s" if wall is not None else "-"
    return f"| {label} | {len(latencies)} | {p50:.0f} ms | {p99:.0f} ms | {wall_text} |"


async def batch(
    rest: RESTClient, watcher: Watcher, pods: list[dict[str, Any]], limit: float
) -> tuple[list[float], float]:
    began = time.monotonic()
    sent = await create_all(rest, pods)
    await watcher.wait(set(sent), limit)
    lat = [watcher.running[n] - sent[n] for n in sent]
    return lat, max(watcher.running[n] for n in sent) - began


def start_process(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def simulated(server: Server, work: Path, nodes: int, pods: int, events: bool = True) -> list[str]:
    args = ["-m", "kubelet.sim", "--kubeconfig", str(server.kubeconfig), "--nodes", str(nodes)]
    args += ["--root-dir", str(work / "sim"), *([] if events else ["--no-events"])]
    sim = start_process(args, work / "sim.log")
    rows = []
    try:
        async with RESTClient.from_kubeconfig(server.kubeconfig) as rest:
            await wait_nodes(rest, nodes)
            watcher = Watcher(rest)
            await watcher.start()
            objs = [pod(f"sim-{i}", f"sim-{i % nodes}", "busybox:1.36") for i in range(pods)]
            lat, wall = await batch(rest, watcher, objs, limit=300)
            label = f"simulated: {pods} pods on {nodes} nodes" + ("" if events else ", no Events")
            rows.append(line(label, lat, wall))
            await watcher.stop()
    finally:
        stop_process(sim)
    return rows


async def containerd(server: Server, work: Path, singles: int, burst: int) -> list[str]:
    from kubelet.runtime.containerd import Containerd
    from kubelet.runtime.images import BUSYBOX_IMAGE, ensure_images

    base = Path(tempfile.mkdtemp(prefix="pyk-bench-", dir="/tmp"))
    daemon = Containerd(base, pod_cidr="10.88.20.0/24", bridge="pykbench0")
    ip_forward = IP_FORWARD.read_text()  # noqa: ASYNC240 - setup, before anything is timed
    daemon.start()
    ensure_images(daemon.socket, base / "images")
    kubelet = start_process(["-m", "kubelet", "--kubeconfig", str(server.kubeconfig), "--node-name", "ctd-0",
                             "--runtime", "containerd", "--containerd-socket", daemon.socket,
                             "--root-dir", str(base / "kubelet"), "--pod-cidr", "10.88.20.0/24"],
                            work / "kubelet.log")  # fmt: skip
    rows = []
    try:
        async with RESTClient.from_kubeconfig(server.kubeconfig) as rest:
            await wait_nodes(rest, 1)
            watcher = Watcher(rest)
            await watcher.start()
            single = []
            for i in range(singles):
                lat, _ = await batch(rest, watcher, [pod(f"one-{i}", "ctd-0", BUSYBOX_IMAGE)], limit=60)
                single += lat
                await rest.delete(PODS, f"one-{i}", namespace=NAMESPACE, grace_period_seconds=0)
            rows.append(line("containerd: single pod, one at a time", single))
            lat, wall = await batch(
                rest, watcher, [pod(f"many-{i}", "ctd-0", BUSYBOX_IMAGE) for i in range(burst)], 120
            )
            rows.append(line(f"containerd: {burst} pods at once", lat, wall))
            for i in range(burst):
                await rest.delete(PODS, f"many-{i}", namespace=NAMESPACE, grace_period_seconds=0)
            await watcher.stop()
            await asyncio.sleep(3)  # let the kubelet tear the pods down before it stops
    finally:
        stop_process(kubelet)
        teardown(daemon, base, ip_forward)
    return rows


IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


def teardown(daemon: Any, base: Path, ip_forward: str) -> None:
    """Stop our containerd (by PID), undo what the bridge plugin changed, remove the state."""
    daemon.stop()
    daemon.unmount_all()
    IP_FORWARD.write_text(ip_forward)  # the bridge plugin turned forwarding on
    subprocess.run(["ip", "link", "del", "pykbench0"], capture_output=True)
    shutil.rmtree(base, ignore_errors=True)


def containerd_unavailable() -> str:
    if os.geteuid() != 0:
        return "not root"
    for tool in ("containerd", "runc", "ctr"):
        if shutil.which(tool) is None:
            return f"{tool} not installed (kubelet/runtime/install.sh)"
    return ""


async def amain(a: argparse.Namespace) -> None:
    rows = ["| what | pods | p50 | p99 | first create → last Running |", "|---|---|---|---|---|"]
    if not a.skip_containerd:
        if reason := containerd_unavailable():
            print(f"containerd skipped: {reason}")
        else:
            work = Path(tempfile.mkdtemp(prefix="bench-kubelet-"))
            server = start_server(work, "sqlite")
            try:
                rows += await containerd(server, work, 5 if a.quick else 20, 5 if a.quick else 20)
            finally:
                stop_server(server)
    if not a.skip_simulated:
        nodes, pods = (20, 200) if a.quick else (100, 1000)
        for events in (True,) if a.quick else (True, False):
            work = Path(tempfile.mkdtemp(prefix="bench-kubelet-"))
            server = start_server(work, "sqlite")  # a fresh API server for each run
            try:
                rows += await simulated(server, work, nodes, pods, events)
            finally:
                stop_server(server)
    print("\n".join(rows))


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.kubelet")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--skip-containerd", action="store_true")
    p.add_argument("--skip-simulated", action="store_true")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(amain(p.parse_args()))


if __name__ == "__main__":
    main()
