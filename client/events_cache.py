"""The event correlator: what keeps a flood of events from flooding the API server.

Every event a component records passes through one :class:`EventCorrelator` on its way
to the API server (the broadcaster's writer calls it, in client/events.py). In order:

1. :class:`EventAggregator`: *similar* events (same source, object, type and reason,
   differing only in message) are counted per object; the 10th distinct message within
   10 minutes, and every one after it, is replaced by a single aggregate event whose
   message is ``(combined from similar events): <latest message>``;
2. :class:`EventLogger`: an event *identical* to one already written (same key,
   message included) becomes an update of that Event: its ``count`` goes up by one and
   ``lastTimestamp`` moves, written as a strategic merge PATCH instead of a new object;
3. :class:`SpamFilter`: a token bucket per source + involved object (burst 25, one
   token back every 5 minutes) drops whatever is left over: an object that is *always*
   unhealthy produces one event write per 5 minutes, not one per probe.

All three keep their state in LRU caches of 4,096 keys and read time from an
injectable :class:`~client.clock.Clock` (monotonic seconds), so tests use a
``FakeClock``; event *timestamps* come from ``wall_ns`` (epoch nanoseconds).

Mirrors: k8s.io/client-go/tools/record/events_cache.go (getEventKey, getSpamKey,
EventSourceObjectSpamFilter, EventAggregator, eventLogger, EventCorrelator) and
k8s.io/client-go/util/flowcontrol (the token bucket).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Generic, TypeVar

from apimachinery.meta import format_time
from client.clock import Clock, RealClock

Event = dict[str, Any]

MAX_LRU_CACHE_ENTRIES: Final = 4096
#: Aggregate once this many distinct messages of one (source, object, type, reason)
#: have been seen within DEFAULT_AGGREGATE_INTERVAL seconds.
DEFAULT_AGGREGATE_MAX_EVENTS: Final = 10
DEFAULT_AGGREGATE_INTERVAL: Final = 600.0
#: A source may burst 25 events about one object, then one per 5 minutes.
DEFAULT_SPAM_BURST: Final = 25
DEFAULT_SPAM_QPS: Final = 1.0 / 300.0
AGGREGATE_PREFIX: Final = "(combined from similar events): "

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A bounded map that forgets the least recently used key (groupcache/lru)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def add(self, key: K, value: V) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        if len(self._data) > self.size:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


def _s(event: Event, *path: str) -> str:
    value: Any = event
    for p in path:
        value = (value or {}).get(p)
    return str(value or "")


def _object_fields(event: Event) -> list[str]:
    return [
        _s(event, "source", "component"),
        _s(event, "source", "host"),
        _s(event, "involvedObject", "kind"),
        _s(event, "involvedObject", "namespace"),
        _s(event, "involvedObject", "name"),
    ]


def event_key(event: Event) -> str:
    """Identical events share this key: source, object (with fieldPath), type, reason, message."""
    return "".join(
        [
            *_object_fields(event),
            _s(event, "involvedObject", "fieldPath"),
            _s(event, "involvedObject", "uid"),
            _s(event, "involvedObject", "apiVersion"),
            _s(event, "type"),
            _s(event, "reason"),
            _s(event, "message"),
        ]
    )


def spam_key(event: Event) -> str:
    """One token bucket per source + involved object (``getSpamKey``)."""
    return "".join(
        [
            *_object_fields(event),
            _s(event, "involvedObject", "uid"),
            _s(event, "involvedObject", "apiVersion"),
        ]
    )


def aggregate_keys(event: Event) -> tuple[str, str]:
    """(group key, key within the group): ``EventAggregatorByReasonFunc``."""
    group = "".join(
        [
            *_object_fields(event),
            _s(event, "involvedObject", "uid"),
            _s(event, "involvedObject", "apiVersion"),
            _s(event, "type"),
            _s(event, "reason"),
            _s(event, "reportingComponent"),
            _s(event, "reportingInstance"),
        ]
    )
    return group, _s(event, "message")


def timestamp_ns(ns: int) -> str:
    """``metav1.Time`` (second precision) for epoch nanoseconds."""
    return format_time(datetime.fromtimestamp(ns / 1e9, UTC))


class TokenBucket:
    """``flowcontrol.NewTokenBucketRateLimiterWithClock``: starts full, refills at ``qps``."""

    def __init__(self, qps: float, burst: int, clock: Clock) -> None:
        self.qps, self.burst, self.clock = qps, burst, clock
        self.tokens = float(burst)
        self.last = clock.now()

    def try_accept(self) -> bool:
        now = self.clock.now()
        self.tokens = min(float(self.burst), self.tokens + (now - self.last) * self.qps)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class SpamFilter:
    """``EventSourceObjectSpamFilter``: ``filter(event)`` is True when the event must be dropped."""

    def __init__(self, size: int, burst: int, qps: float, clock: Clock) -> None:
        self.burst, self.qps, self.clock = burst, qps, clock
        self.cache: LRU[str, TokenBucket] = LRU(size)

    def filter(self, event: Event) -> bool:
        key = spam_key(event)
        bucket = self.cache.get(key)
        if bucket is None:
            bucket = TokenBucket(self.qps, self.burst, self.clock)
        self.cache.add(key, bucket)
        return not bucket.try_accept()


@dataclass
class _AggregateRecord:
    local_keys: set[str] = field(default_factory=set)
    last: float | None = None  # clock time of the last similar event


class EventAggregator:
    """``EventAggregator.EventAggregate``: returns (event to write, key to correlate it by)."""

    def __init__(
        self, size: int, max_events: int, max_interval: float, clock: Clock, wall_ns: Callable[[], int]
    ) -> None:
        self.max_events, self.max_interval, self.clock, self.wall_ns = (
            max_events,
            max_interval,
            clock,
            wall_ns,
        )
        self.cache: LRU[str, _AggregateRecord] = LRU(size)

    def aggregate(self, event: Event) -> tuple[Event, str]:
        now = self.clock.now()
        key = event_key(event)
        group, local = aggregate_keys(event)
        record = self.cache.get(group) or _AggregateRecord()
        if record.last is None or now - record.last > self.max_interval:
            record = _AggregateRecord()  # too old (or new): start counting again
        record.local_keys.add(local)
        record.last = now
        self.cache.add(group, record)
        if len(record.local_keys) < self.max_events:
            return event, key
        record.local_keys.pop()  # never grow the set beyond max_events
        ns = self.wall_ns()
        stamp = timestamp_ns(ns)
        ref = event["involvedObject"]
        aggregate: Event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"{ref['name']}.{ns:x}", "namespace": event["metadata"]["namespace"]},
            "count": 1,
            "firstTimestamp": stamp,
            "involvedObject": ref,
            "lastTimestamp": stamp,
            "message": AGGREGATE_PREFIX + event.get("message", ""),
            "type": event.get("type", ""),
            "reason": event.get("reason", ""),
            "source": event.get("source", {}),
        }
        return aggregate, group


@dataclass
class _Observation:
    count: int
    first_timestamp: str
    name: str
    resource_version: str


class EventLogger:
    """``eventLogger``: counts identical events; a repeat becomes a PATCH of the first one."""

    def __init__(self, size: int) -> None:
        self.cache: LRU[str, _Observation] = LRU(size)

    def observe(self, event: Event, key: str) -> tuple[Event, dict[str, Any] | None]:
        event = {**event, "metadata": dict(event["metadata"])}
        patch: dict[str, Any] | None = None
        last = self.cache.get(key)
        if last is not None and last.count > 0:
            event["metadata"]["name"] = last.name
            if last.resource_version:
                event["metadata"]["resourceVersion"] = last.resource_version
            event["firstTimestamp"] = last.first_timestamp
            event["count"] = last.count + 1
            # Upstream builds a two-way strategic merge patch from a copy with count 0,
            # lastTimestamp at the epoch and no message to the event: exactly these fields.
            patch = {"count": event["count"], "lastTimestamp": event["lastTimestamp"]}
            if event.get("message"):
                patch["message"] = event["message"]
        self._remember(key, event)
        return event, patch

    def update_state(self, event: Event) -> None:
        """The server's answer (name, resourceVersion, count) is what the next repeat patches."""
        self._remember(event_key(event), event)

    def _remember(self, key: str, event: Event) -> None:
        meta = event.get("metadata") or {}
        self.cache.add(
            key,
            _Observation(
                int(event.get("count") or 0),
                event.get("firstTimestamp") or "",
                meta.get("name", ""),
                meta.get("resourceVersion", ""),
            ),
        )


@dataclass
class CorrelatorOptions:
    """Upstream's ``CorrelatorOptions``; the defaults are upstream's."""

    lru_cache_size: int = MAX_LRU_CACHE_ENTRIES
    burst: int = DEFAULT_SPAM_BURST
    qps: float = DEFAULT_SPAM_QPS
    max_events: int = DEFAULT_AGGREGATE_MAX_EVENTS
    max_interval: float = DEFAULT_AGGREGATE_INTERVAL
    clock: Clock | None = None
    wall_ns: Callable[[], int] = time.time_ns


@dataclass
class CorrelateResult:
    event: Event | None
    #: a strategic merge patch for ``event`` (already on the server), or None: create it
    patch: dict[str, Any] | None = None
    skip: bool = False


class EventCorrelator:
    """Aggregate, then count, then rate-limit (``EventCorrelator.EventCorrelate``)."""

    def __init__(self, options: CorrelatorOptions | None = None) -> None:
        o = options or CorrelatorOptions()
        clock = o.clock or RealClock()
        self.spam_filter = SpamFilter(o.lru_cache_size, o.burst, o.qps, clock)
        self.aggregator = EventAggregator(o.lru_cache_size, o.max_events, o.max_interval, clock, o.wall_ns)
        self.logger = EventLogger(o.lru_cache_size)

    def correlate(self, event: Event) -> CorrelateResult:
        aggregated, key = self.aggregator.aggregate(event)
        observed, patch = self.logger.observe(aggregated, key)
        if self.spam_filter.filter(observed):
            return CorrelateResult(None, skip=True)
        return CorrelateResult(observed, patch)

    def update_state(self, event: Event) -> None:
        self.logger.update_state(event)
