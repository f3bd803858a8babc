"""The raw SQLite ceiling: the same operations as plain ``sqlite3`` calls, no layer above.

Fairness, as ``bench/storage.py`` uses it:

* Same engine settings: a fresh file in the same directory as the backend's, opened
  with the pragmas read back from the backend's own connection (journal mode,
  synchronous, autocheckpoint), so a change in ``sqlite.py`` is followed here.
* Same table: the backend's log schema (``sqlite_sql.SCHEMA``), 1 KiB-ish values.
* Less work than the backend per operation, never more: a create is one
  ``INSERT`` committed on its own (no existence check); an update is ``BEGIN
  IMMEDIATE``, read the key's newest row, append the next row, ``COMMIT``; a get is
  the backend's point query; a list page is the backend's MVCC page query without
  the ``COUNT`` the backend adds for ``remainingItemCount``.
* One connection on one thread, sequentially: SQLite admits one writer at a time, so
  writer threads would only add lock and GIL hand-offs. The backend, by contrast,
  runs its 8 writers as asyncio tasks and may commit their writes together (group
  commit): that is its design, and the ratio shows what it buys.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from apiserver.storage import sqlite_sql as sql

PRAGMAS = ("journal_mode", "synchronous", "wal_autocheckpoint", "busy_timeout")


def pragmas_of(db: sqlite3.Connection) -> dict[str, object]:
    """The settings of an open connection (e.g. the backend's) that matter for speed."""
    return {p: db.execute(f"PRAGMA {p}").fetchone()[0] for p in PRAGMAS}


class RawSqlite:
    def __init__(self, path: Path, pragmas: dict[str, object]) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        for name, value in pragmas.items():
            self.db.execute(f"PRAGMA {name} = {value}")
        self.db.executescript(sql.SCHEMA)

    def close(self) -> None:
        self.db.close()

    def _timed(self, n: int, op: Callable[[int], object]) -> float:
        t = time.perf_counter()
        for i in range(n):
            op(i)
        return n / (time.perf_counter() - t)

    def creates(self, n: int, key: Callable[[int], str], value: bytes) -> float:
        return self._timed(n, lambda i: self.db.execute(sql.INSERT, (key(i), 1, 0, 0, 0, value)))

    def cas_updates(self, n: int, key: Callable[[int], str], value: bytes) -> float:
        def cas(i: int) -> None:
            self.db.execute("BEGIN IMMEDIATE")
            row = self.db.execute(sql.LATEST, (key(i),)).fetchone()
            self.db.execute(sql.INSERT, (key(i), 0, 0, row[4] or row[0], row[0], value))
            self.db.execute("COMMIT")

        return self._timed(n, cas)

    def gets(self, n: int, key: Callable[[int], str]) -> float:
        return self._timed(n, lambda i: self.db.execute(sql.LATEST, (key(i),)).fetchone())

    def list_all(self, prefix: str, limit: int) -> tuple[int, float]:
        """(keys read, seconds) paging through ``prefix`` at one revision, ``limit`` rows a page."""
        end = sql.prefix_end(prefix)
        page = (
            f"SELECT {sql.COLUMNS} {sql.LIVE_IN_RANGE.format(end='AND kv.name < ?')} ORDER BY kv.name LIMIT ?"
        )
        t = time.perf_counter()
        rev = sql.scalar(self.db, sql.REVISION)
        lo, seen = prefix, 0
        while True:
            rows = self.db.execute(page, (lo, end, rev, rev, limit)).fetchall()
            seen += len(rows)
            if len(rows) < limit:
                return seen, time.perf_counter() - t
            lo = rows[-1][1] + "\x00"
