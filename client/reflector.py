"""The reflector: LIST once, then WATCH from there, forever, mirroring the server into a store.

This is the engine under every informer. Its loop (``ListAndWatch``):

1. **LIST** in pages of 500 (``limit=500``, following ``continue`` tokens). The first
   list asks for ``resourceVersion="0"`` ("anything recent; the watch cache may
   answer"); later ones ask for the last resourceVersion seen. The list's
   ``metadata.resourceVersion`` says which moment the items describe; the store is
   *replaced* with them.
2. **WATCH** from exactly that resourceVersion, with ``allowWatchBookmarks=true`` and
   ``timeoutSeconds`` random in [300, 600) so that many clients' watches do not all
   end at once. Each event goes to the store and moves the last-seen
   resourceVersion forward; a ``BOOKMARK`` carries no object, only a newer
   resourceVersion ("you have seen everything up to here").
3. When the server ends the stream (the timeout), **watch again** from the last
   resourceVersion seen: nothing is missed and nothing is listed again.
4. When the watch says **410 Expired** (an ``ERROR`` event, or an HTTP error), the
   server no longer has history back to our resourceVersion: go back to 1. A LIST
   that itself gets 410, or 504 "Too large resource version", is retried at once
   with ``resourceVersion=""`` (a fresh, consistent read).
5. Any other failure: wait (exponential backoff, 0.8 s doubling to 30 s, jittered)
   and go back to 1.

The store the reflector writes to is anything with ``replace/add/update/delete``
(:class:`ReflectorStore`); the shared informer implements it. The source is a
:class:`ListerWatcher`, so tests can feed a scripted one.

Mirrors: k8s.io/client-go/tools/cache/reflector.go (ListAndWatch, watch,
handleWatch, relistResourceVersion), tools/cache/listwatch.go, tools/pager/pager.go,
apimachinery/pkg/util/wait/backoff.go (ExponentialBackoffManager).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from apimachinery import errors
from client.rest import GVR, RESTClient, WatchEvent
from client.transport import TransportError

log = logging.getLogger(__name__)

Obj = dict[str, Any]

#: reflector.go ``minWatchTimeout``: watches last between 1x and 2x this.
MIN_WATCH_TIMEOUT = 300
PAGE_SIZE = 500


class ListerWatcher(Protocol):
    """Where a reflector gets its data (cache.ListerWatcher)."""

    async def list(self, *, resource_version: str | None, limit: int, continue_: str) -> Obj: ...

    def watch(
        self, *, resource_version: str, timeout_seconds: int, allow_watch_bookmarks: bool
    ) -> AbstractAsyncContextManager[AsyncIterable[WatchEvent]]: ...


class ReflectorStore(Protocol):
    """What a reflector writes to (the Store half of DeltaFIFO)."""

    def replace(self, items: list[Obj], resource_version: str) -> None: ...
    def add(self, obj: Obj) -> None: ...
    def update(self, obj: Obj) -> None: ...
    def delete(self, obj: Obj) -> None: ...


class ResourceListerWatcher:
    """List and watch one resource through a :class:`RESTClient` (cache.NewFilteredListWatchFromClient)."""

    def __init__(
        self,
        rest: RESTClient,
        gvr: GVR,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
    ) -> None:
        self.rest, self.gvr, self.namespace = rest, gvr, namespace
        self.label_selector, self.field_selector = label_selector, field_selector

    async def list(self, *, resource_version: str | None, limit: int, continue_: str) -> Obj:
        result: Obj = await self.rest.list(
            self.gvr,
            namespace=self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            resource_version=resource_version,
            limit=limit,
            continue_=continue_,
        )
        return result

    def watch(
        self, *, resource_version: str, timeout_seconds: int, allow_watch_bookmarks: bool
    ) -> AbstractAsyncContextManager[AsyncIterable[WatchEvent]]:
        return self.rest.watch(
            self.gvr,
            namespace=self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            resource_version=resource_version,
            timeout_seconds=timeout_seconds,
            allow_watch_bookmarks=allow_watch_bookmarks,
        )


class Backoff:
    """Exponential backoff with jitter that resets after a quiet period (ExponentialBackoffManager)."""

    def __init__(
        self,
        initial: float = 0.8,
        maximum: float = 30.0,
        factor: float = 2.0,
        jitter: float = 1.0,
        reset_after: float = 120.0,
    ) -> None:
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self.jitter, self.reset_after = jitter, reset_after
        self._delay = initial
        self._last = 0.0

    def next(self) -> float:
        """The next delay: ``d * (1 + jitter * rand)``, where ``d`` doubles up to ``maximum``."""
        now = time.monotonic()
        if now - self._last > self.reset_after:
            self._delay = self.initial
        self._last = now
        delay = self._delay
        self._delay = min(self._delay * self.factor, self.maximum)
        return delay * (1 + self.jitter * random.random())


def is_expired(err: BaseException) -> bool:
    """410: our resourceVersion is older than the history the server keeps."""
    return errors.is_resource_expired(err) or errors.is_gone(err)


def is_too_large_resource_version(err: BaseException) -> bool:
    """504 "Too large resource version": the server's cache is behind our resourceVersion."""
    if not isinstance(err, errors.StatusError):
        return False
    causes = err.status.get("details", {}).get("causes") or []
    return any(c.get("reason") == "ResourceVersionTooLarge" for c in causes) or (
        "Too large resource version" in err.message
    )


class Reflector:
    """Keeps ``store`` equal to the server's state of one resource, by list and watch."""

    def __init__(
        self,
        lister_watcher: ListerWatcher,
        store: ReflectorStore,
        *,
        name: str = "reflector",
        page_size: int = PAGE_SIZE,
        min_watch_timeout: int = MIN_WATCH_TIMEOUT,
        backoff: Backoff | None = None,
    ) -> None:
        self.lister_watcher = lister_watcher
        self.store = store
        self.name = name
        self.page_size = page_size
        self.min_watch_timeout = min_watch_timeout
        self.backoff = backoff or Backoff()
        #: The resourceVersion the store reflects: from the last list, event or bookmark.
        self.last_sync_resource_version = ""
        # Set when a LIST at last_sync_resource_version failed with 410/too large: the
        # next list must be a fresh read (resourceVersion="").
        self._last_rv_unavailable = False
        self._paginated = False

    async def run(self) -> None:
        """ListAndWatch until cancelled, backing off between attempts (wait.BackoffUntil)."""
        while True:
            try:
                await self.list_and_watch()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("%s: list and watch failed: %s", self.name, err)
            await asyncio.sleep(self.backoff.next())

    async def list_and_watch(self) -> None:
        """One LIST, then watches until one ends in a way that calls for a new LIST."""
        await self._list()
        await self._watch()

    def relist_resource_version(self) -> str:
        """The resourceVersion for the next LIST (relistResourceVersion)."""
        if self._last_rv_unavailable:
            return ""  # a consistent read from storage: the last one is gone
        if not self.last_sync_resource_version:
            return "0"  # the first list: any recent state, from the watch cache
        return self.last_sync_resource_version  # "not older than what we have seen"

    async def _list(self) -> None:
        rv = self.relist_resource_version()
        try:
            items, list_rv = await self._paged_list(rv)
        except errors.StatusError as err:
            if not (is_expired(err) or is_too_large_resource_version(err)):
                raise
            log.info("%s: list at resourceVersion %r failed (%s); listing fresh", self.name, rv, err)
            self._last_rv_unavailable = True
            items, list_rv = await self._paged_list(self.relist_resource_version())
        self._last_rv_unavailable = False
        self.store.replace(items, list_rv)
        self.last_sync_resource_version = list_rv

    async def _paged_list(self, rv: str) -> tuple[list[Obj], str]:
        """All pages of one LIST at ``rv`` (tools/pager: continue pages drop the resourceVersion)."""
        # A LIST at a specific resourceVersion without a limit can be served from the
        # watch cache; reflector.go turns paging off for it unless the server paged before.
        limit = self.page_size if (rv in ("", "0") or self._paginated) else 0
        page = await self.lister_watcher.list(resource_version=rv, limit=limit, continue_="")
        items: list[Obj] = list(page.get("items") or [])
        list_rv = (page.get("metadata") or {}).get("resourceVersion", "")
        token = (page.get("metadata") or {}).get("continue", "")
        self._paginated = self._paginated or bool(token)
        while token:
            try:
                page = await self.lister_watcher.list(resource_version=None, limit=limit, continue_=token)
            except errors.StatusError as err:
                if not is_expired(err):
                    raise
                # The snapshot of the first page was compacted away: one full list instead.
                page = await self.lister_watcher.list(resource_version=rv, limit=0, continue_="")
                items = list(page.get("items") or [])
                return items, (page.get("metadata") or {}).get("resourceVersion", "")
            items += page.get("items") or []
            token = (page.get("metadata") or {}).get("continue", "")
        return items, list_rv

    async def _watch(self) -> None:
        """Watch again and again from the last resourceVersion; return when a re-list is due."""
        while True:
            timeout = int(self.min_watch_timeout * (1 + random.random()))
            started = time.monotonic()
            try:
                stream = self.lister_watcher.watch(
                    resource_version=self.last_sync_resource_version,
                    timeout_seconds=timeout,
                    allow_watch_bookmarks=True,
                )
                async with stream as events:
                    count = await self._handle_watch(events)
            except TransportError as err:
                # The connection failed or broke (the server may be restarting): keep our
                # place and watch again after a pause (isWatchErrorRetriable).
                log.info("%s: watch failed (%s); retrying", self.name, err)
                await asyncio.sleep(self.backoff.next())
                continue
            except errors.StatusError as err:
                if is_expired(err) or is_too_large_resource_version(err):
                    log.info("%s: watch closed with: %s; re-listing", self.name, err)
                    return
                if errors.is_too_many_requests(err):
                    await asyncio.sleep(self.backoff.next())
                    continue
                raise
            if count == 0 and time.monotonic() - started < 1.0:
                raise RuntimeError(f"{self.name}: very short watch: closed in under a second, no events")

    async def _handle_watch(self, events: AsyncIterable[WatchEvent]) -> int:
        """Apply one watch stream's events to the store; the number of events seen."""
        count = 0
        async for event in events:
            count += 1
            kind, obj = event["type"], event["object"]
            if kind == "ERROR":
                raise errors.from_status(obj)  # type: ignore[arg-type]
            if kind == "ADDED":
                self.store.add(obj)
            elif kind == "MODIFIED":
                self.store.update(obj)
            elif kind == "DELETED":
                self.store.delete(obj)
            elif kind != "BOOKMARK":
                log.warning("%s: unknown watch event type %r", self.name, kind)
                continue
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            if rv:
                self.last_sync_resource_version = rv
        return count
