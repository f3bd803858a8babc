"""Watch delivery latency: a paced writer, many watchers, time from write to receipt.

Shared by ``bench/cacher_fanout.py`` and ``bench/storage.py``. A writer creates pods
``p0..p99`` under ``prefix`` and then updates them in turn, at a fixed rate; each
watcher is read by its own task, as one HTTP watch stream is in the API server. Half
the watchers filter with a label predicate (``app=web``), half see everything.

The writer is *open loop*: write ``n`` starts at ``t0 + n/rate`` as its own task,
whether or not earlier writes finished, so a slow backend (etcd's round trip) cannot
quietly lower the rate. Latency is measured per event and watcher from the moment its
write *started* (so it includes the write itself and the backend's notifier) to the
moment the watcher's reader got the event. The writer runs in the measured process
(``in_process``) or, where one Python process cannot both write at that rate and
watch (etcd: a gRPC call per write), in its own (``_etcd_writer.py``).
``BENCH_CACHER_WAKE_DELAY=0.005`` runs the Cacher with coalesced wake-ups (``wake_delay``). Receipts are stamped first and matched to
writes afterwards, so an event that overtakes its write's reply is still counted.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from apiserver.storage.cacher import Cacher
from apiserver.storage.store import Object, ObjectEvent, ObjectStore

from ._common import NAMESPACE, pod


@dataclass
class FanoutResult:
    writes: int
    elapsed: float  # seconds from the first write to the last delivery
    latencies: list[float] = field(default_factory=list)  # seconds, one per delivery
    closed: int = 0  # watchers the cacher terminated as too slow

    @property
    def writes_per_s(self) -> float:
        return self.writes / self.elapsed


def web(o: Object) -> bool:
    return bool(o["metadata"]["labels"].get("app") == "web")


def matching(total: int, filtered: bool) -> int:
    """Events a watcher sees: pods p0..p99 written in turn, odd ones match ``web``."""
    return sum(1 for n in range(total) if (n % 100) % 2) if filtered else total


async def paced(total: int, rate: float, write: Callable[[int], Awaitable[int]]) -> dict[int, float]:
    """Run ``write(n)`` (returning the revision it made) at ``rate``/s, open loop.

    Returns revision -> the moment its write started.
    """
    started: dict[int, float] = {}

    async def one(n: int) -> None:
        begin = time.perf_counter()
        started[await write(n)] = begin

    tasks = []
    t0 = time.perf_counter()
    for n in range(total):
        delay = t0 + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n)))
    await asyncio.gather(*tasks)
    return started


def pod_writer(store: ObjectStore, prefix: str) -> Callable[[int], Awaitable[int]]:
    """Write ``n``: create pod ``n % 100`` the first time, then replace it with a new generation."""

    async def write(n: int) -> int:
        i, gen = n % 100, n // 100
        key = f"{prefix}{NAMESPACE}/p{i}"  # the layout: <prefix><namespace>/<name>
        new = pod(i, gen)
        if gen == 0:
            obj = await store.create(key, new)
        else:
            obj = await store.guaranteed_update(key, lambda _old: new)
        return int(obj["metadata"]["resourceVersion"])

    return write


#: Makes ``total`` writes at ``rate``/s; returns revision -> the moment each write started.
Writer = Callable[[int, float], Awaitable[dict[int, float]]]


def in_process(store: ObjectStore, prefix: str) -> Writer:
    """The writer in the measured process itself, through the store (the API server's own writes)."""
    return lambda total, rate: paced(total, rate, pod_writer(store, prefix))


async def _measure(
    streams: list[AsyncIterator[ObjectEvent]], expects: list[int], total: int, rate: float, writer: Writer
) -> tuple[list[float], float]:
    receipts: list[tuple[int, float]] = []

    async def read(stream: AsyncIterator[ObjectEvent], expect: int) -> None:
        seen = 0
        async for ev in stream:
            if ev.type == "BOOKMARK":
                continue
            receipts.append((ev.revision, time.perf_counter()))
            seen += 1
            if seen == expect:
                return

    readers = [asyncio.create_task(read(s, e)) for s, e in zip(streams, expects, strict=True)]
    await asyncio.sleep(0.1)  # let every reader reach its first await (direct watches register then)
    started = await writer(total, rate)
    await asyncio.wait_for(asyncio.gather(*readers), 30)
    elapsed = max(t for _, t in receipts) - min(started.values())  # first write to last delivery
    return [t - started[rev] for rev, t in receipts], elapsed


async def via_cacher(
    store: ObjectStore, prefix: str, watchers: int, rate: float, seconds: float, writer: Writer | None = None
) -> FanoutResult:
    """``watchers`` client watches on one :class:`Cacher` (how the API server fans out)."""
    cacher = Cacher(
        store, prefix, queue_size=1000, wake_delay=float(os.environ.get("BENCH_CACHER_WAKE_DELAY", "0"))
    )
    await cacher.start()
    await cacher.ready.wait()
    total = int(rate * seconds)
    try:
        ws = [await cacher.watch(cacher.revision, web if n % 2 else None) for n in range(watchers)]
        expects = [matching(total, bool(n % 2)) for n in range(watchers)]
        streams: list[AsyncIterator[ObjectEvent]] = [aiter(w) for w in ws]
        latencies, elapsed = await _measure(
            streams, expects, total, rate, writer or in_process(store, prefix)
        )
        return FanoutResult(total, elapsed, latencies, sum(1 for w in ws if w.too_slow))
    finally:
        await cacher.stop()


async def direct(
    store: ObjectStore, prefix: str, watchers: int, rate: float, seconds: float, writer: Writer | None = None
) -> FanoutResult:
    """``watchers`` backend watches, each decoding every event itself (no cache)."""
    total = int(rate * seconds)
    rev = await store.current_revision()
    gens = [store.watch(prefix, rev, web if n % 2 else None) for n in range(watchers)]
    expects = [matching(total, bool(n % 2)) for n in range(watchers)]
    try:
        latencies, elapsed = await _measure(
            list(gens), expects, total, rate, writer or in_process(store, prefix)
        )
    finally:
        for g in gens:
            await g.aclose()  # type: ignore[attr-defined]
    return FanoutResult(total, elapsed, latencies)
