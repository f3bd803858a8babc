"""Watch fan-out over HTTP: watcher processes hold the streams, a writer process creates.

``watch_fanout`` opens ``watchers`` watch streams (``GET ...?watch=1``, HTTP/1.1
chunked, one connection each) spread over ``procs`` processes; once every stream is
open (its response headers are in), a separate writer
process creates configmaps at ``rate``/s (open loop) in the watched namespace. Latency
is per delivery: from the moment the writer *sent* the create to the moment a watcher
read the event's line, matched by object name; ``perf_counter`` is one clock for every
process on the machine. Nothing here runs in the server's process.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from multiprocessing.connection import Connection

import httpx
import orjson

from ._load import STARTUP, Target, client, configmap, sleep_until, tls_context
from ._rawhttp import RawConnection

Receipts = list[tuple[str, float]]


async def _watch(
    target: Target, path: str, streams: int, expect: int, until: float, ready: Connection
) -> Receipts:
    receipts: Receipts = []
    tls = tls_context(target)
    opened = 0

    async def one() -> None:
        nonlocal opened
        seen = 0
        conn = await RawConnection.open(target.base_url, tls)
        try:
            await conn.start_stream(path)
            opened += 1
            if opened == streams:  # every stream has its response headers: the watch is on
                ready.send(time.perf_counter())
            async for line in conn.lines():
                now = time.perf_counter()
                ev = orjson.loads(line)
                if ev["type"] == "ADDED":
                    receipts.append((ev["object"]["metadata"]["name"], now))
                    seen += 1
                    if seen == expect:
                        return
        finally:
            await conn.close()

    tasks = [asyncio.create_task(one()) for _ in range(streams)]
    _done, pending = await asyncio.wait(tasks, timeout=until - time.perf_counter())
    for t in pending:
        t.cancel()
    return receipts


async def _write(target: Target, path: str, total: int, rate: float, start: float) -> dict[str, float]:
    started: dict[str, float] = {}
    async with client(target, 64) as http:

        async def one(n: int) -> None:
            name = f"w{n}"
            begin = time.perf_counter()
            try:  # an idle keep-alive connection closed by the server fails here: not counted
                r = await http.post(
                    path, content=configmap(name), headers={"content-type": "application/json"}
                )
            except httpx.TransportError:
                return
            if r.is_success:
                started[name] = begin

        await sleep_until(start)
        tasks = []
        for n in range(total):
            await sleep_until(start + n / rate)
            tasks.append(asyncio.create_task(one(n)))
        await asyncio.gather(*tasks)
    return started


def _watcher_main(
    target: Target, path: str, streams: int, expect: int, until: float, conn: Connection
) -> None:
    conn.send(asyncio.run(_watch(target, path, streams, expect, until, conn)))


def _writer_main(
    target: Target, path: str, total: int, rate: float, go: Connection, conn: Connection
) -> None:
    start = go.recv()  # the parent says when: after every watch stream is open
    conn.send(asyncio.run(_write(target, path, total, rate, start)))


def watch_fanout(
    target: Target, collection: str, *, watchers: int, procs: int, rate: float, seconds: float
) -> tuple[list[float], int, int]:
    """(latencies in seconds, deliveries expected, writes); ``collection`` is the configmaps URL path."""
    ctx = multiprocessing.get_context("spawn")
    total = int(rate * seconds)
    until = time.perf_counter() + STARTUP + seconds + 60
    pipes, children = [], []
    for p in range(procs):
        parent, child = ctx.Pipe(duplex=False)
        n = watchers // procs + (1 if p < watchers % procs else 0)
        args = (target, f"{collection}?watch=1", n, total, until, child)
        children.append(ctx.Process(target=_watcher_main, args=args))
        pipes.append(parent)
    wparent, wchild = ctx.Pipe(duplex=False)
    go_recv, go_send = ctx.Pipe(duplex=False)
    children.append(ctx.Process(target=_writer_main, args=(target, collection, total, rate, go_recv, wchild)))
    for c in children:
        c.start()
    # Writes begin only once every stream is open: an event written before a watch
    # opened would arrive as an initial ADDED, timing the client's start-up, not delivery.
    for pipe in pipes:
        pipe.recv()
    go_send.send(time.perf_counter() + STARTUP)  # the writer imports and connects meanwhile
    started: dict[str, float] = wparent.recv()
    receipts: Receipts = [r for pipe in pipes for r in pipe.recv()]
    for c in children:
        c.join()
    return [t - started[name] for name, t in receipts if name in started], total * watchers, total
