"""What only the embedded store promises: durability, other processes, the log itself.

The etcd contract is checked in test_backend.py; these tests cover sqlite.py's own
claims: an acknowledged write survives ``kill -9``, writers in several processes
share one file safely, group commit keeps per-write revisions, a slow watcher is fed
from the log, compaction never moves the revision back, corrupt rows do not crash.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apiserver.storage.errors import (
    CompactedError,
    ConflictError,
    KeyExistsError,
    StorageError,
    UnavailableError,
)
from apiserver.storage.interface import Event, EventType, WatchBatch
from apiserver.storage.sqlite import SqliteBackend

ROOT = Path(__file__).resolve().parents[3]


async def opened(path: Path, **options: float) -> SqliteBackend:
    b = SqliteBackend(path, **options)  # type: ignore[arg-type]
    await b.start()
    return b


async def next_events(it: AsyncIterator[WatchBatch], n: int) -> list[Event]:
    events: list[Event] = []
    async with asyncio.timeout(5):
        while len(events) < n:
            events.extend((await anext(it)).events)
    return events


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT
    )


# --- durability and other processes ------------------------------------------------

WRITER = """
import asyncio, sys
from apiserver.storage.sqlite import SqliteBackend

async def main():
    b = SqliteBackend(sys.argv[1])
    await b.start()
    i = 0
    while True:
        rev = await b.create(f"/registry/acked/{i:06d}", str(i).encode())
        print(i, rev, flush=True)  # the acknowledgement: sent only after the commit
        i += 1

asyncio.run(main())
"""


async def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    proc = spawn(WRITER, str(tmp_path / "state.db"))
    assert proc.stdout is not None
    acked: list[tuple[int, int]] = []
    for line in proc.stdout:
        acked.append(tuple(map(int, line.split())))  # type: ignore[arg-type]
        if len(acked) == 300:
            proc.send_signal(signal.SIGKILL)  # mid-stream: the writer is still writing
            break
    acked += [tuple(map(int, line.split())) for line in proc.stdout]  # type: ignore[misc]
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    b = await opened(tmp_path / "state.db")
    try:
        for i, rev in acked:
            kv, _ = await b.get(f"/registry/acked/{i:06d}")
            assert kv is not None and (kv.value, kv.mod_revision) == (str(i).encode(), rev)
        assert await b.current_revision() >= acked[-1][1]
    finally:
        await b.close()


INCREMENTER = """
import asyncio, sys
from apiserver.storage.errors import ConflictError
from apiserver.storage.sqlite import SqliteBackend

async def main():
    b = SqliteBackend(sys.argv[1])
    await b.start()
    for _ in range(int(sys.argv[2])):
        while True:
            kv, _ = await b.get("/registry/counter")
            try:
                await b.update(kv.key, str(int(kv.value) + 1).encode(), kv.mod_revision)
                break
            except ConflictError:
                pass
    await b.close()

asyncio.run(main())
"""


async def test_writers_in_several_processes_share_the_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    b = await opened(path, poll_interval=0.05)
    try:
        start = await b.create("/registry/counter", b"0")
        it = b.watch("/registry/counter", start + 1)
        procs = [spawn(INCREMENTER, str(path), "100") for _ in range(2)]
        local = 0
        while any(p.poll() is None for p in procs) or local < 50:  # and this process writes too
            kv, _ = await b.get("/registry/counter")
            assert kv is not None
            try:
                await b.update(kv.key, str(int(kv.value) + 1).encode(), kv.mod_revision)
                local += 1
            except ConflictError:
                pass
            await asyncio.sleep(0.001)
        assert [p.wait() for p in procs] == [0, 0]
        kv, _ = await b.get("/registry/counter")
        assert kv is not None and int(kv.value) == 200 + local
        # Our watch saw every increment, the other processes' too, in order and without gaps.
        events = await next_events(it, 200 + local)
        assert [e.revision for e in events] == list(range(start + 1, start + 201 + local))
        assert [int(e.value) for e in events] == list(range(1, 201 + local))
    finally:
        await it.aclose()  # type: ignore[attr-defined]
        await b.close()


# --- group commit ------------------------------------------------------------------


async def test_writes_committed_together_keep_their_own_revisions_and_checks(tmp_path: Path) -> None:
    b = await opened(tmp_path / "state.db")
    try:
        r1 = await b.create("/registry/a", b"1")
        # Queued in one loop turn, so applied in one transaction, in order.
        results = await asyncio.gather(
            b.create("/registry/b", b"1"),
            b.update("/registry/a", b"2", r1),
            b.update("/registry/a", b"3", r1),  # stale by now: fails alone
            b.create("/registry/b", b"again"),  # exists by now: fails alone
            b.delete("/registry/a"),
            return_exceptions=True,
        )
        assert results[0] == r1 + 1 and results[1] == r1 + 2
        assert isinstance(results[2], ConflictError) and isinstance(results[3], KeyExistsError)
        assert results[4][0] == r1 + 3  # type: ignore[index]
        assert await b.current_revision() == r1 + 3
    finally:
        await b.close()


# --- the log -----------------------------------------------------------------------


async def test_compaction_never_moves_the_revision_back(tmp_path: Path) -> None:
    b = await opened(tmp_path / "state.db")
    try:
        r1 = await b.create("/registry/a", b"1")
        r2, _ = await b.delete("/registry/a", r1)  # the newest row is a tombstone
        await b.compact(r2)
        assert (await b.current_revision(), await b.compacted_revision()) == (r2, r2)
        assert await b.create("/registry/b", b"1") == r2 + 1
        assert (await b.get("/registry/a"))[0] is None
        await b.compact(r2 + 10)  # a future revision compacts up to now
        assert await b.compacted_revision() == r2 + 1
    finally:
        await b.close()
    b = await opened(tmp_path / "state.db")  # and after a restart
    try:
        assert await b.create("/registry/c", b"1") == r2 + 2
        await b.delete("/registry/c")
        await b.compact(r2 + 3)  # only the live key and the newest row (a tombstone) remain
        rows = sqlite3.connect(tmp_path / "state.db").execute("SELECT id FROM kine ORDER BY id").fetchall()
        assert rows == [(r2 + 1,), (r2 + 3,)]
    finally:
        await b.close()


async def test_a_read_at_a_future_revision_is_an_error(tmp_path: Path) -> None:
    b = await opened(tmp_path / "state.db")
    try:
        rev = await b.create("/registry/a", b"1")
        with pytest.raises(StorageError, match="future revision"):
            await b.list("/registry/", revision=rev + 1)
        with pytest.raises(StorageError, match="future revision"):
            await b.get("/registry/a", revision=rev + 1)
    finally:
        await b.close()


async def test_a_watcher_that_falls_behind_rereads_the_log(tmp_path: Path) -> None:
    b = await opened(tmp_path / "state.db", max_pending=3)
    try:
        it = b.watch("/registry/", 1)
        revs = [await b.create(f"/registry/k{i}", b"x") for i in range(2500)]  # > one replay batch
        events = await next_events(it, 2500)
        assert [e.revision for e in events] == revs
        more = [await b.create(f"/registry/more{i}", b"x") for i in range(10)]  # now live, overflowing
        assert [e.revision for e in await next_events(it, 10)] == more
        await it.aclose()  # type: ignore[attr-defined]
    finally:
        await b.close()


async def test_a_compaction_during_replay_ends_the_watch(tmp_path: Path) -> None:
    b = await opened(tmp_path / "state.db")
    try:
        r1 = await b.create("/registry/a", b"0")
        rev = r1
        for i in range(1500):
            rev = await b.update("/registry/a", str(i).encode(), rev)
        it = b.watch("/registry/", r1)
        assert len((await anext(it)).events) == 1000  # the first replay batch
        await b.compact(rev)
        with pytest.raises(CompactedError):
            await anext(it)
    finally:
        await b.close()


async def test_progress_notifications_follow_the_configured_interval(tmp_path: Path) -> None:
    b = await opened(tmp_path / "state.db", progress_interval=0.02)
    try:
        rev = await b.create("/registry/other", b"x")
        it = b.watch("/registry/watched/", 0)
        async with asyncio.timeout(1):
            batch = await anext(it)
        assert (batch.events, batch.revision) == ([], rev)
    finally:
        await b.close()


async def test_closing_the_backend_ends_its_watches(tmp_path: Path) -> None:
    b = await opened(tmp_path / "state.db")
    it = b.watch("/registry/", 0)
    pending = asyncio.ensure_future(anext(it))
    await asyncio.sleep(0.01)
    await b.close()
    with pytest.raises(StopAsyncIteration):
        async with asyncio.timeout(1):
            await pending


# --- corruption --------------------------------------------------------------------


async def test_corrupt_rows_are_read_without_crashing(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    b = await opened(path)
    try:
        r1 = await b.create("/registry/a", b"ok")
        with sqlite3.connect(path) as raw:  # another program writes nonsense into the log
            raw.execute(
                "INSERT INTO kine (name, created, value) VALUES ('/registry/b', 1, 'text, not a blob')"
            )
            raw.execute("INSERT INTO kine (name, created, value) VALUES ('/registry/c', 'yes', 42)")
            raw.execute(
                "INSERT INTO kine (name, created, deleted, prev_revision, value) VALUES ('/registry/a', 0, 0, 99, NULL)"
            )
        kv, _ = await b.get("/registry/b")
        assert kv is not None and kv.value == b"text, not a blob"
        assert [(kv.key, kv.value) for kv in (await b.list("/registry/")).kvs] == [
            ("/registry/a", b""),
            ("/registry/b", b"text, not a blob"),
            ("/registry/c", b"42"),
        ]
        it = b.watch("/registry/", r1)
        events = await next_events(it, 4)
        await it.aclose()  # type: ignore[attr-defined]
        assert [e.type for e in events] == [EventType.CREATE] * 3 + [EventType.UPDATE]
        assert events[-1].prev_value == b""  # its previous row does not exist
    finally:
        await b.close()


async def test_a_file_that_is_not_a_database_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "state.db").write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(UnavailableError, match=r"state\.db"):
        await SqliteBackend(tmp_path / "state.db").start()
