"""How fast is the embedded store next to raw ``sqlite3`` on the same kind of file?

Run: ``.venv/bin/python -m bench.sqlite_storage [N]``. Both sides use WAL with
``synchronous=NORMAL`` and 1 KiB values. The raw side is the best plain SQLite can
do for the same operation: one ``kv(key PRIMARY KEY, value, rev)`` table updated in
place, no history, no events. The backend side pays for the log (history, a
second index, the previous value in each row), the compare-and-swap read, asyncio
and the watch notifier.

* creates/s: one task inserting new keys.
* CAS updates/s: 8 writers, each read-then-compare-and-swap on its own key. Raw:
  8 threads with their own connections (SQLite's lock serialises them), and also
  one connection doing the same work sequentially. Backend: 8 asyncio tasks.
* gets/s: point reads of existing keys.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from apiserver.storage.sqlite import SqliteBackend

VALUE = b"x" * 1024
WRITERS = 8


def _raw_connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA busy_timeout = 5000")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    return db


def _raw_cas(db: sqlite3.Connection, key: str) -> None:
    (rev,) = db.execute("SELECT rev FROM kv WHERE key = ?", (key,)).fetchone()
    db.execute("UPDATE kv SET value = ?, rev = ? WHERE key = ? AND rev = ?", (VALUE, rev + 1, key, rev))


def bench_raw(path: Path, n: int) -> dict[str, float]:
    db = _raw_connect(path)
    db.execute("CREATE TABLE kv (key TEXT PRIMARY KEY, value BLOB, rev INTEGER)")
    out: dict[str, float] = {}
    t = time.perf_counter()
    for i in range(n):
        db.execute("INSERT INTO kv (key, value, rev) VALUES (?, ?, 1)", (f"/registry/pods/ns/p{i}", VALUE))
    out["creates/s"] = n / (time.perf_counter() - t)

    t = time.perf_counter()
    for i in range(n):
        _raw_cas(db, f"/registry/pods/ns/p{i % WRITERS}")
    out["CAS updates/s (1 conn)"] = n / (time.perf_counter() - t)

    def writer(w: int) -> None:
        conn = _raw_connect(path)
        for _ in range(n // WRITERS):
            _raw_cas(conn, f"/registry/pods/ns/p{w}")
        conn.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    out[f"CAS updates/s ({WRITERS} threads)"] = n / (time.perf_counter() - t)

    t = time.perf_counter()
    for i in range(n):
        db.execute("SELECT value, rev FROM kv WHERE key = ?", (f"/registry/pods/ns/p{i}",)).fetchone()
    out["gets/s"] = n / (time.perf_counter() - t)
    db.close()
    return out


async def bench_backend(path: Path, n: int) -> dict[str, float]:
    b = SqliteBackend(path)
    await b.start()
    out: dict[str, float] = {}
    t = time.perf_counter()
    for i in range(n):
        await b.create(f"/registry/pods/ns/p{i}", VALUE)
    out["creates/s"] = n / (time.perf_counter() - t)

    async def writer(w: int) -> None:
        key = f"/registry/pods/ns/p{w}"
        for _ in range(n // WRITERS):
            kv, _ = await b.get(key)
            assert kv is not None
            await b.update(key, VALUE, kv.mod_revision)

    t = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    out[f"CAS updates/s ({WRITERS} tasks)"] = n / (time.perf_counter() - t)

    t = time.perf_counter()
    for i in range(n):
        await b.get(f"/registry/pods/ns/p{i}")
    out["gets/s"] = n / (time.perf_counter() - t)
    await b.close()
    return out


def main() -> None:
    """Alternate raw and backend rounds on fresh files; print medians (the machine may be busy)."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    raw: dict[str, list[float]] = {}
    ours: dict[str, list[float]] = {}
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as d:
            for name, value in bench_raw(Path(d) / "raw.db", n).items():
                raw.setdefault(name, []).append(value)
            for name, value in asyncio.run(bench_backend(Path(d) / "backend.db", n)).items():
                ours.setdefault(name, []).append(value)
    print(f"{n} operations per measure, median of {rounds} interleaved rounds")
    for name, values in raw.items():
        print(f"raw sqlite3   {name:28} {statistics.median(values):10.0f}")
    for name, values in ours.items():
        print(f"SqliteBackend {name:28} {statistics.median(values):10.0f}")


if __name__ == "__main__":
    main()
