"""The watch cache: current objects plus a bounded window of recent events.

Mirrors k8s.io/apiserver/pkg/storage/cacher/watch_cache.go. The cacher (``cacher.py``)
feeds it one upstream watch; it keeps two views of the same stream:

* **the store** - key → the object as it is now, at :attr:`WatchCache.revision`. It
  serves ``list?resourceVersion=0`` and the synthetic ``ADDED`` events a watch from
  "now" starts with;
* **the ring** - the last ``capacity`` events, in revision order, in a circular
  buffer indexed by two ever-growing counters (``start`` and ``end``; slot =
  counter % capacity), exactly as ``watchCache.cache/startIndex/endIndex``. It serves
  ``watch?resourceVersion=N``: every event after N, or ``CompactedError`` (410
  "too old resource version") when N fell out of the window.

Each upstream event is decoded **once** here. Its previous state comes from the store
(as ``processEvent`` does), not from decoding ``prev_value`` again, and the resulting
:class:`CacheEvent` is shared, unchanged, by every watcher: objects handed out are
shared dicts, never to be mutated (copy first).

:func:`visible_event` is the per-watcher view of a shared event: it applies a
predicate with selector transitions (starts matching → ``ADDED``, stops matching →
``DELETED``), as ``cacheWatcher.convertToWatchEvent`` does.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass

from .errors import CompactedError, CorruptValueError
from .interface import Event, EventType, KeyValue
from .store import Object, ObjectEvent, Predicate, decode

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CacheEvent:
    """One upstream change, decoded: ``event`` is what a watcher with no predicate sees.

    ``event.type`` is ADDED, MODIFIED or DELETED; ``event.prev_object`` the state
    before (``None`` for ADDED); a DELETED event's ``object`` is the last state with
    ``resourceVersion`` set to the revision of the delete.
    """

    key: str
    event: ObjectEvent

    @property
    def revision(self) -> int:
        return self.event.revision


def visible_event(ce: CacheEvent, predicate: Predicate | None) -> ObjectEvent | None:
    """What a watcher filtering with ``predicate`` sees of ``ce`` (``None``: nothing).

    The shared event is returned as is whenever the watcher sees it unchanged; a new
    (small) event is built only for a selector transition.
    """
    ev = ce.event
    if predicate is None:
        return ev
    prev = ev.prev_object
    if ev.type == "DELETED":
        return ev if prev is not None and predicate(prev) else None
    cur_ok = predicate(ev.object)
    prev_ok = prev is not None and predicate(prev)
    if cur_ok:
        if prev_ok or ev.type == "ADDED":
            return ev
        return ObjectEvent("ADDED", ev.object, ev.revision, prev)  # started matching
    if prev_ok:
        return ObjectEvent("DELETED", ev.object, ev.revision, prev)  # stopped matching
    return None


def _decode_or_log(key: str, value: bytes, revision: int) -> Object | None:
    try:
        return decode(key, value, revision)
    except CorruptValueError as e:
        log.error("watch cache: %s; leaving it out", e)
        return None


def key_matches(key: str, scope: str) -> bool:
    """A scope ending in ``/`` is a prefix (a namespace, a whole resource); else one key."""
    return key.startswith(scope) if scope.endswith("/") else key == scope


class WatchCache:
    """The store of current objects and the ring of recent events, for one prefix.

    Invariants:

    * ``revision`` is the newest revision the cache is known to be current at: the
      list it was loaded from, the last event, or a newer progress notification.
    * the ring holds events with revisions in ``(list_revision, revision]``, oldest
      first; once it has dropped one (``evicted``), the oldest event it still
      holds bounds what can be replayed.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("the watch cache needs room for at least one event")
        self.capacity = capacity
        self.revision = 0
        self.list_revision = 0
        # key → a synthetic ADDED event for the object as it is now (shared by
        # every watcher that starts with the current state).
        self._objects: dict[str, ObjectEvent] = {}
        self._sorted_keys: list[str] | None = None  # cache of sorted(_objects); None = stale
        self._ring: list[CacheEvent | None] = [None] * capacity
        self._start = 0  # counter of the oldest event kept
        self._end = 0  # counter one past the newest event
        self._evicted = False  # has an event been dropped since the last replace()?

    # --- writing (called by the cacher's single upstream loop) -------------------

    def replace(self, kvs: list[KeyValue], revision: int) -> None:
        """Load a fresh list taken at ``revision``; history before it is gone.

        As ``watchCache.Replace``: the ring is emptied by moving ``start`` up to
        ``end`` (never backwards), so nothing older than the new list is replayed.
        """
        self._objects = {}
        for kv in kvs:
            obj = _decode_or_log(kv.key, kv.value, kv.mod_revision)
            if obj is not None:
                self._objects[kv.key] = ObjectEvent("ADDED", obj, kv.mod_revision)
        self._sorted_keys = None
        for i in range(self._start, self._end):
            self._ring[i % self.capacity] = None
        self._start = self._end
        self._evicted = False
        self.list_revision = self.revision = revision

    def process(self, ev: Event) -> CacheEvent | None:
        """Apply one upstream change to the store and the ring; return it decoded.

        Returns ``None`` when there is nothing to tell: the delete of a key the cache
        does not hold, or a value that is not an object (logged and left out of the
        cache, so one corrupt value cannot stall the whole resource).
        """
        self.revision = max(self.revision, ev.revision)
        prev_added = self._objects.get(ev.key)
        obj = None if ev.type is EventType.DELETE else _decode_or_log(ev.key, ev.value, ev.revision)
        if obj is None:
            if prev_added is None:
                return None
            del self._objects[ev.key]
            self._sorted_keys = None
            if ev.type is not EventType.DELETE:
                return None
            # The DELETED object is the last state, stamped with the delete's revision.
            prev = prev_added.object
            gone = {**prev, "metadata": {**prev["metadata"], "resourceVersion": str(ev.revision)}}
            ce = CacheEvent(ev.key, ObjectEvent("DELETED", gone, ev.revision, prev))
        else:
            added = ObjectEvent("ADDED", obj, ev.revision)
            if prev_added is None:
                self._sorted_keys = None
                ce = CacheEvent(ev.key, added)
            else:
                ce = CacheEvent(ev.key, ObjectEvent("MODIFIED", obj, ev.revision, prev_added.object))
            self._objects[ev.key] = added
        self._append(ce)
        return ce

    def progress(self, revision: int) -> None:
        """A progress notification: nothing changed under the prefix up to ``revision``."""
        self.revision = max(self.revision, revision)

    def _append(self, ce: CacheEvent) -> None:
        if self._end - self._start == self.capacity:
            self._ring[self._start % self.capacity] = None
            self._start += 1
            self._evicted = True
        self._ring[self._end % self.capacity] = ce
        self._end += 1

    # --- reading --------------------------------------------------------------------

    def oldest_replayable(self) -> int:
        """The oldest revision a watch can start *after*: ``watch?resourceVersion=N`` needs N >= this."""
        if not self._evicted:
            return self.list_revision
        return self._at(self._start).revision - 1

    def events_since(self, revision: int) -> list[CacheEvent]:
        """Every kept event with a revision > ``revision``, oldest first.

        Raises ``CompactedError`` if events after ``revision`` have been dropped (or
        predate the last list); the API answers 410 "too old resource version".
        """
        oldest = self.oldest_replayable()
        if revision < oldest:
            raise CompactedError(revision, oldest)
        # Binary search for the first event newer than ``revision`` (sort.Search upstream).
        lo, hi = self._start, self._end
        while lo < hi:
            mid = (lo + hi) // 2
            if self._at(mid).revision <= revision:
                lo = mid + 1
            else:
                hi = mid
        return [self._at(i) for i in range(lo, self._end)]

    def _at(self, counter: int) -> CacheEvent:
        ce = self._ring[counter % self.capacity]
        assert ce is not None, "slots between start and end are always filled"
        return ce

    def snapshot(self, scope: str) -> list[ObjectEvent]:
        """ADDED events for every current object under ``scope`` (a prefix or one key), in key order."""
        if not scope.endswith("/"):
            one = self._objects.get(scope)
            return [one] if one is not None else []
        if self._sorted_keys is None:
            self._sorted_keys = sorted(self._objects)
        keys = self._sorted_keys
        lo = bisect.bisect_left(keys, scope)
        hi = bisect.bisect_left(keys, scope + "\U0010ffff")
        return [self._objects[k] for k in keys[lo:hi]]

    def objects(self, scope: str, predicate: Predicate | None = None) -> list[Object]:
        """The current objects under ``scope`` that match ``predicate``, in key order."""
        return [e.object for e in self.snapshot(scope) if predicate is None or predicate(e.object)]

    def __len__(self) -> int:
        return len(self._objects)
