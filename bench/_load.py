"""The load generator: HTTP/1.1 keep-alive clients in their own processes.

The server under test is one Python process on a 2-core machine, so the clients must
not share its interpreter, or we would measure the client. ``load()`` starts
``procs`` spawned processes, each running ``clients // procs`` asyncio tasks, each on
its own keep-alive TLS connection with the admin client certificate, spoken by
``_rawhttp.RawConnection`` (httpx cost the clients more than the server cost the
server); each task repeats its operation until the deadline and times each one.
The parent also reads the server's CPU time from ``/proc`` around the run: a server near
100% of one core is the bottleneck; one well below it means the clients were.

Operations (``Op``): ``get`` a path; ``create`` (POST a configmap with a fresh name);
``walk`` (GET a list and follow ``metadata.continue`` up to ``max_pages``).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import ssl
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import orjson

from ._rawhttp import RawConnection

#: Seconds the spawned clients get to import and connect before the measured window opens.
STARTUP = 1.5


@dataclass(frozen=True)
class Target:
    """Where and how to connect: base URL, the CA file, the admin cert+key PEM."""

    base_url: str
    ca: Path
    cert: Path


@dataclass(frozen=True)
class Op:
    kind: str  # "get" | "create" | "walk"
    path: str
    max_pages: int = 1


@dataclass
class LoadResult:
    ops: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    server_cpu: float = 0.0  # fraction of one core the server used during the run

    @property
    def per_s(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0


def client(target: Target, connections: int) -> httpx.AsyncClient:
    tls = ssl.create_default_context(cafile=str(target.ca))
    tls.load_cert_chain(str(target.cert))
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(
        base_url=target.base_url, verify=tls, http1=True, http2=False, limits=limits, timeout=60
    )


def configmap(name: str) -> bytes:
    return orjson.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v" * 200}}
    )


async def sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.perf_counter()))


def tls_context(target: Target) -> ssl.SSLContext:
    tls = ssl.create_default_context(cafile=str(target.ca))
    tls.load_cert_chain(str(target.cert))
    tls.set_alpn_protocols(["http/1.1"])
    return tls


async def _run(target: Target, op: Op, tasks: int, start: float, seconds: float, tag: str) -> LoadResult:
    out = LoadResult()
    tls = tls_context(target)
    conns = [await RawConnection.open(target.base_url, tls) for _ in range(tasks)]

    async def once(t: int, i: int) -> None:
        http = conns[t]
        if op.kind == "get":
            status, _ = await http.request("GET", op.path)
        elif op.kind == "create":
            status, _ = await http.request("POST", op.path, configmap(f"{tag}-{t}-{i}"))
        else:
            path, pages = op.path, 0
            while True:
                status, body = await http.request("GET", path)
                pages += 1
                token = orjson.loads(body)["metadata"].get("continue") if status < 300 else None
                if not token or pages >= op.max_pages:
                    break
                path = f"{op.path}&continue={token}"
        if status >= 300:
            out.errors += 1

    async def worker(t: int) -> None:
        i = 0
        while time.perf_counter() < deadline:
            begin = time.perf_counter()
            try:
                await once(t, i)
            except (OSError, asyncio.IncompleteReadError):
                out.errors += 1
                conns[t] = await RawConnection.open(target.base_url, tls)
                continue
            out.latencies.append(time.perf_counter() - begin)
            i += 1

    await once(0, -1)  # import and warm up before the clock starts
    await sleep_until(start)  # every process starts together (perf_counter is system-wide)
    deadline = start + seconds
    await asyncio.gather(*(worker(t) for t in range(tasks)))
    out.seconds = time.perf_counter() - start
    for c in conns:
        await c.close()
    out.ops = len(out.latencies)
    return out


def _child(
    target: Target, op: Op, tasks: int, start: float, seconds: float, tag: str, conn: Connection
) -> None:
    conn.send(asyncio.run(_run(target, op, tasks, start, seconds, tag)))
    conn.close()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds (``/proc/PID/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(target: Target, op: Op, *, clients: int, procs: int, seconds: float, server_pid: int) -> LoadResult:
    """Run ``op`` from ``clients`` connections spread over ``procs`` processes for ``seconds``."""
    ctx = multiprocessing.get_context("spawn")
    pipes, children = [], []
    start = time.perf_counter() + STARTUP
    for p in range(procs):
        parent, child = ctx.Pipe(duplex=False)
        tasks = clients // procs + (1 if p < clients % procs else 0)
        proc = ctx.Process(
            target=_child, args=(target, op, tasks, start, seconds, f"c{p}x{time.time_ns()}", child)
        )
        proc.start()
        child.close()
        pipes.append(parent)
        children.append(proc)
    time.sleep(max(0.0, start - time.perf_counter()))
    cpu0 = cpu_seconds(server_pid)
    time.sleep(seconds)
    cpu = (cpu_seconds(server_pid) - cpu0) / seconds
    results: list[LoadResult] = [pipe.recv() for pipe in pipes]
    for proc in children:
        proc.join()
    total = LoadResult(server_cpu=cpu)
    for r in results:
        total.ops += r.ops
        total.errors += r.errors
        total.latencies += r.latencies
        total.seconds = max(total.seconds, r.seconds)
    return total
