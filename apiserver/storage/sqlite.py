"""The embedded store: etcd v3 MVCC as one append-only log table in one SQLite file.

k3s runs Kubernetes without etcd by putting kine in front of SQLite; this module is
that idea, shrunk to the :class:`~apiserver.storage.interface.Backend` protocol. It
mirrors kine's log-structured SQL driver:

* ``pkg/drivers/sqlite/sqlite.go``: the pragmas (the schema, and the statements of
  ``pkg/drivers/generic/generic.go``, are in ``sqlite_sql.py``);
* ``pkg/logstructured/sqllog/sql.go``: appending, the poll loop feeding watchers,
  compaction; ``pkg/logstructured/logstructured.go``: create/update/delete as appends.

**The log.** The whole store is one table; every write appends one row and never
changes an old one. The row ``id`` *is* the etcd revision::

    id  name              created  deleted  create_revision  prev_revision  value
    1   /registry/pods/a  1        0        0                0              v1
    2   /registry/pods/b  1        0        0                0              w1
    3   /registry/pods/a  0        0        1                1              v2
    4   /registry/pods/a  0        1        1                3              NULL

* The state at revision R is the newest row per name with ``id <= R``, unless that
  row is a tombstone (``deleted``). The current revision is ``MAX(id)``. A key's
  ``mod_revision`` is its row's id; ``create_revision`` is the id of the row that
  created it (stored as 0 on that row itself, whose id is unknown before the
  insert, as kine does).
* A watch from revision R is the rows with ``id >= R`` in id order, one event each;
  the previous value is the row ``prev_revision`` points at.
* Compacting at R deletes every row superseded at or before R (the ``prev_revision``
  of each row ``<= R``) and every tombstone ``<= R`` but the newest row, and records
  R in ``kine_meta``.
  A row newer than R therefore always keeps its previous row, which is what lets a
  watch read previous values by joining on ``prev_revision``.

Two deliberate departures from kine, both to write less per commit (measured with
``bench/sqlite_storage.py``): kine copies the previous value into an ``old_value``
column (here a join on ``prev_revision`` finds it: half the bytes written); and kine
declares the id ``AUTOINCREMENT`` (here the newest row is never compacted away, so
``MAX(id) + 1``, SQLite's plain rowid choice, never reuses a revision, and each
commit skips writing the ``sqlite_sequence`` page). kine keeps the compacted
revision as a row in the log; a side table keeps compaction from consuming a
revision, as etcd's does not.

**Design choices.**

* *SQLite calls run on the event-loop thread.* In WAL mode a point read or a
  one-row append costs 10-20 us; an ``asyncio.to_thread`` hop measured ~150 us
  here, ten times the operation.
* *Group commit.* A write is queued and the caller awaits it; once per event-loop
  turn every queued write runs in one ``BEGIN IMMEDIATE`` transaction, each doing
  its own check (exists? mod_revision as expected?) and appending its own row, so
  each gets its own revision, in order, with no gaps. One commit of eight appends
  writes the same few pages as one append: with 8 concurrent writers it gave
  +50% CAS updates/s over a commit per write, for ~7 us more latency alone. No
  method awaits between a check and its append, so in-process compare-and-swap
  needs no lock; across processes ``BEGIN IMMEDIATE``, SQLite's single-writer
  lock, makes check and append one transaction. The price of running on the
  loop: a long scan (an unpaginated list of a huge range, a big compaction) holds
  the loop while it runs.
* *Durability: WAL with ``synchronous=NORMAL``.* A commit appends its frames to the
  ``-wal`` file with ``write()`` before returning, so once a write is acknowledged
  the operating system holds it and the death of this process (``kill -9``) cannot
  lose it; only the fsync waits for a checkpoint, so a power cut may lose the last
  commits (never corrupt the file). ``synchronous="FULL"`` fsyncs every commit, for
  power-loss durability at a large cost in writes per second (group commit then
  amortises the fsync across the writes of one turn).
* *Fewer, larger checkpoints.* With ``synchronous=NORMAL`` the fsyncs happen when
  the WAL is copied back into the database file (a checkpoint, run inside the
  commit that crosses ``wal_autocheckpoint``), tens of milliseconds each on a
  virtual disk. Raising the threshold from 1000 to 10000 pages (a WAL of up to
  ~40 MiB) gave +15-20% creates/s and CAS updates/s. Checkpointing from a thread
  instead was measured too: it kept the fsyncs off the event loop but, on two
  cores, lost 10-25% throughput, and a WAL under constant writes still needed a
  blocking TRUNCATE checkpoint to stop growing.
* *Watch fan-out from the writer.* After each commit the events just appended go
  straight to every watcher whose prefix matches: an in-process notifier with no
  query. A slow poll (``poll_interval``) reads rows appended by other processes. A
  watcher first replays history from the log, then drains its buffer; one that
  falls ``max_pending`` events behind drops its buffer and reads those events back
  from the log: the log is the buffer, so a slow watcher loses nothing and costs
  no memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import sqlite_sql as sql
from .errors import (
    CompactedError,
    ConflictError,
    KeyExistsError,
    KeyNotFoundError,
    StorageError,
    UnavailableError,
)
from .interface import Event, EventType, KeyValue, ListResult, WatchBatch

log = logging.getLogger(__name__)

Events = list[Event]  # (``list`` is a method name inside SqliteBackend)


@dataclass(slots=True)
class _Write:
    """A queued create/update/delete and the future its caller awaits."""

    type: EventType
    key: str
    value: bytes
    expected_revision: int
    done: asyncio.Future[Event]


@dataclass(eq=False)
class _Watcher:
    """One watch's inbox. Events up to ``replay_to`` are read from the log; later ones arrive in ``pending``."""

    prefix: str
    replay_to: int
    pending: list[Event] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, ev: Event, max_pending: int) -> None:
        if len(self.pending) >= max_pending:
            # Too slow: forget the buffer, the watcher reads these events back from the log.
            self.pending.clear()
            self.replay_to = ev.revision
        else:
            self.pending.append(ev)
        self.wake.set()


class SqliteBackend:
    """The :class:`~apiserver.storage.interface.Backend` over one SQLite file."""

    def __init__(
        self,
        path: Path | str,
        *,
        progress_interval: float = 1.0,
        poll_interval: float = 1.0,
        synchronous: str = "NORMAL",
        max_pending: int = 10_000,
    ) -> None:
        self.path = Path(path)
        self.name = f"sqlite:{self.path}"
        self.progress_interval = progress_interval
        self.poll_interval = poll_interval
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous={synchronous!r}: expected NORMAL or FULL (or OFF, EXTRA)")
        self.synchronous = synchronous
        self.max_pending = max_pending
        self._db: sqlite3.Connection | None = None
        #: The newest revision this process has seen and handed to its watchers.
        self._revision = 0
        self._queue: list[_Write] = []  # writes waiting for the next group commit
        self._watchers: set[_Watcher] = set()
        self._poller: asyncio.Task[None] | None = None
        self._closed = False

    # --- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        if self._db is not None:
            return
        db = None
        try:
            db = sqlite3.connect(self.path, isolation_level=None)  # autocommit; BEGIN by hand
            db.execute("PRAGMA busy_timeout = 5000")  # wait up to 5 s for another process's write
            db.execute("PRAGMA journal_mode = WAL")
            db.execute(f"PRAGMA synchronous = {self.synchronous}")
            db.execute("PRAGMA wal_autocheckpoint = 10000")  # pages: fewer, larger checkpoints
            db.execute("PRAGMA cache_size = -65536")  # KiB: 64 MiB of pages (the default is 2 MiB)
            db.executescript(sql.SCHEMA)
            self._revision = sql.scalar(db, sql.REVISION)
        except sqlite3.Error as e:
            if db is not None:
                db.close()
            raise UnavailableError(f"cannot open {self.name}: {e}", self.name) from None
        self._db, self._closed = db, False
        self._poller = asyncio.create_task(self._poll_loop(), name=f"{self.name} poll")

    async def close(self) -> None:
        if self._queue:
            self._commit()  # acknowledge what was already asked for
        self._closed = True
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        for w in self._watchers:
            w.wake.set()  # each watch sees _closed and ends
        if self._db is not None:
            self._db.close()
            self._db = None

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise UnavailableError(f"{self.name} is not open", self.name)
        return self._db

    @contextlib.contextmanager
    def _sqlite_errors(self) -> Iterator[sqlite3.Connection]:
        """The connection; SQLite failures (locked by another process, disk full...) become UnavailableError."""
        try:
            yield self._conn()
        except sqlite3.Error as e:
            raise UnavailableError(f"{self.name}: {e}", self.name) from None

    # --- revisions and reads -----------------------------------------------------

    async def current_revision(self) -> int:
        with self._sqlite_errors() as db:
            rev: int = sql.scalar(db, sql.REVISION)
            if rev > self._revision:
                self._catch_up()  # another process wrote: tell our watchers first
            return rev

    async def compacted_revision(self) -> int:
        with self._sqlite_errors() as db:
            return sql.scalar(db, sql.COMPACT_REVISION)

    def _read_revision(self, db: sqlite3.Connection, revision: int) -> int:
        """The revision a read is served at: now, or a past one not compacted (etcd: ``rev < compactRev``)."""
        current = sql.scalar(db, sql.REVISION)
        if not revision:
            return current
        compacted = sql.scalar(db, sql.COMPACT_REVISION)
        if revision < compacted:
            raise CompactedError(revision, compacted)
        if revision > current:
            raise StorageError(f"required revision {revision} is a future revision (current {current})")
        return revision

    async def get(self, key: str, revision: int = 0) -> tuple[KeyValue | None, int]:
        # The hot path: a try block instead of _sqlite_errors(), which costs a third of a get.
        try:
            db = self._conn()
            if revision:
                rev = self._read_revision(db, revision)
                row = db.execute(sql.AT_REVISION, (key, rev)).fetchone()
            else:
                # The newest row, and the newest revision we know: consistent, one query.
                row = db.execute(sql.LATEST, (key,)).fetchone()
                rev = max(self._revision, sql.as_int(row[0]) if row else 0)
        except sqlite3.Error as e:
            raise UnavailableError(f"{self.name}: {e}", self.name) from None
        if row is None or row[3]:
            return None, rev
        return sql.row_kv(row), rev

    async def list(
        self, prefix: str, *, start_key: str = "", limit: int = 0, revision: int = 0, count: bool = True
    ) -> ListResult:
        end = sql.prefix_end(prefix)
        live = sql.LIVE_IN_RANGE.format(end="" if end is None else "AND kv.name < ?")
        lo = max(prefix, start_key)
        with self._sqlite_errors() as db:
            rev = self._read_revision(db, revision)
            args = (lo, rev, rev) if end is None else (lo, end, rev, rev)
            # One row past the page says whether there is more, without counting the rest.
            fetch = limit + 1 if limit else -1
            rows = db.execute(
                f"SELECT {sql.COLUMNS} {live} ORDER BY kv.name LIMIT ?", (*args, fetch)
            ).fetchall()
            more = bool(limit) and len(rows) > limit
            kvs = [sql.row_kv(r) for r in (rows[:limit] if more else rows)]
            total = len(kvs)
            if more and count:  # counting the rest of the range is a scan: only when asked
                total = sql.scalar(db, f"SELECT COUNT(*) {live}", args)
        return ListResult(kvs, rev, more=more, count=total if (count or not more) else 0)

    # --- writes: queued, then applied and committed together once per loop turn ----

    async def create(self, key: str, value: bytes) -> int:
        return (await self._submit(EventType.CREATE, key, value, 0)).revision

    async def update(self, key: str, value: bytes, expected_revision: int) -> int:
        return (await self._submit(EventType.UPDATE, key, value, expected_revision)).revision

    async def delete(self, key: str, expected_revision: int = 0) -> tuple[int, KeyValue]:
        ev = await self._submit(EventType.DELETE, key, b"", expected_revision)
        return ev.revision, KeyValue(key, ev.prev_value or b"", ev.create_revision, ev.prev_revision)

    def _submit(self, type: EventType, key: str, value: bytes, expected: int) -> asyncio.Future[Event]:
        self._conn()
        loop = asyncio.get_running_loop()
        if not self._queue:
            loop.call_soon(self._commit)  # after every task runnable now has queued its write
        w = _Write(type, key, value, expected, loop.create_future())
        self._queue.append(w)
        return w.done

    def _commit(self) -> None:
        """Apply every queued write in one transaction, then answer and notify in order."""
        batch, self._queue = self._queue, []
        if not batch:
            return  # close() committed it already
        applied: list[tuple[_Write, Event]] = []
        failed: list[tuple[_Write, StorageError]] = []
        try:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                for w in batch:
                    if w.done.cancelled():
                        continue  # its caller gave up before it was applied
                    try:
                        applied.append((w, self._apply(db, w)))
                    except StorageError as e:  # this write's check failed; the others go on
                        failed.append((w, e))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except Exception as e:  # nothing was committed: every write in the batch fails
            if isinstance(e, sqlite3.Error):
                e = UnavailableError(f"{self.name}: {e}", self.name)
            for w in batch:
                if not w.done.done():
                    w.done.set_exception(e)
            return
        for w, ev in applied:
            try:
                self._publish(ev)
            except (sqlite3.Error, UnavailableError) as e:  # the poll loop will deliver it
                log.warning("%s: notifying watchers failed: %s", self.name, e)
            if not w.done.done():
                w.done.set_result(ev)
        for w, err in failed:
            if not w.done.done():
                w.done.set_exception(err)

    def _apply(self, db: sqlite3.Connection, w: _Write) -> Event:
        """Check one write against the key's newest row and append its row (logstructured.go)."""
        latest = db.execute(sql.LATEST, (w.key,)).fetchone()
        live = latest is not None and not latest[3]
        if w.type is EventType.CREATE:
            if live:
                raise KeyExistsError(w.key)
            prev = sql.as_int(latest[0]) if latest else 0  # a re-create points at the tombstone
            rev = sql.as_int(db.execute(sql.INSERT, (w.key, 1, 0, 0, prev, w.value)).lastrowid)
            return Event(EventType.CREATE, w.key, rev, w.value, rev)
        if not live:
            raise KeyNotFoundError(w.key)
        old = sql.row_kv(latest)
        if w.expected_revision and old.mod_revision != w.expected_revision:
            raise ConflictError(
                f"{w.key}: mod_revision is {old.mod_revision}, expected {w.expected_revision}",
                key=w.key,
                revision=old.mod_revision,
            )
        deleted = w.type is EventType.DELETE
        row = (w.key, 0, int(deleted), old.create_revision, old.mod_revision, None if deleted else w.value)
        rev = sql.as_int(db.execute(sql.INSERT, row).lastrowid)
        value = b"" if deleted else w.value
        return Event(w.type, w.key, rev, value, old.create_revision, old.value, old.mod_revision)

    async def compact(self, revision: int) -> None:
        with self._sqlite_errors() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                previous = sql.scalar(db, sql.COMPACT_REVISION)
                revision = min(revision, sql.scalar(db, sql.REVISION))
                if revision > previous:  # else: already compacted that far
                    db.execute(sql.COMPACT, (previous, revision, previous, revision))
                    db.execute(sql.SET_COMPACT_REVISION, (revision,))
                db.execute("COMMIT")
            finally:
                if db.in_transaction:
                    db.execute("ROLLBACK")

    # --- watch -------------------------------------------------------------------

    def _publish(self, ev: Event) -> None:
        """Hand an event just committed to the watchers (the in-process notifier)."""
        if ev.revision != self._revision + 1:
            self._catch_up()  # another process appended in between: read the log in order
            return
        self._revision = ev.revision
        for w in self._watchers:
            if ev.key.startswith(w.prefix):
                w.push(ev, self.max_pending)

    def _catch_up(self) -> None:
        """Deliver rows appended after ``_revision`` (by another process) to the watchers."""
        db = self._conn()
        while rows := db.execute(sql.AFTER, (self._revision, sql.LOG_BATCH)).fetchall():
            if sql.as_int(rows[0][0]) != self._revision + 1:
                # Rows vanished before we saw them (compacted by another process): every
                # watcher rereads the log from its own position and meets the gap there.
                for w in self._watchers:
                    w.pending.clear()
                    w.replay_to = sql.as_int(rows[-1][0])
                    w.wake.set()
            for row in rows:
                ev = sql.row_event(row)
                self._revision = ev.revision
                for w in self._watchers:
                    if ev.revision > w.replay_to and ev.key.startswith(w.prefix):
                        w.push(ev, self.max_pending)

    async def _poll_loop(self) -> None:
        """The safety net for writes by other processes (kine's sqllog poll loop)."""
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                self._catch_up()
            except (sqlite3.Error, UnavailableError) as e:
                log.warning("%s: polling the log failed: %s", self.name, e)

    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[WatchBatch]:
        return self._watch(prefix, start_revision)

    async def _watch(self, prefix: str, start_revision: int) -> AsyncIterator[WatchBatch]:
        if self._closed:
            return
        with self._sqlite_errors() as db:
            self._catch_up()
            compacted = sql.scalar(db, sql.COMPACT_REVISION)
        if start_revision and start_revision <= compacted:
            raise CompactedError(start_revision, compacted, key=prefix)
        watcher = _Watcher(prefix, replay_to=self._revision)
        next_rev = start_revision or self._revision + 1  # the first revision not yet delivered
        self._watchers.add(watcher)
        try:
            while not self._closed:
                if next_rev <= watcher.replay_to:  # history, or a dropped buffer: read the log
                    events, next_rev = self._replay(prefix, next_rev, watcher.replay_to)
                elif watcher.pending:
                    events = [e for e in watcher.pending if e.revision >= next_rev]
                    watcher.pending = []
                else:
                    watcher.wake.clear()
                    try:
                        async with asyncio.timeout(self.progress_interval):
                            await watcher.wake.wait()
                    except TimeoutError:
                        if not watcher.pending and next_rev > watcher.replay_to:  # truly idle
                            yield WatchBatch([], self._revision)  # a progress notification
                    continue
                if events:
                    next_rev = max(next_rev, events[-1].revision + 1)
                    yield WatchBatch(events, events[-1].revision)
        finally:
            self._watchers.discard(watcher)

    def _replay(self, prefix: str, lo: int, hi: int) -> tuple[Events, int]:
        """Events under ``prefix`` in [lo, hi] from the log, and the next revision to read."""
        end = sql.prefix_end(prefix)
        query = sql.AFTER_IN_RANGE.format(end="" if end is None else "AND +kv.name < ?")
        args = (lo, hi, prefix) if end is None else (lo, hi, prefix, end)
        with self._sqlite_errors() as db:
            rows = db.execute(query, (*args, sql.LOG_BATCH)).fetchall()
            compacted = sql.scalar(db, sql.COMPACT_REVISION)
        if lo <= compacted:  # compacted (by another process) under our feet
            raise CompactedError(lo, compacted, key=prefix)
        events = [sql.row_event(r) for r in rows]
        return events, (events[-1].revision + 1 if len(rows) == sql.LOG_BATCH else hi + 1)
