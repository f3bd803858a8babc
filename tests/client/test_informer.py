"""client/informer.py against the real API server: cache, handlers, indexers, resync, re-list."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from client.cache import DeletedFinalStateUnknown, Obj
from client.informer import SharedInformer, wait_for_cache_sync
from client.reflector import Backoff, ResourceListerWatcher
from client.rest import CONFIGMAPS, RESTClient, WatchEvent


def _cm(name: str, owner: str = "", **data: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if owner:
        meta["labels"] = {"owner": owner}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


class Recorder:
    """Event handlers that log what they are called with, and let a test wait for a condition."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()

    def on_add(self, obj: Obj) -> None:
        self._record(("add", obj["metadata"]["name"]))

    def on_update(self, old: Obj, new: Obj) -> None:
        same = old["metadata"]["resourceVersion"] == new["metadata"]["resourceVersion"]
        self._record(("resync" if same else "update", new["metadata"]["name"]))

    def on_delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        if isinstance(obj, DeletedFinalStateUnknown):
            self._record(("tombstone", obj.obj["metadata"]["name"]))
        else:
            self._record(("delete", obj["metadata"]["name"]))

    def _record(self, event: tuple[str, Any]) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, condition: Callable[[list[tuple[str, Any]]], bool], seconds: float = 10) -> None:
        async with asyncio.timeout(seconds):
            while not condition(self.events):
                self._changed.clear()
                await self._changed.wait()

    def handlers(self) -> dict[str, Any]:
        return {"on_add": self.on_add, "on_update": self.on_update, "on_delete": self.on_delete}


def by_owner_label(obj: Obj) -> list[str]:
    owner = (obj["metadata"].get("labels") or {}).get("owner")
    return [owner] if owner else []


async def test_list_and_watch_deliver_add_update_delete(rest: RESTClient, ns: str) -> None:
    await rest.create(CONFIGMAPS, _cm("before", "x"), namespace=ns)
    informer = SharedInformer.for_resource(rest, CONFIGMAPS, namespace=ns, indexers={"owner": by_owner_label})
    rec = Recorder()
    reg = informer.add_event_handler(**rec.handlers())
    async with informer:
        async with asyncio.timeout(10):
            await wait_for_cache_sync(informer)
        await rec.wait_for(lambda ev: ev == [("add", "before")])
        assert reg.has_synced()
        await rest.create(CONFIGMAPS, _cm("after", "y"), namespace=ns)
        await rest.patch(CONFIGMAPS, "after", {"metadata": {"labels": {"owner": "x"}}}, namespace=ns)
        await rest.delete(CONFIGMAPS, "before", namespace=ns)
        await rec.wait_for(lambda ev: len(ev) == 4)
        assert rec.events == [("add", "before"), ("add", "after"), ("update", "after"), ("delete", "before")]
        cached = informer.indexer.get(f"{ns}/after")
        assert cached is not None and cached["metadata"]["labels"] == {"owner": "x"}
        assert informer.indexer.index_keys("owner", "x") == [f"{ns}/after"]
        assert informer.indexer.index_keys("owner", "y") == []
        assert [o["metadata"]["name"] for o in informer.indexer.by_index("namespace", ns)] == ["after"]
        assert int(informer.last_sync_resource_version) >= int(cached["metadata"]["resourceVersion"])


async def test_resync_redelivers_every_cached_object(rest: RESTClient, ns: str) -> None:
    for name in ("a", "b"):
        await rest.create(CONFIGMAPS, _cm(name), namespace=ns)
    informer = SharedInformer.for_resource(rest, CONFIGMAPS, namespace=ns, resync_period=0.2)
    rec = Recorder()
    informer.add_event_handler(**rec.handlers())
    async with informer:
        await rec.wait_for(lambda ev: ev.count(("resync", "a")) >= 2 and ev.count(("resync", "b")) >= 2)
    assert rec.events[:2] == [("add", "a"), ("add", "b")]


async def test_a_late_handler_first_gets_the_cache_as_adds(rest: RESTClient, ns: str) -> None:
    await rest.create(CONFIGMAPS, _cm("a"), namespace=ns)
    informer = SharedInformer.for_resource(rest, CONFIGMAPS, namespace=ns)
    async with informer:
        async with asyncio.timeout(10):
            await informer.wait_for_sync()
        rec = Recorder()
        reg = informer.add_event_handler(**rec.handlers())
        await rec.wait_for(lambda ev: ev == [("add", "a")])
        assert reg.has_synced()


class ChurnBeforeFirstWatch:
    """A lister-watcher that, between the first LIST and the first WATCH, changes the world.

    It deletes ``gone``, creates ``new`` and writes more events than the server's watch
    cache keeps (``--watch-cache-size 100``), so the watch from the list's
    resourceVersion gets ``410 Expired`` and the informer must re-list.
    """

    def __init__(self, rest: RESTClient, ns: str) -> None:
        self.inner = ResourceListerWatcher(rest, CONFIGMAPS, ns)
        self.rest, self.ns = rest, ns
        self.watch_rvs: list[str] = []
        self.list_rvs: list[str | None] = []

    async def list(self, *, resource_version: str | None, limit: int, continue_: str) -> Obj:
        self.list_rvs.append(resource_version)
        return await self.inner.list(resource_version=resource_version, limit=limit, continue_=continue_)

    def watch(
        self, *, resource_version: str, timeout_seconds: int, allow_watch_bookmarks: bool
    ) -> AbstractAsyncContextManager[AsyncIterable[WatchEvent]]:
        self.watch_rvs.append(resource_version)
        inner = self.inner.watch(
            resource_version=resource_version,
            timeout_seconds=timeout_seconds,
            allow_watch_bookmarks=allow_watch_bookmarks,
        )
        if len(self.watch_rvs) > 1:
            return inner
        outer = self

        class Churn:
            async def __aenter__(self) -> AsyncIterable[WatchEvent]:
                await outer.rest.delete(CONFIGMAPS, "gone", namespace=outer.ns)
                await outer.rest.create(CONFIGMAPS, _cm("new"), namespace=outer.ns)
                for i in range(110):
                    await outer.rest.patch(CONFIGMAPS, "kept", {"data": {"i": str(i)}}, namespace=outer.ns)
                return await inner.__aenter__()

            async def __aexit__(self, *exc: Any) -> None:
                await inner.__aexit__(*exc)

        return Churn()


async def test_relist_after_410_delivers_tombstones_and_updates(rest: RESTClient, ns: str) -> None:
    for name in ("kept", "gone"):
        await rest.create(CONFIGMAPS, _cm(name), namespace=ns)
    lw = ChurnBeforeFirstWatch(rest, ns)
    informer = SharedInformer(lw, name="churn", backoff=Backoff(initial=0.01, jitter=0))
    rec = Recorder()
    informer.add_event_handler(**rec.handlers())
    async with informer:
        await rec.wait_for(lambda ev: ("tombstone", "gone") in ev and ("add", "new") in ev, seconds=20)
        assert sorted(informer.indexer.list_keys()) == [f"{ns}/kept", f"{ns}/new"]
        kept = informer.indexer.get(f"{ns}/kept")
        assert kept is not None and kept["data"]["i"] == "109"
    assert sorted(rec.events[:2]) == [("add", "gone"), ("add", "kept")]
    assert ("update", "kept") in rec.events[2:]
    # The first list was from the watch cache ("0"); the re-list "not older than" the
    # list's resourceVersion; each watch started from the RV the list before it returned.
    assert lw.list_rvs[0] == "0" and lw.list_rvs[1] == lw.watch_rvs[0]
    assert len(lw.watch_rvs) >= 2 and lw.watch_rvs[1] != lw.watch_rvs[0]


async def test_async_handlers_and_a_failing_handler_does_not_stop_the_others(
    rest: RESTClient, ns: str
) -> None:
    informer = SharedInformer.for_resource(rest, CONFIGMAPS, namespace=ns)
    seen: list[str] = []
    both = asyncio.Event()

    async def slow_add(obj: Obj) -> None:
        await asyncio.sleep(0.01)
        seen.append(obj["metadata"]["name"])
        if len(seen) == 2:
            both.set()

    def broken(obj: Obj) -> None:
        raise RuntimeError("handler bug")

    informer.add_event_handler(on_add=broken)
    informer.add_event_handler(on_add=slow_add)
    async with informer:
        for name in ("a", "b"):
            await rest.create(CONFIGMAPS, _cm(name), namespace=ns)
        async with asyncio.timeout(10):
            await both.wait()
    assert seen == ["a", "b"]
