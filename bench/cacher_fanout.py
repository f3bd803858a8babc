"""How long does the watch cache take to hand one write to many watchers?

Run: ``.venv/bin/python -m bench.cacher_fanout [WATCHERS] [EVENTS_PER_S] [SECONDS]``
(default 100 watchers, 1000 events/s, 5 s). One process, as the API server runs:
a writer creates and updates pods through an :class:`ObjectStore` on the embedded
SQLite backend at a fixed rate, a :class:`Cacher` watches the prefix, and each
watcher is read by its own task, like one HTTP watch stream. Half the watchers
filter with a label predicate, half see everything.

Delivery latency is measured per event and watcher from the moment the writer
*started* the write (so it includes the write itself and the backend's notifier)
to the moment the watcher's reader got the event.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from apiserver.storage.cache_watcher import Watcher
from apiserver.storage.cacher import Cacher
from apiserver.storage.sqlite import SqliteBackend
from apiserver.storage.store import Object, ObjectStore

PODS = "/registry/pods/"


def _pod(i: int, gen: int) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"p{i}", "namespace": "bench", "labels": {"app": "web" if i % 2 else "db"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}], "nodeName": "n1", "gen": gen},
    }


def _replace_with(new: Object) -> Callable[[Object | None], Object]:
    return lambda _old: new


def _web(o: Object) -> bool:
    return bool(o["metadata"]["labels"].get("app") == "web")


async def main(watchers: int, rate: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as d:
        backend = SqliteBackend(Path(d) / "state.db")
        await backend.start()
        store = ObjectStore(backend)
        cacher = Cacher(store, PODS, queue_size=1000)
        await cacher.start()
        await cacher.ready.wait()
        started: dict[int, float] = {}  # revision -> when its write began
        latencies: list[float] = []
        total = int(rate * seconds)

        async def read(w: Watcher, expect: int) -> None:
            seen = 0
            async for ev in w:
                latencies.append(time.perf_counter() - started[ev.revision])
                seen += 1
                if seen == expect:
                    return

        # Pods p0..p99 are created, then updated in turn; odd ones match the predicate.
        matching = sum(1 for n in range(total) if (n % 100) % 2)
        ws = [await cacher.watch(cacher.revision, _web if n % 2 else None) for n in range(watchers)]
        readers = [asyncio.create_task(read(w, matching if n % 2 else total)) for n, w in enumerate(ws)]
        t0 = time.perf_counter()
        for n in range(total):
            # Pace the writer: write n is due at t0 + n/rate.
            delay = t0 + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            i, gen = n % 100, n // 100
            begin = time.perf_counter()
            if gen == 0:
                obj = await store.create(f"{PODS}bench/p{i}", _pod(i, gen))
            else:
                obj = await store.guaranteed_update(f"{PODS}bench/p{i}", _replace_with(_pod(i, gen)))
            started[int(obj["metadata"]["resourceVersion"])] = begin
        await asyncio.wait_for(asyncio.gather(*readers), 30)
        elapsed = time.perf_counter() - t0
        closed = sum(1 for w in ws if w.too_slow)
        await cacher.stop()
        await backend.close()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{watchers} watchers, {total} writes in {elapsed:.2f}s ({total / elapsed:.0f}/s), "
        f"{len(latencies)} deliveries, closed as too slow: {closed}"
    )
    print(
        f"latency ms: p50 {q[49] * 1e3:.2f}  p90 {q[89] * 1e3:.2f}  p99 {q[98] * 1e3:.2f}  max {latencies[-1] * 1e3:.2f}"
    )


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:]]
    asyncio.run(
        main(
            int(args[0]) if args else 100,
            int(args[1]) if len(args) > 1 else 1000,
            args[2] if len(args) > 2 else 5.0,
        )
    )
