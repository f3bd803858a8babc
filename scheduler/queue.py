"""The scheduling queue: which pending pod to try next, and when to try a failed one again.

Three sub-queues, and every pending pod is in at most one of them (or in flight)::

             add                         pop (highest priority, then oldest)
    API ───────────▶ activeQ ──────────────────────────▶ scheduling cycle
                       ▲  ▲                                   │
      backoff expired  │  │ cluster event                     │ failed
                       │  │ (node added/updated, pod deleted) ▼
                   backoffQ ◀────── unschedulablePods ◀─── unschedulable
                       ▲                                      │
                       └──── error, or an event arrived ──────┘
                             while the pod was in flight

* **activeQ**: a heap ordered by ``spec.priority`` (higher first), then by the time
  the pod was queued (older first): upstream's default ``PrioritySort`` plugin.
* **backoffQ**: a heap by backoff expiry. Each failed attempt doubles the wait,
  1 s, 2 s, 4 s, 8 s, then 10 s at most, so a hopeless pod cannot starve the others.
* **unschedulablePods**: pods that did not fit. Only a cluster event that could
  change the answer moves them back (to backoffQ if still backing off), and anything
  left there for 5 minutes is retried anyway.

The race this design closes: an event (a node appears) can arrive *while* a pod is in
its scheduling cycle, computed against the old state. ``move_request_cycle`` remembers
the cycle of the last move request; a pod failing in a cycle at or before it goes to
backoffQ rather than waiting for the next event.

Mirrors: pkg/scheduler/backend/queue/scheduling_queue.go (``PriorityQueue``,
``AddUnschedulableIfNotPresent``, ``MoveAllToActiveOrBackoffQueue``,
``flushBackoffQCompleted``, ``flushUnschedulablePodsLeftover``, ``calculateBackoffDuration``).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from scheduler.framework import Pod
from scheduler.nodeinfo import pod_key

INITIAL_BACKOFF: Final = 1.0
MAX_BACKOFF: Final = 10.0
#: podMaxInUnschedulablePodsDuration
MAX_IN_UNSCHEDULABLE: Final = 300.0

ACTIVE, BACKOFF, UNSCHEDULABLE = "active", "backoff", "unschedulable"


@dataclass(eq=False)
class QueuedPodInfo:
    pod: Pod
    key: str
    #: when it was (re-)queued: orders activeQ ties, starts the backoff clock
    timestamp: float
    initial_attempt_timestamp: float | None = None
    attempts: int = 0
    unschedulable_plugins: set[str] = field(default_factory=set)

    @property
    def priority(self) -> int:
        return int(self.pod.get("spec", {}).get("priority") or 0)


def backoff_duration(attempts: int, initial: float = INITIAL_BACKOFF, maximum: float = MAX_BACKOFF) -> float:
    """``calculateBackoffDuration``: initial * 2^(attempts-1), capped."""
    duration = initial
    for _ in range(1, attempts):
        if duration > maximum - duration:
            return maximum
        duration += duration
    return min(duration, maximum)


class SchedulingQueue:
    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self.now = now
        self._seq = itertools.count()
        self._active: list[tuple[int, float, int, QueuedPodInfo]] = []
        self._backoff: list[tuple[float, int, QueuedPodInfo]] = []
        self._unschedulable: dict[str, QueuedPodInfo] = {}
        #: key -> (sub-queue, the entry that is current); heap entries not current are stale
        self._where: dict[str, tuple[str, QueuedPodInfo]] = {}
        self.in_flight: dict[str, QueuedPodInfo] = {}
        self.scheduling_cycle = 0
        self.move_request_cycle = -1
        self._wakeup = asyncio.Event()
        self.closed = False

    # --- sub-queue plumbing ---

    def _push_active(self, qpi: QueuedPodInfo) -> None:
        heapq.heappush(self._active, (-qpi.priority, qpi.timestamp, next(self._seq), qpi))
        self._where[qpi.key] = (ACTIVE, qpi)
        self._wakeup.set()

    def _push_backoff(self, qpi: QueuedPodInfo) -> None:
        expiry = qpi.timestamp + backoff_duration(qpi.attempts)
        heapq.heappush(self._backoff, (expiry, next(self._seq), qpi))
        self._where[qpi.key] = (BACKOFF, qpi)
        self._wakeup.set()

    def _is_current(self, qpi: QueuedPodInfo, where: str) -> bool:
        return self._where.get(qpi.key) == (where, qpi)

    def is_backing_off(self, qpi: QueuedPodInfo) -> bool:
        return qpi.attempts > 0 and qpi.timestamp + backoff_duration(qpi.attempts) > self.now()

    def _requeue(self, qpi: QueuedPodInfo) -> None:
        self._unschedulable.pop(qpi.key, None)
        if self.is_backing_off(qpi):
            self._push_backoff(qpi)
        else:
            self._push_active(qpi)

    # --- informer-facing ---

    def add(self, pod: Pod) -> None:
        key = pod_key(pod)
        if key in self._where or key in self.in_flight:
            self.update(pod)
            return
        self._push_active(QueuedPodInfo(pod, key, self.now()))

    def update(self, pod: Pod) -> None:
        key = pod_key(pod)
        if key in self.in_flight:
            self.in_flight[key].pod = pod
            return
        place = self._where.get(key)
        if place is None:
            self.add(pod)
            return
        where, qpi = place
        changed = qpi.pod.get("spec") != pod.get("spec") or qpi.pod["metadata"].get("labels") != pod[
            "metadata"
        ].get("labels")
        qpi.pod = pod
        if where == UNSCHEDULABLE and changed:
            self._requeue(qpi)
        elif where == ACTIVE:
            self._push_active(qpi)  # priority may have changed; the old heap entry goes stale

    def delete(self, pod: Pod) -> None:
        key = pod_key(pod)
        self._where.pop(key, None)
        self._unschedulable.pop(key, None)
        self.in_flight.pop(key, None)

    def move_all_to_active_or_backoff(self, event: str = "") -> int:
        """A cluster event that may make unschedulable pods fit: retry them all."""
        moved = list(self._unschedulable.values())
        for qpi in moved:
            self._requeue(qpi)
        self.move_request_cycle = self.scheduling_cycle
        return len(moved)

    # --- scheduler-facing ---

    def flush(self) -> None:
        """Backoff expired → activeQ; too long unschedulable → retried (the periodic flushes)."""
        now = self.now()
        while self._backoff and self._backoff[0][0] <= now:
            _, _, qpi = heapq.heappop(self._backoff)
            if self._is_current(qpi, BACKOFF):
                self._push_active(qpi)
        for qpi in [q for q in self._unschedulable.values() if now - q.timestamp > MAX_IN_UNSCHEDULABLE]:
            self._requeue(qpi)

    def pop_nowait(self) -> QueuedPodInfo | None:
        self.flush()
        while self._active:
            *_, qpi = heapq.heappop(self._active)
            if not self._is_current(qpi, ACTIVE):
                continue
            del self._where[qpi.key]
            qpi.attempts += 1
            if qpi.initial_attempt_timestamp is None:
                qpi.initial_attempt_timestamp = self.now()
            self.scheduling_cycle += 1
            self.in_flight[qpi.key] = qpi
            return qpi
        return None

    async def pop(self) -> QueuedPodInfo | None:
        """The next pod to schedule; waits for one. None once closed."""
        while not self.closed:
            qpi = self.pop_nowait()
            if qpi is not None:
                return qpi
            self._wakeup.clear()
            timeout = 1.0
            if self._backoff:
                timeout = min(max(self._backoff[0][0] - self.now(), 0.001), 1.0)
            try:
                await asyncio.wait_for(self._wakeup.wait(), timeout)
            except TimeoutError:
                pass
        return None

    def done(self, key: str) -> None:
        """The pod left the scheduling cycle for good (bound, or deleted)."""
        self.in_flight.pop(key, None)

    def add_unschedulable(self, qpi: QueuedPodInfo, pod_scheduling_cycle: int, error: bool = False) -> None:
        """Put back a pod that failed (``AddUnschedulableIfNotPresent``)."""
        if self.in_flight.pop(qpi.key, None) is None or qpi.key in self._where:
            return  # deleted meanwhile, or already re-added by an update
        qpi.timestamp = self.now()
        if error or self.move_request_cycle >= pod_scheduling_cycle:
            self._push_backoff(qpi)
        else:
            self._unschedulable[qpi.key] = qpi
            self._where[qpi.key] = (UNSCHEDULABLE, qpi)

    def close(self) -> None:
        self.closed = True
        self._wakeup.set()

    # --- introspection (tests, metrics) ---

    def counts(self) -> dict[str, int]:
        out = {ACTIVE: 0, BACKOFF: 0, UNSCHEDULABLE: 0}
        for where, _ in self._where.values():
            out[where] += 1
        return out
