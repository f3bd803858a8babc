"""A paced etcd writer in its own process, so the process being measured only watches.

At 1,000 writes/s the writes alone (one gRPC call each, in Python) take most of a
core; in the measured process they would starve the very watch being timed. Writes
of pods ``p0..p99`` under a prefix (plain ``Put``s of pod JSON, open loop as in
``_fanout.paced``) run here instead; the parent gets back revision -> the
``time.perf_counter()`` at which that write started. ``perf_counter`` is
``CLOCK_MONOTONIC`` on Linux, one clock for every process on the machine.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.connection import Connection

import orjson


async def _write(endpoint: str, prefix: str, total: int, rate: float) -> dict[int, float]:
    import aetcd
    from aetcd import rpc

    from ._common import NAMESPACE, pod
    from ._fanout import paced

    host, port = endpoint.rsplit(":", 1)
    async with aetcd.Client(host=host, port=int(port), timeout=10) as client:
        await client.connect()

        async def put(n: int) -> int:
            key = f"{prefix}{NAMESPACE}/p{n % 100}".encode()
            resp = await client.kvstub.Put(
                rpc.PutRequest(key=key, value=orjson.dumps(pod(n % 100, n // 100)))
            )
            return int(resp.header.revision)

        return await paced(total, rate, put)


def _main(endpoint: str, prefix: str, total: int, rate: float, ready: float, conn: Connection) -> None:
    async def run() -> dict[int, float]:
        await asyncio.sleep(ready)  # the parent's watchers settle first
        return await _write(endpoint, prefix, total, rate)

    conn.send(asyncio.run(run()))
    conn.close()


async def write_elsewhere(endpoint: str, prefix: str, total: int, rate: float) -> dict[int, float]:
    """Run the writer in a fresh (spawned) process; returns revision -> write start."""
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_main, args=(endpoint, prefix, total, rate, 0.5, child), daemon=True)
    proc.start()
    child.close()
    try:
        result: dict[int, float] = await asyncio.to_thread(parent.recv)
        return result
    finally:
        await asyncio.to_thread(proc.join, 10)
