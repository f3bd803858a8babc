"""One client's watch on the watch cache: a bounded queue that never blocks the cacher.

Mirrors k8s.io/apiserver/pkg/storage/cacher/cache_watcher.go. A :class:`Watcher` is
what ``Cacher.watch`` returns: an async iterator of
:class:`~apiserver.storage.store.ObjectEvent` with ``close()``. It delivers, in order:

1. its **initial events**, fixed when the watch starts: synthetic ``ADDED`` events for
   the current state (``resourceVersion`` 0 or unset, or ``sendInitialEvents``), or the
   events after the requested revision replayed from the ring. They are filtered
   lazily, as the client reads them, and do not count against the queue bound
   (upstream keeps them in a ``watchCacheInterval``, apart from the input channel),
   though live events arriving while a client is still reading them do;
2. with ``sendInitialEvents``, a ``BOOKMARK`` marking the end of the initial events
   (:func:`is_initial_events_end`);
3. **live events**, which the cacher pushes with :meth:`Watcher.offer` from its
   single dispatch loop.

The live queue is bounded. ``offer`` never waits: when the queue is full the
watcher is terminated on the spot (``closed_reason`` = :data:`TOO_SLOW`), so one
slow client costs the others nothing. What it had queued is still delivered, then
the iterator ends; the client re-watches from the last resourceVersion it saw, as
every Kubernetes client does when a watch ends.

Waking the reader costs one future per dispatch *batch*, not per event: ``offer``
resolves the pending future only if there is one and it is not resolved yet, and
the reader then drains the queue without suspending.

``BOOKMARK`` events carry an object with only ``metadata.resourceVersion`` (and, for
the end of initial events, the ``k8s.io/initial-events-end`` annotation); the API
layer adds ``kind``/``apiVersion`` when it writes them out. They are never filtered
by the watch's predicate, and a bookmark that does not fit in the queue is dropped
rather than closing the watcher (``nonblockingAdd`` upstream).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator

from .store import ObjectEvent, Predicate
from .watch_cache import CacheEvent, key_matches, visible_event

#: The annotation on the BOOKMARK that ends a watch-list's initial events.
INITIAL_EVENTS_END_ANNOTATION = "k8s.io/initial-events-end"

# Why a watcher ended (``Watcher.closed_reason``).
CLOSED_BY_CLIENT = "closed by client"
TOO_SLOW = "too slow: its queue was full"
CACHE_RELISTED = "the watch cache re-listed: events may have been missed"
CACHER_STOPPED = "the watch cache stopped"
PREDICATE_FAILED = "the watch's predicate failed"


def bookmark(revision: int, *, initial_events_end: bool = False) -> ObjectEvent:
    """A ``BOOKMARK``: "you have seen every change up to ``revision``"."""
    meta: dict[str, object] = {"resourceVersion": str(revision)}
    if initial_events_end:
        meta["annotations"] = {INITIAL_EVENTS_END_ANNOTATION: "true"}
    return ObjectEvent("BOOKMARK", {"metadata": meta}, revision)


def is_initial_events_end(ev: ObjectEvent) -> bool:
    """Is ``ev`` the BOOKMARK that ends the initial events of a ``sendInitialEvents`` watch?"""
    if ev.type != "BOOKMARK":
        return False
    annotations = ev.object.get("metadata", {}).get("annotations") or {}
    return bool(annotations.get(INITIAL_EVENTS_END_ANNOTATION) == "true")


class Watcher:
    """An async iterator of events for one client; see the module docstring."""

    def __init__(
        self,
        scope: str,
        predicate: Predicate | None,
        *,
        queue_size: int,
        allow_bookmarks: bool,
        start_revision: int,
        initial: Iterator[ObjectEvent],
        on_close: Callable[[Watcher], None],
        wake_later: Callable[[Watcher], None] | None = None,
    ) -> None:
        #: A key prefix ending in ``/`` or a single object's key.
        self.scope = scope
        self.predicate = predicate
        self.allow_bookmarks = allow_bookmarks
        #: The revision the watch starts after: its initial events bring the client to it.
        self.start_revision = start_revision
        #: ``None`` while open; otherwise why it ended (one of the module constants).
        self.closed_reason: str | None = None
        self._initial: Iterator[ObjectEvent] | None = initial
        self._queue: deque[ObjectEvent] = deque()
        self._queue_size = queue_size
        self._wakeup: asyncio.Future[None] | None = None
        self._on_close = on_close
        #: If set, a live event asks the cacher to wake the reader with others, later.
        self._wake_later = wake_later

    # --- the cacher's side: never blocks -----------------------------------------

    def offer(self, ce: CacheEvent) -> None:
        """Queue ``ce`` if this watcher sees it; terminate the watcher if its queue is full."""
        if self.closed_reason is not None or not key_matches(ce.key, self.scope):
            return
        try:
            ev = visible_event(ce, self.predicate)
        except Exception as e:  # a broken predicate ends its own watch, nobody else's
            self.terminate(f"{PREDICATE_FAILED}: {e!r}")
            return
        if ev is None:
            return
        if len(self._queue) >= self._queue_size:
            self.terminate(TOO_SLOW)
            return
        self._queue.append(ev)
        if self._wake_later is not None and self._wakeup is not None:
            self._wake_later(self)
        else:
            self._wake()

    def wake(self) -> None:
        """Resolve the reader's pending wait, if any (the cacher's deferred wake-up)."""
        self._wake()

    def offer_bookmark(self, revision: int) -> None:
        """Queue a BOOKMARK at ``revision`` if there is room; a full queue just skips it."""
        if self.closed_reason is None and len(self._queue) < self._queue_size:
            self._queue.append(bookmark(revision))
            self._wake()

    def terminate(self, reason: str) -> None:
        """End the watch from the server side: queued events are still delivered."""
        if self.closed_reason is None:
            self.closed_reason = reason
            self._on_close(self)
            self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None and not self._wakeup.done():
            self._wakeup.set_result(None)

    # --- the client's side ---------------------------------------------------------

    def close(self) -> None:
        """Stop watching now; pending events are dropped."""
        self._initial = None
        self._queue.clear()
        self.terminate(CLOSED_BY_CLIENT)

    @property
    def too_slow(self) -> bool:
        """Was this watch closed because its reader fell behind?"""
        return self.closed_reason == TOO_SLOW

    def __aiter__(self) -> Watcher:
        return self

    async def __anext__(self) -> ObjectEvent:
        while True:
            ev = self._next_ready()
            if ev is not None:
                return ev
            if self.closed_reason is not None:
                raise StopAsyncIteration
            await self._wait()

    async def next_batch(self, max_events: int = 1000) -> list[ObjectEvent]:
        """Wait for at least one event, then return up to ``max_events`` ready ones.

        An empty list means the watch has ended. Lets a writer encode and send many
        events in one chunk instead of waking up once per event.
        """
        while True:
            batch = self.ready_events(max_events)
            if batch or self.closed_reason is not None:
                return batch
            await self._wait()

    def ready_events(self, max_events: int = 1000) -> list[ObjectEvent]:
        """Up to ``max_events`` events that are ready now, without waiting (maybe none)."""
        batch: list[ObjectEvent] = []
        while len(batch) < max_events:
            ev = self._next_ready()
            if ev is None:
                break
            batch.append(ev)
        return batch

    def _next_ready(self) -> ObjectEvent | None:
        if self._initial is not None:
            ev = next(self._initial, None)
            if ev is not None:
                return ev
            self._initial = None
        return self._queue.popleft() if self._queue else None

    async def _wait(self) -> None:
        self._wakeup = asyncio.get_running_loop().create_future()
        try:
            await self._wakeup
        finally:
            self._wakeup = None


def initial_state(snapshot: list[ObjectEvent], predicate: Predicate | None) -> Iterator[ObjectEvent]:
    """The synthetic ADDED events of a watch from "now", filtered as they are read."""
    if predicate is None:
        return iter(snapshot)
    return (ev for ev in snapshot if predicate(ev.object))


def replay(events: list[CacheEvent], scope: str, predicate: Predicate | None) -> Iterator[ObjectEvent]:
    """The kept events after a watch's resourceVersion, as this watcher sees them."""
    for ce in events:
        if key_matches(ce.key, scope):
            ev = visible_event(ce, predicate)
            if ev is not None:
                yield ev
