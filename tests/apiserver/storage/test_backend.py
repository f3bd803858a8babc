"""The etcd v3 contract (``interface.py``), checked on every backend.

The same tests run on the embedded SQLite store and on a real etcd (the ``backend``
fixture in conftest.py), the way kine runs upstream's storage tests against itself:
whatever passes here behaves like etcd for the apiserver.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from apiserver.storage.errors import CompactedError, ConflictError, KeyExistsError, KeyNotFoundError
from apiserver.storage.interface import Backend, Event, EventType, WatchBatch

P = "/registry/pods/"


async def next_events(it: AsyncIterator[WatchBatch], n: int) -> list[Event]:
    """The next ``n`` events from a watch, skipping progress notifications."""
    events: list[Event] = []
    async with asyncio.timeout(5):
        while len(events) < n:
            events.extend((await anext(it)).events)
    return events


async def close(it: AsyncIterator[WatchBatch]) -> None:
    await it.aclose()  # type: ignore[attr-defined]


# --- writes ------------------------------------------------------------------------


async def test_create_then_get_and_create_existing_fails(backend: Backend) -> None:
    before = await backend.current_revision()
    rev = await backend.create(P + "ns/a", b"1")
    assert rev == before + 1
    kv, read_rev = await backend.get(P + "ns/a")
    assert kv is not None
    assert (kv.key, kv.value, kv.create_revision, kv.mod_revision) == (P + "ns/a", b"1", rev, rev)
    assert read_rev >= rev
    with pytest.raises(KeyExistsError):
        await backend.create(P + "ns/a", b"2")
    assert await backend.current_revision() == rev  # a failed create writes nothing
    assert (await backend.get(P + "ns/missing"))[0] is None


async def test_update_is_compare_and_swap(backend: Backend) -> None:
    r1 = await backend.create(P + "ns/a", b"1")
    r2 = await backend.update(P + "ns/a", b"2", r1)
    assert r2 == r1 + 1
    with pytest.raises(ConflictError):
        await backend.update(P + "ns/a", b"3", r1)  # stale: someone wrote r2 since
    with pytest.raises(KeyNotFoundError):
        await backend.update(P + "ns/missing", b"x", 1)
    kv, _ = await backend.get(P + "ns/a")
    assert kv is not None and (kv.value, kv.create_revision, kv.mod_revision) == (b"2", r1, r2)


async def test_delete_checks_its_precondition(backend: Backend) -> None:
    r1 = await backend.create(P + "ns/a", b"1")
    r2 = await backend.update(P + "ns/a", b"2", r1)
    with pytest.raises(ConflictError):
        await backend.delete(P + "ns/a", expected_revision=r1)
    rev, old = await backend.delete(P + "ns/a", expected_revision=r2)
    assert rev == r2 + 1
    assert (old.key, old.value, old.create_revision, old.mod_revision) == (P + "ns/a", b"2", r1, r2)
    assert (await backend.get(P + "ns/a"))[0] is None
    with pytest.raises(KeyNotFoundError):
        await backend.delete(P + "ns/a")
    # Recreated, the key starts a new life: a new create_revision.
    r4 = await backend.create(P + "ns/a", b"3")
    await backend.delete(P + "ns/a")  # no precondition
    kv, _ = await backend.get(P + "ns/a", revision=r4)
    assert kv is not None and kv.create_revision == r4


# --- reads at a revision and pagination -----------------------------------------


async def test_get_and_list_at_a_past_revision(backend: Backend) -> None:
    ra = await backend.create(P + "ns/a", b"a1")
    rb = await backend.create(P + "ns/b", b"b1")
    await backend.update(P + "ns/a", b"a2", ra)
    await backend.delete(P + "ns/b", rb)
    await backend.create(P + "ns/c", b"c1")

    kv, read_rev = await backend.get(P + "ns/a", revision=rb)
    assert kv is not None and kv.value == b"a1" and read_rev == rb
    then = await backend.list(P, revision=rb)
    assert [(kv.key, kv.value) for kv in then.kvs] == [(P + "ns/a", b"a1"), (P + "ns/b", b"b1")]
    assert then.revision == rb
    now = await backend.list(P)
    assert [(kv.key, kv.value) for kv in now.kvs] == [(P + "ns/a", b"a2"), (P + "ns/c", b"c1")]
    assert now.revision == await backend.current_revision()


KEYS = ["ns/a", "ns/b", "ns/c", "ns/d", "ns/e"]


@pytest.mark.parametrize(
    ("prefix", "start_key", "limit", "keys", "more", "count"),
    [
        (P, "", 0, KEYS, False, 5),
        (P, "", 2, ["ns/a", "ns/b"], True, 5),
        (P, P + "ns/b\x00", 2, ["ns/c", "ns/d"], True, 3),
        (P, P + "ns/d\x00", 2, ["ns/e"], False, 1),
        (P, P + "ns/e\x00", 2, [], False, 0),
        (P, P + "ns/c", 0, ["ns/c", "ns/d", "ns/e"], False, 3),
        (P, P + "ns/e", 1, ["ns/e"], False, 1),
        (P, "/registry/a", 2, ["ns/a", "ns/b"], True, 5),  # start_key before the prefix: from the prefix
        (P + "ns/", "", 5, KEYS, False, 5),
        (P + "ns/c", "", 0, ["ns/c"], False, 1),
        (P + "other/", "", 0, [], False, 0),
    ],
    ids=[
        "all",
        "first-page",
        "middle-page",
        "last-page",
        "past-the-end",
        "from-start-key",
        "exact-last",
        "start-before-prefix",
        "limit-equals-count",
        "single-key-prefix",
        "empty-range",
    ],
)
async def test_list_pagination(
    backend: Backend, prefix: str, start_key: str, limit: int, keys: list[str], more: bool, count: int
) -> None:
    for k in KEYS:
        await backend.create(P + k, k.encode())
    await backend.create(P + "ns/c-deleted", b"x")
    await backend.delete(P + "ns/c-deleted")
    await backend.create("/registry/podsx/ns/a", b"not under /registry/pods/")
    res = await backend.list(prefix, start_key=start_key, limit=limit)
    assert [kv.key for kv in res.kvs] == [P + k for k in keys]
    assert [kv.value for kv in res.kvs] == [k.encode() for k in keys]
    assert (res.more, res.count) == (more, count)


async def test_paging_at_the_first_pages_revision_is_a_snapshot(backend: Backend) -> None:
    for i in range(20):
        await backend.create(f"{P}ns/p{i:02d}", b"v0")
    snapshot = [(kv.key, kv.value) for kv in (await backend.list(P)).kvs]
    first = await backend.list(P, limit=5)
    seen = [(kv.key, kv.value) for kv in first.kvs]
    start, i = first.kvs[-1].key + "\x00", 0
    while True:
        # Writers move on between pages: updates, deletes, and new keys on both sides.
        kv, _ = await backend.get(f"{P}ns/p{i:02d}")
        if kv is not None:
            await backend.update(kv.key, b"changed", kv.mod_revision)
        await backend.delete(f"{P}ns/p{19 - i:02d}")
        await backend.create(f"{P}ns/p{i:02d}-new", b"new")
        await backend.create(f"{P}ns/a{i:02d}", b"new")
        page = await backend.list(P, start_key=start, limit=5, revision=first.revision)
        assert page.revision == first.revision
        seen += [(kv.key, kv.value) for kv in page.kvs]
        if not page.more:
            break
        start, i = page.kvs[-1].key + "\x00", i + 1
    assert seen == snapshot


# --- compaction --------------------------------------------------------------------


async def test_compaction_expires_old_revisions_for_reads_and_watches(backend: Backend) -> None:
    r1 = await backend.create(P + "ns/a", b"1")
    r2 = await backend.update(P + "ns/a", b"2", r1)
    r3 = await backend.create(P + "ns/b", b"1")
    r4 = await backend.update(P + "ns/b", b"2", r3)
    await backend.compact(r4)
    assert await backend.compacted_revision() == r4

    with pytest.raises(CompactedError):
        await backend.get(P + "ns/a", revision=r2)
    with pytest.raises(CompactedError):
        await backend.list(P, revision=r3)
    it = backend.watch(P, r4 - 1)
    with pytest.raises(CompactedError):
        await anext(it)
    # The compacted revision itself and everything after it are still readable.
    res = await backend.list(P, revision=r4)
    assert [(kv.key, kv.value, kv.mod_revision) for kv in res.kvs] == [
        (P + "ns/a", b"2", r2),
        (P + "ns/b", b"2", r4),
    ]
    r5 = await backend.update(P + "ns/a", b"3", r2)
    it = backend.watch(P, r4 + 1)
    try:
        (ev,) = await next_events(it, 1)
        assert (ev.revision, ev.value, ev.prev_value, ev.prev_revision) == (r5, b"3", b"2", r2)
    finally:
        await close(it)


# --- watch -------------------------------------------------------------------------


async def test_watch_streams_changes_in_order_with_previous_values(backend: Backend) -> None:
    start = await backend.current_revision() + 1
    it = backend.watch(P + "ns/", start)
    try:
        r1 = await backend.create(P + "ns/a", b"1")
        await backend.create("/registry/services/ns/a", b"elsewhere")
        r2 = await backend.update(P + "ns/a", b"2", r1)
        r3 = await backend.create(P + "ns/b", b"1")
        r4, _ = await backend.delete(P + "ns/a", r2)
        events = await next_events(it, 4)
    finally:
        await close(it)
    got = [
        (e.type, e.key, e.revision, e.value, e.create_revision, e.prev_value, e.prev_revision) for e in events
    ]
    assert got == [
        (EventType.CREATE, P + "ns/a", r1, b"1", r1, None, 0),
        (EventType.UPDATE, P + "ns/a", r2, b"2", r1, b"1", r1),
        (EventType.CREATE, P + "ns/b", r3, b"1", r3, None, 0),
        (EventType.DELETE, P + "ns/a", r4, b"", r1, b"2", r2),
    ]


async def test_watch_replays_from_an_old_revision_then_goes_live(backend: Backend) -> None:
    r1 = await backend.create(P + "ns/a", b"1")
    r2 = await backend.update(P + "ns/a", b"2", r1)
    r3, _ = await backend.delete(P + "ns/a", r2)
    it = backend.watch(P, r2)
    try:
        replayed = await next_events(it, 2)
        r4 = await backend.create(P + "ns/a", b"3")
        live = await next_events(it, 1)
    finally:
        await close(it)
    got = [(e.type, e.revision, e.prev_value) for e in replayed + live]
    assert got == [(EventType.UPDATE, r2, b"1"), (EventType.DELETE, r3, b"2"), (EventType.CREATE, r4, None)]


async def test_batches_are_ordered_and_report_their_revision(backend: Backend) -> None:
    start = await backend.current_revision() + 1
    it = backend.watch(P, start)
    try:
        revs = await asyncio.gather(*(backend.create(f"{P}ns/p{i}", b"x") for i in range(20)))
        seen: list[int] = []
        async with asyncio.timeout(5):
            while len(seen) < 20:
                batch = await anext(it)
                if batch.events:
                    assert batch.revision == batch.events[-1].revision
                seen += [e.revision for e in batch.events]
    finally:
        await close(it)
    assert seen == sorted(revs) == list(range(start, start + 20))


async def test_progress_notifications_report_the_store_revision(backend: Backend) -> None:
    """An idle watch gets empty batches carrying the revision (they back BOOKMARKs)."""
    start = await backend.current_revision() + 1
    it = backend.watch(P, start)
    try:
        rev = await backend.create("/registry/services/ns/a", b"not watched")
        async with asyncio.timeout(5):
            while True:
                batch = await anext(it)
                assert batch.events == []
                if batch.revision >= rev:
                    break
    finally:
        await close(it)


# --- concurrency -------------------------------------------------------------------


async def test_concurrent_compare_and_swap_loses_no_increment(backend: Backend) -> None:
    """N writers read-modify-write one counter; conflicts are retried; the count is exact."""
    key, n = P + "ns/counter", 16
    await backend.create(key, b"0")
    conflicts = 0

    async def increment() -> None:
        nonlocal conflicts
        while True:
            kv, _ = await backend.get(key)
            assert kv is not None
            await asyncio.sleep(0)  # let the others read the same revision
            try:
                await backend.update(key, str(int(kv.value) + 1).encode(), kv.mod_revision)
                return
            except ConflictError:
                conflicts += 1

    await asyncio.gather(*(increment() for _ in range(n)))
    kv, _ = await backend.get(key)
    assert kv is not None and int(kv.value) == n
    assert conflicts > 0
