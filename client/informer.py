"""The shared informer: one list+watch per resource, a local cache, and event handlers.

Controllers never poll the API server. Each resource they care about has one
informer, shared by every controller in the process, which

1. runs a :class:`~client.reflector.Reflector` (list, then watch) and applies each
   change to an :class:`~client.cache.Indexer`, the local cache;
2. tells every registered handler what changed: ``on_add(obj)``,
   ``on_update(old, new)``, ``on_delete(obj)``;
3. every ``resync_period`` seconds (if set), calls ``on_update(obj, obj)`` for every
   cached object, so a level-triggered controller gets a periodic nudge to check
   each object even when nothing changed.

What handlers see:

* after a re-list (say the watch was down and history expired), an object still
  present arrives as ``on_update(old, new)``, even when unchanged (compare
  ``metadata.resourceVersion`` to tell), one that appeared as ``on_add``, and one
  that disappeared as ``on_delete(DeletedFinalStateUnknown(key, last_known))``: the
  informer knows it is gone but not its final state (:func:`~client.cache.final_state`
  unwraps either form);
* a handler added after the informer started first gets ``on_add`` for every object
  already cached;
* each handler has its own unbounded queue and task (client-go's
  ``processorListener``), so a slow handler delays only itself. Handlers may be
  plain functions or coroutines; usually they just put a key in a workqueue.

``has_synced()`` turns true once the first LIST is in the cache; a controller waits
for it before starting its workers, or it would act on an empty cache
(:func:`wait_for_cache_sync`).

The objects handlers and the cache hand out are shared: **never modify them**;
``client.cache.copy(obj)`` first.

Where client-go puts a DeltaFIFO between the reflector and the cache (so one
goroutine drains deltas while another watches), here the reflector and the cache
share one event loop: each event updates the cache synchronously, in order, and the
per-handler queues provide the decoupling.

Mirrors: k8s.io/client-go/tools/cache/{shared_informer.go (sharedIndexInformer,
sharedProcessor, processorListener, HandleDeltas), delta_fifo.go (Replace emitting
DeletedFinalStateUnknown), shared_informer.go WaitForCacheSync}.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

from apimachinery.meta import object_key
from client.cache import DeletedFinalStateUnknown, Indexer, IndexFunc, Obj
from client.reflector import Backoff, ListerWatcher, Reflector, ResourceListerWatcher
from client.rest import GVR, RESTClient

log = logging.getLogger(__name__)

AddHandler = Callable[[Obj], Any]
UpdateHandler = Callable[[Obj, Obj], Any]
DeleteHandler = Callable[[Obj | DeletedFinalStateUnknown], Any]


class HandlerRegistration:
    """One registered set of handlers, fed in order from its own queue (processorListener)."""

    def __init__(
        self,
        on_add: AddHandler | None,
        on_update: UpdateHandler | None,
        on_delete: DeleteHandler | None,
        informer: SharedInformer,
    ) -> None:
        self.on_add, self.on_update, self.on_delete = on_add, on_update, on_delete
        self._informer = informer
        self._queue: asyncio.Queue[tuple[str, Any, Any]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._delivered = 0
        self._enqueued = 0
        # How many notifications make up this handler's initial view (the first list,
        # or the replay of the cache for a late handler); None until that is known.
        self._initial: int | None = None

    def has_synced(self) -> bool:
        """True once this handler has been called for everything in the initial list."""
        return self._initial is not None and self._delivered >= self._initial

    def _notify(self, kind: str, a: Any, b: Any = None) -> None:
        self._enqueued += 1
        self._queue.put_nowait((kind, a, b))

    def _mark_initial(self) -> None:
        if self._initial is None:
            self._initial = self._enqueued

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            kind, a, b = await self._queue.get()
            handler: Callable[..., Any] | None
            args: tuple[Any, ...]
            if kind == "add":
                handler, args = self.on_add, (a,)
            elif kind == "update":
                handler, args = self.on_update, (a, b)
            else:
                handler, args = self.on_delete, (a,)
            try:
                if handler is not None:
                    result = handler(*args)
                    if inspect.isawaitable(result):
                        await result
            except Exception:
                log.exception("%s: %s handler failed", self._informer.name, kind)
            finally:
                self._delivered += 1

    async def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


class SharedInformer:
    """A cache of one resource kept current by list+watch, with event handlers."""

    def __init__(
        self,
        lister_watcher: ListerWatcher,
        *,
        name: str = "informer",
        resync_period: float = 0.0,
        indexers: Mapping[str, IndexFunc] | None = None,
        backoff: Backoff | None = None,
        min_watch_timeout: int | None = None,
    ) -> None:
        self.name = name
        self.resync_period = resync_period
        self.indexer = Indexer(indexers)
        kwargs: dict[str, Any] = {"name": name, "backoff": backoff}
        if min_watch_timeout is not None:
            kwargs["min_watch_timeout"] = min_watch_timeout
        self.reflector = Reflector(lister_watcher, self, **kwargs)
        self._handlers: list[HandlerRegistration] = []
        self._synced = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._run_task: asyncio.Task[None] | None = None
        self._running = False

    @classmethod
    def for_resource(
        cls,
        rest: RESTClient,
        gvr: GVR,
        *,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        **kwargs: Any,
    ) -> SharedInformer:
        """An informer for ``gvr`` (in ``namespace``, or all), optionally filtered by selectors."""
        lw = ResourceListerWatcher(rest, gvr, namespace, label_selector, field_selector)
        kwargs.setdefault("name", gvr.resource if not gvr.group else f"{gvr.resource}.{gvr.group}")
        return cls(lw, **kwargs)

    # --- what controllers use ---------------------------------------------------------

    def add_event_handler(
        self,
        on_add: AddHandler | None = None,
        on_update: UpdateHandler | None = None,
        on_delete: DeleteHandler | None = None,
    ) -> HandlerRegistration:
        """Register handlers; if the informer already has data, replay it as ``on_add``."""
        reg = HandlerRegistration(on_add, on_update, on_delete, self)
        self._handlers.append(reg)
        if self._synced.is_set():
            for obj in self.indexer.list():
                reg._notify("add", obj)
            reg._mark_initial()
        if self._running:
            reg._start()
        return reg

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        self.indexer.add_indexers(indexers)

    def has_synced(self) -> bool:
        """Has the first LIST been applied to the cache?"""
        return self._synced.is_set()

    async def wait_for_sync(self) -> None:
        """Wait for ``has_synced()``; bound it with ``asyncio.timeout(...)`` if you need to."""
        await self._synced.wait()

    @property
    def last_sync_resource_version(self) -> str:
        return self.reflector.last_sync_resource_version

    # --- running ------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until cancelled: the reflector, the resync timer and the handler queues."""
        if self._running:
            raise RuntimeError(f"{self.name}: informer already running")
        self._running = True
        for reg in self._handlers:
            reg._start()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self.reflector.run())]
        if self.resync_period > 0:
            self._tasks.append(loop.create_task(self._resync_loop()))
        try:
            await asyncio.gather(*self._tasks)
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for reg in self._handlers:
                await reg._stop()
            self._running = False

    def start(self) -> asyncio.Task[None]:
        """Run in the background; ``await stop()`` ends it."""
        self._run_task = asyncio.get_running_loop().create_task(self.run(), name=f"informer {self.name}")
        return self._run_task

    async def stop(self) -> None:
        task, self._run_task = self._run_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def __aenter__(self) -> SharedInformer:
        self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self.resync_period)
            if self._synced.is_set():
                for obj in self.indexer.list():
                    self._distribute("update", obj, obj)

    # --- the store the reflector writes to (HandleDeltas) -----------------------------

    def replace(self, items: list[Obj], resource_version: str) -> None:
        """A (re-)list: listed objects are added or updated, missing ones deleted as tombstones."""
        listed = {object_key(o): o for o in items}
        for key, obj in listed.items():
            old = self.indexer.get(key)
            self.indexer.update(obj)
            if old is None:
                self._distribute("add", obj)
            else:
                self._distribute("update", old, obj)
        for key in self.indexer.list_keys():
            if key not in listed:
                last = self.indexer.get(key)
                assert last is not None
                tombstone = DeletedFinalStateUnknown(key, last)
                self.indexer.delete(tombstone)
                self._distribute("delete", tombstone)
        if not self._synced.is_set():
            for reg in self._handlers:
                reg._mark_initial()
            self._synced.set()

    def add(self, obj: Obj) -> None:
        old = self.indexer.get_by_object(obj)
        self.indexer.update(obj)
        if old is None:
            self._distribute("add", obj)
        else:
            self._distribute("update", old, obj)

    def update(self, obj: Obj) -> None:
        self.add(obj)

    def delete(self, obj: Obj) -> None:
        self.indexer.delete(obj)
        self._distribute("delete", obj)

    def _distribute(self, kind: str, a: Any, b: Any = None) -> None:
        for reg in self._handlers:
            reg._notify(kind, a, b)


async def wait_for_cache_sync(*informers: SharedInformer) -> None:
    """Wait until every informer has synced (cache.WaitForCacheSync).

    It waits for as long as it takes; wrap it in ``asyncio.timeout(...)`` to give up.
    """
    await asyncio.gather(*(i.wait_for_sync() for i in informers))
