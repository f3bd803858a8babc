"""How long does the watch cache take to hand one write to many watchers?

Run: ``.venv/bin/python -m bench.cacher_fanout [WATCHERS] [EVENTS_PER_S] [SECONDS]``
(default 100 watchers, 1000 events/s, 5 s). One process, as the API server runs:
a writer creates and updates pods through an :class:`ObjectStore` on the embedded
SQLite backend at a fixed rate, a :class:`Cacher` watches the prefix, and each
watcher is read by its own task, like one HTTP watch stream. Half the watchers
filter with a label predicate, half see everything. The measuring loop is
``bench/_fanout.py`` (shared with ``bench/storage.py``, which runs it on every backend).

Delivery latency is measured per event and watcher from the moment the writer
*started* the write (so it includes the write itself and the backend's notifier) to
the moment the watcher's reader got the event.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from apiserver.storage.sqlite import SqliteBackend
from apiserver.storage.store import ObjectStore

from ._common import PODS
from ._fanout import via_cacher


async def main(watchers: int, rate: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as d:
        backend = SqliteBackend(Path(d) / "state.db")
        await backend.start()
        try:
            r = await via_cacher(ObjectStore(backend), PODS, watchers, rate, seconds)
        finally:
            await backend.close()
    lat = sorted(r.latencies)
    q = [lat[min(len(lat) - 1, int(len(lat) * p))] * 1e3 for p in (0.5, 0.9, 0.99)]
    print(
        f"{watchers} watchers, {r.writes} writes in {r.elapsed:.2f}s ({r.writes_per_s:.0f}/s), "
        f"{len(lat)} deliveries, closed as too slow: {r.closed}"
    )
    print(f"latency ms: p50 {q[0]:.2f}  p90 {q[1]:.2f}  p99 {q[2]:.2f}  max {lat[-1] * 1e3:.2f}")


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:]]
    asyncio.run(
        main(
            int(args[0]) if args else 100,
            int(args[1]) if len(args) > 1 else 1000,
            args[2] if len(args) > 2 else 5.0,
        )
    )
