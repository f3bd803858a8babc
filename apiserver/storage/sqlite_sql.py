"""The SQL of the embedded store: the log table, its statements, and reading rows.

Mirrors kine's ``pkg/drivers/sqlite/sqlite.go`` (the schema) and
``pkg/drivers/generic/generic.go`` (the statements, named here after theirs); the
logic that uses them is in ``sqlite.py``, as kine's is in ``pkg/logstructured``.
Every statement works on one table, the log: one row per write, its id the
revision (see ``sqlite.py`` for the layout).
"""

from __future__ import annotations

import sqlite3

from .interface import Event, EventType, KeyValue

SCHEMA = """
CREATE TABLE IF NOT EXISTS kine (
    id INTEGER PRIMARY KEY,  -- the revision
    name TEXT NOT NULL,
    created INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    create_revision INTEGER NOT NULL DEFAULT 0,
    prev_revision INTEGER NOT NULL DEFAULT 0,
    value BLOB
);
-- "newest row of this name at or before R" is one seek; a prefix range is one scan.
CREATE INDEX IF NOT EXISTS kine_name_id_index ON kine (name, id);
CREATE TABLE IF NOT EXISTS kine_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

COLUMNS = "kv.id, kv.name, kv.created, kv.deleted, kv.create_revision, kv.prev_revision, kv.value"
INSERT = "INSERT INTO kine (name, created, deleted, create_revision, prev_revision, value) VALUES (?, ?, ?, ?, ?, ?)"
LATEST = f"SELECT {COLUMNS} FROM kine AS kv WHERE kv.name = ? ORDER BY kv.id DESC LIMIT 1"
AT_REVISION = f"SELECT {COLUMNS} FROM kine AS kv WHERE kv.name = ? AND kv.id <= ? ORDER BY kv.id DESC LIMIT 1"
REVISION = "SELECT COALESCE(MAX(id), 0) FROM kine"
COMPACT_REVISION = "SELECT COALESCE(MAX(value), 0) FROM kine_meta WHERE key = 'compact_rev'"
# listSQL/countSQL: the newest row per name in [lo, end) at revision R, skipping
# tombstones. The scan runs in name order on the index, so LIMIT stops it early; the
# subquery is one index seek per entry scanned.
LIVE_IN_RANGE = """
FROM kine AS kv
WHERE kv.name >= ? {end} AND kv.id <= ?
  AND kv.id = (SELECT MAX(newer.id) FROM kine AS newer WHERE newer.name = kv.name AND newer.id <= ?)
  AND kv.deleted = 0
"""
# afterSQL: the log from a revision on, each row with its previous value. "+kv.name"
# keeps the planner on the primary key (id order) rather than the name index.
EVENT_COLUMNS = f"{COLUMNS}, prev.value FROM kine AS kv LEFT JOIN kine AS prev ON prev.id = kv.prev_revision"
AFTER = f"SELECT {EVENT_COLUMNS} WHERE kv.id > ? ORDER BY kv.id LIMIT ?"
AFTER_IN_RANGE = (
    f"SELECT {EVENT_COLUMNS} WHERE kv.id >= ? AND kv.id <= ? AND +kv.name >= ? {{end}} ORDER BY kv.id LIMIT ?"
)
# compactSQL: rows superseded at or before R, and tombstones at or before R but never
# the newest row (its id is what the next revision counts from). Rows before the
# previous compaction P are gone already, so only [P, R] is scanned (P itself: the
# newest row may have been a tombstone that P had to keep).
COMPACT = """
DELETE FROM kine WHERE id IN (
    SELECT prev_revision FROM kine WHERE id > ? AND id <= ? AND prev_revision != 0
    UNION
    SELECT id FROM kine WHERE id >= ? AND id <= ? AND deleted != 0 AND id < (SELECT MAX(id) FROM kine))
"""
SET_COMPACT_REVISION = "INSERT OR REPLACE INTO kine_meta (key, value) VALUES ('compact_rev', ?)"

LOG_BATCH = 1000  # rows read per query when replaying or catching up


def prefix_end(prefix: str) -> str | None:
    """The first key after every key starting with ``prefix`` (etcd's GetPrefixRangeEnd)."""
    for i in range(len(prefix) - 1, -1, -1):
        if ord(prefix[i]) < 0x10FFFF:
            return prefix[:i] + chr(ord(prefix[i]) + 1)
    return None  # "": every key


# --- rows, read defensively: a corrupt row must never crash the process ------------


def as_bytes(v: object) -> bytes:
    if isinstance(v, bytes):
        return v
    if v is None:
        return b""
    return str(v).encode("utf-8", "replace")  # TEXT or a number where a BLOB belongs


def as_int(v: object) -> int:
    return v if isinstance(v, int) else 0


def scalar(db: sqlite3.Connection, query: str, args: tuple[object, ...] = ()) -> int:
    """The integer a one-value query returns (0 for NULL)."""
    return as_int(db.execute(query, args).fetchone()[0])


def as_text(v: object) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def row_kv(row: tuple[object, ...]) -> KeyValue:
    rid, name, created, _deleted, create_rev, _prev_rev, value = row[:7]
    if type(rid) is int and type(name) is str and type(value) is bytes and type(create_rev) is int:
        return KeyValue(name, value, rid if created else create_rev, rid)  # the usual, fast path
    rev = as_int(rid)
    return KeyValue(as_text(name), as_bytes(value), rev if created else as_int(create_rev), rev)


def row_event(row: tuple[object, ...]) -> Event:
    """One log row (with its previous value appended) as a watch event."""
    rid, name, created, deleted, create_rev, prev_rev, value, prev_value = row
    rev = as_int(rid)
    if created:
        return Event(EventType.CREATE, as_text(name), rev, as_bytes(value), rev)
    kind, new = (EventType.DELETE, b"") if deleted else (EventType.UPDATE, as_bytes(value))
    return Event(kind, as_text(name), rev, new, as_int(create_rev), as_bytes(prev_value), as_int(prev_rev))
