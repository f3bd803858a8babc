"""The watch cache (apiserver/storage/cacher.py) over every real backend.

Each test writes through an :class:`ObjectStore` on the backend and watches through a
:class:`Cacher` on the same backend, as the API server does. Failures of the upstream
watch are produced for real where the backend allows it (a SQLite backend closed
and reopened, etcd restarted) and otherwise by :class:`Partition`, a pass-through
in front of the real backend that can cut its watch streams, as a network partition
between the API server and etcd would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from apiserver.storage.cache_watcher import CACHE_RELISTED, CACHER_STOPPED, Watcher, is_initial_events_end
from apiserver.storage.cacher import Cacher, TooLargeResourceVersionError
from apiserver.storage.errors import CompactedError, UnavailableError
from apiserver.storage.interface import Backend, WatchBatch
from apiserver.storage.store import Object, ObjectEvent, ObjectStore

PODS = "/registry/pods/"
STEP = 5.0  # the longest any single expected event may take to arrive


def pod(name: str, ns: str = "default", **labels: str) -> Object:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels}}


def key(name: str, ns: str = "default") -> str:
    return f"{PODS}{ns}/{name}"


def rv(obj: Object) -> int:
    return int(obj["metadata"]["resourceVersion"])


async def take(w: Watcher, n: int) -> list[ObjectEvent]:
    """The next ``n`` events that are not BOOKMARKs."""
    out: list[ObjectEvent] = []
    async with asyncio.timeout(STEP + n * 0.05):
        async for ev in w:
            if ev.type != "BOOKMARK":
                out.append(ev)
                if len(out) == n:
                    break
    assert len(out) == n, f"watch ended ({w.closed_reason}) after {out}"
    return out


def summary(events: list[ObjectEvent]) -> list[tuple[str, str, int]]:
    return [(e.type, e.object["metadata"]["name"], e.revision) for e in events]


@pytest.fixture
async def cacher_for(store: ObjectStore) -> AsyncIterator[Callable[..., Any]]:
    """Make started, ready cachers over the test's backend (or a wrapper of it); stop them after."""
    made: list[Cacher] = []

    async def make(backend: Backend | None = None, **options: Any) -> Cacher:
        c = Cacher(ObjectStore(backend) if backend is not None else store, PODS, **options)
        made.append(c)
        await c.start()
        async with asyncio.timeout(STEP):
            await c.ready.wait()
        return c

    yield make
    for c in made:
        await c.stop()


async def test_watch_from_now_starts_with_current_objects(store: ObjectStore, cacher_for: Any) -> None:
    b = await store.create(key("b"), pod("b"))
    a = await store.create(key("a"), pod("a"))
    c: Cacher = await cacher_for()
    w = await c.watch(None)
    assert w.start_revision == c.revision == rv(a)
    assert summary(await take(w, 2)) == [("ADDED", "a", rv(a)), ("ADDED", "b", rv(b))]  # key order
    live = await store.create(key("c"), pod("c"))
    assert summary(await take(w, 1)) == [("ADDED", "c", rv(live))]
    w.close()
    assert c.watcher_count == 0


async def test_watch_from_resource_version_replays_every_later_event(
    store: ObjectStore, cacher_for: Any
) -> None:
    c: Cacher = await cacher_for()
    a1 = await store.create(key("a"), pod("a"))
    a2 = await store.guaranteed_update(key("a"), lambda o: {**o, "spec": {"x": 1}})
    await store.delete(key("a"))
    b = await store.create(key("b"), pod("b"))
    async with asyncio.timeout(STEP):
        await c.wait_until_fresh(rv(b))
    w = await c.watch(rv(a1))
    events = await take(w, 3)
    assert summary(events) == [("MODIFIED", "a", rv(a2)), ("DELETED", "a", rv(a2) + 1), ("ADDED", "b", rv(b))]
    deleted = events[1]
    assert rv(deleted.object) == deleted.revision, "DELETED carries the revision of the delete"
    assert deleted.prev_object is not None and rv(deleted.prev_object) == rv(a2)
    assert events[0].prev_object is not None and "spec" not in events[0].prev_object


async def test_too_old_resource_version_is_compacted(store: ObjectStore, cacher_for: Any) -> None:
    first = await store.create(key("early"), pod("early"))
    listed = await store.create(key("listed"), pod("listed"))
    c: Cacher = await cacher_for(history=3)
    with pytest.raises(CompactedError) as err:
        await c.watch(rv(first))  # older than the list the cache started from
    assert err.value.compacted_revision == rv(listed)
    revs = [rv(await store.create(key(f"p{i}"), pod(f"p{i}"))) for i in range(5)]
    await c.wait_until_fresh(revs[-1])
    # The ring keeps the last 3 events: a watch can start after revs[1] but not before.
    assert summary(await take(await c.watch(revs[1]), 3))[0][2] == revs[2]
    with pytest.raises(CompactedError) as err:
        await c.watch(revs[0])
    assert (err.value.revision, err.value.compacted_revision) == (revs[0], revs[1])


async def test_too_large_resource_version_waits_then_fails(store: ObjectStore, cacher_for: Any) -> None:
    c: Cacher = await cacher_for(fresh_timeout=0.2)
    with pytest.raises(TooLargeResourceVersionError, match=r"Too large resource version: \d+, current: \d+"):
        await c.watch(c.revision + 100)
    # A revision just ahead of the cache: the watch starts once the cache reaches it.
    c.fresh_timeout = STEP
    pending = asyncio.create_task(c.watch(c.revision + 1))
    await asyncio.sleep(0)
    created = await store.create(key("a"), pod("a"))
    w = await pending
    live = await store.create(key("b"), pod("b"))
    assert rv(created) == w.start_revision
    assert summary(await take(w, 1)) == [("ADDED", "b", rv(live))]


async def test_slow_watcher_is_closed_and_fast_one_gets_everything(
    store: ObjectStore, cacher_for: Any
) -> None:
    # The queue must hold one upstream batch: etcd may deliver several events at once.
    c: Cacher = await cacher_for(queue_size=20)
    slow = await c.watch(c.revision)
    fast = await c.watch(c.revision)
    received: list[int] = []

    async def read_fast() -> None:
        async for ev in fast:
            received.append(ev.revision)
            if len(received) == 100:
                return

    reader = asyncio.create_task(read_fast())
    written = [rv(await store.create(key(f"p{i:02}"), pod(f"p{i:02}"))) for i in range(100)]
    async with asyncio.timeout(STEP):
        await reader
    assert received == written
    assert slow.too_slow and fast.closed_reason is None
    leftovers = [ev.revision async for ev in slow]  # what was queued is delivered, then it ends
    assert leftovers == written[: len(leftovers)] and len(leftovers) <= 20


async def test_predicate_transitions(store: ObjectStore, cacher_for: Any) -> None:
    await store.create(key("in"), pod("in", app="web"))
    await store.create(key("out"), pod("out", app="db"))
    c: Cacher = await cacher_for()

    def web(o: Object) -> bool:
        return bool(o["metadata"].get("labels", {}).get("app") == "web")

    def relabel(app: str) -> Callable[[Object], Object]:
        return lambda o: {**o, "metadata": {**o["metadata"], "labels": {"app": app}}}

    w = await c.watch(0, web)
    assert summary(await take(w, 1))[0][:2] == ("ADDED", "in")
    r1 = await store.guaranteed_update(key("in"), lambda o: {**o, "spec": {"v": 1}})
    r2 = await store.guaranteed_update(key("in"), relabel("db"))  # stops matching
    await store.guaranteed_update(key("out"), lambda o: {**o, "spec": {"v": 1}})  # never matched
    r3 = await store.guaranteed_update(key("out"), relabel("web"))  # starts matching
    await store.delete(key("out"))
    await store.delete(key("in"))  # deleted while not matching: nothing
    r4 = await store.create(key("new"), pod("new", app="web"))
    events = await take(w, 5)
    assert summary(events) == [
        ("MODIFIED", "in", rv(r1)),
        ("DELETED", "in", rv(r2)),
        ("ADDED", "out", rv(r3)),
        ("DELETED", "out", rv(r3) + 1),
        ("ADDED", "new", rv(r4)),
    ]
    assert events[1].object["metadata"]["labels"] == {"app": "db"}, "stopped matching: the new state"


async def test_watch_one_key_or_one_namespace(store: ObjectStore, cacher_for: Any) -> None:
    c: Cacher = await cacher_for()
    one = await c.watch(c.revision, key=key("a", "ns1"))
    ns1 = await c.watch(c.revision, key=f"{PODS}ns1/")
    for name, ns in [("a", "ns1"), ("b", "ns1"), ("a", "ns2"), ("a", "ns10")]:
        await store.create(key(name, ns), pod(name, ns))
    await store.guaranteed_update(key("a", "ns1"), lambda o: {**o, "spec": {}})
    assert [(e.type, e.object["metadata"]["namespace"]) for e in await take(one, 2)] == [
        ("ADDED", "ns1"),
        ("MODIFIED", "ns1"),
    ]
    assert [e.object["metadata"]["name"] for e in await take(ns1, 3)] == ["a", "b", "a"]
    page = await c.list(0, prefix=f"{PODS}ns1/")
    assert [o["metadata"]["name"] for o in page.items] == ["a", "b"]
    assert page.resource_version == c.revision
    with pytest.raises(ValueError):
        await c.watch(0, key="/registry/services/")


async def test_send_initial_events_ends_with_a_bookmark(store: ObjectStore, cacher_for: Any) -> None:
    await store.create(key("a"), pod("a"))
    await store.create(key("b"), pod("b"))
    c: Cacher = await cacher_for()
    w = await c.watch(c.revision, send_initial_events=True, allow_bookmarks=True)
    events = [await anext(w) for _ in range(3)]
    assert [e.type for e in events] == ["ADDED", "ADDED", "BOOKMARK"]
    end = events[2]
    assert is_initial_events_end(end) and end.revision == c.revision
    assert end.object["metadata"]["resourceVersion"] == str(c.revision)
    live = await store.create(key("c"), pod("c"))
    assert summary(await take(w, 1)) == [("ADDED", "c", rv(live))]


async def test_periodic_and_requested_bookmarks(store: ObjectStore, cacher_for: Any) -> None:
    c: Cacher = await cacher_for(bookmark_interval=0.05)
    quiet = await c.watch(c.revision)
    w = await c.watch(c.revision, allow_bookmarks=True)
    created = await store.create(key("a"), pod("a"))
    after: list[ObjectEvent] = []  # bookmarks after the ADDED (one may come before it)
    async with asyncio.timeout(STEP):
        async for ev in w:
            if ev.type == "ADDED":
                after = [ev]
            elif after:
                after.append(ev)
            if len(after) == 3:
                break
    assert [e.type for e in after] == ["ADDED", "BOOKMARK", "BOOKMARK"]
    assert all(e.revision >= rv(created) and not is_initial_events_end(e) for e in after[1:])
    assert after[1].object == {"metadata": {"resourceVersion": str(after[1].revision)}}
    c.request_bookmark(quiet)  # the API layer may ask for one at its own cadence
    assert [(await anext(quiet)).type, (await anext(quiet)).type] == ["ADDED", "BOOKMARK"]
    with pytest.raises(TimeoutError):  # and without allow_bookmarks, none come by themselves
        await asyncio.wait_for(anext(quiet), 0.2)


async def test_list_from_cache(store: ObjectStore, cacher_for: Any) -> None:
    for name, app in [("b", "web"), ("a", "web"), ("c", "db")]:
        await store.create(key(name), pod(name, app=app))
    c: Cacher = await cacher_for(fresh_timeout=0.1)
    page = await c.list(0, lambda o: o["metadata"]["labels"]["app"] == "web")
    assert [o["metadata"]["name"] for o in page.items] == ["a", "b"]
    assert page.resource_version == c.revision
    assert len((await c.list(None)).items) == 3
    with pytest.raises(TooLargeResourceVersionError):
        await c.list(c.revision + 50)


class Partition:
    """The real backend, with a switch that cuts every watch stream to it."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = f"partition({inner.name})"
        self.down = False
        self.cut = asyncio.Event()  # set once a stream has been cut

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[WatchBatch]:
        return self._watch(prefix, start_revision)

    async def _watch(self, prefix: str, start_revision: int) -> AsyncIterator[WatchBatch]:
        if self.down:
            raise UnavailableError("partitioned", self.name)
        it = self.inner.watch(prefix, start_revision)
        try:
            async for batch in it:
                if self.down:  # this batch never makes it across
                    self.cut.set()
                    raise UnavailableError("partitioned", self.name)
                yield batch
        finally:
            await it.aclose()  # type: ignore[attr-defined]


async def test_upstream_failure_resumes_without_losing_events(
    store: ObjectStore, backend: Backend, cacher_for: Any
) -> None:
    link = Partition(backend)
    c: Cacher = await cacher_for(link)
    w = await c.watch(c.revision)
    link.down = True
    written = [rv(await store.create(key(f"p{i}"), pod(f"p{i}"))) for i in range(3)]
    async with asyncio.timeout(STEP):
        await link.cut.wait()
    link.down = False
    written.append(rv(await store.create(key("after"), pod("after"))))
    assert [e.revision for e in await take(w, 4)] == written
    assert w.closed_reason is None


async def test_relist_after_compaction_closes_watchers(
    store: ObjectStore, backend: Backend, cacher_for: Any
) -> None:
    link = Partition(backend)
    await store.create(key("gone"), pod("gone"))
    c: Cacher = await cacher_for(link)
    w = await c.watch(c.revision)
    old_revision = c.revision
    link.down = True
    await store.delete(key("gone"))
    kept = await store.create(key("kept"), pod("kept"))
    async with asyncio.timeout(STEP):
        await link.cut.wait()
    await store.compact(rv(kept))  # the events the cache missed are gone for good
    link.down = False
    async with asyncio.timeout(STEP):
        await c.wait_until_fresh(rv(kept))
        assert [e async for e in w] == [] and w.closed_reason == CACHE_RELISTED
    assert [o["metadata"]["name"] for o in (await c.list(0)).items] == ["kept"]
    with pytest.raises(CompactedError):
        await c.watch(old_revision)  # the client re-lists, as on a 410
    fresh = await c.watch(c.revision)
    later = await store.create(key("later"), pod("later"))
    assert summary(await take(fresh, 1)) == [("ADDED", "later", rv(later))]


async def test_backend_restart_loses_no_event(
    store: ObjectStore, backend: Backend, cacher_for: Any, request: pytest.FixtureRequest
) -> None:
    c: Cacher = await cacher_for()
    w = await c.watch(c.revision)
    written = [rv(await store.create(key("before"), pod("before")))]
    if backend.name.startswith("sqlite"):
        from apiserver.storage.sqlite import SqliteBackend

        await backend.close()  # the cacher's watch ends; re-watching fails while closed
        other = SqliteBackend(backend.path)  # type: ignore[attr-defined]
        await other.start()  # another process writes meanwhile
        written.append(rv(await ObjectStore(other).create(key("while-down"), pod("while-down"))))
        await other.close()
        await backend.start()
    else:
        await asyncio.to_thread(request.getfixturevalue("etcd_server").restart)
    written.append(rv(await store.create(key("after"), pod("after"))))
    assert [e.revision for e in await take(w, len(written))] == written
    assert w.closed_reason is None


async def test_concurrent_writers_every_watcher_sees_every_revision_in_order(
    store: ObjectStore, cacher_for: Any
) -> None:
    c: Cacher = await cacher_for(history=100_000)
    start = c.revision
    watchers = [await c.watch(start) for _ in range(10)]
    written: list[int] = []

    async def writer(n: int) -> None:
        name = f"w{n}"
        written.append(rv(await store.create(key(name), pod(name))))
        for i in range(40):
            obj = await store.guaranteed_update(key(name), lambda o, i=i: {**o, "spec": {"i": i}})
            written.append(rv(obj))

    await asyncio.gather(*(writer(n) for n in range(5)))
    # Watchers joining mid-stream, from a revision and from "now", see the same tail.
    middle = sorted(written)[len(written) // 2]
    late = await c.watch(middle)
    expected = sorted(written)
    for w in watchers:
        assert [e.revision for e in await take(w, len(expected))] == expected
    tail = [r for r in expected if r > middle]
    assert [e.revision for e in await take(late, len(tail))] == tail


async def test_stop_ends_every_watch(store: ObjectStore, cacher_for: Any) -> None:
    c: Cacher = await cacher_for()
    w = await c.watch(c.revision, key=key("a"))
    await c.stop()
    assert [e async for e in w] == [] and w.closed_reason == CACHER_STOPPED
    c.ready_timeout = 0.01
    with pytest.raises(UnavailableError, match="storage is \\(re\\)initializing"):
        await c.watch(0)


async def test_a_bad_value_or_a_bad_predicate_harms_no_one_else(
    store: ObjectStore, backend: Backend, cacher_for: Any
) -> None:
    await backend.create(key("corrupt"), b"not json")  # e.g. written by a foreign client
    c: Cacher = await cacher_for()
    assert (await c.list(0)).items == []

    def broken(o: Object) -> bool:
        raise KeyError("boom")

    bad = await c.watch(c.revision, broken)
    good = await c.watch(c.revision)
    corrupt, _ = await backend.get(key("corrupt"))
    assert corrupt is not None
    await backend.update(key("corrupt"), b"[]", corrupt.mod_revision)  # still not an object
    ok = await store.create(key("ok"), pod("ok"))
    assert summary(await take(good, 1)) == [("ADDED", "ok", rv(ok))]
    assert [e async for e in bad] == [] and "predicate failed" in (bad.closed_reason or "")
