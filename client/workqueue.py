"""The controller work queue: fair, deduplicating, one worker per key, clean shutdown.

A controller does not act on watch events one by one. Its event handlers only drop
the *key* (``namespace/name``) of whatever changed into this queue, and workers take
keys out and reconcile the current state of that object. The queue's contract,
as client-go's package documentation states it:

* **Fair**: items are processed in the order in which they are added.
* **Stingy**: a single item will not be processed multiple times concurrently, and
  if an item is added multiple times before it can be processed, it will only be
  processed once.
* Multiple consumers and producers. In particular, it is allowed for an item to be
  **re-added while it is being processed** (it is processed again afterwards).
* **Shutdown** notifications: ``get`` tells workers when to stop.

Three layers, each adding one thing, as upstream:

* :class:`Queue`: the FIFO with the ``dirty`` and ``processing`` sets (queue.go);
* :class:`DelayingQueue`: ``add_after(item, delay)`` (delaying_queue.go);
* :class:`RateLimitingQueue`: ``add_rate_limited(item)`` asks a :class:`RateLimiter`
  how long this item should wait, ``forget(item)`` resets it (rate_limiting_queue.go).

The rate limiters (default_rate_limiters.go): :class:`ItemExponentialFailureRateLimiter`
(5 ms, 10 ms, 20 ms, ... capped at 1000 s per item), :class:`BucketRateLimiter` (an
overall token bucket), :class:`MaxOfRateLimiter`, and :func:`default_controller_rate_limiter`
which combines the first two exactly as ``DefaultControllerRateLimiter`` does.

The protocol a worker follows::

    while True:
        key, shutdown = await queue.get()
        if shutdown:
            return
        try:
            await reconcile(key)           # success: forget the failures
            queue.forget(key)
        except Exception:
            queue.add_rate_limited(key)    # failure: retry later, backing off
        finally:
            queue.done(key)                # always: releases the key for other workers

Everything here runs on one asyncio event loop; ``add`` and ``done`` never wait.
Time comes from a :class:`~client.clock.Clock` so tests use a fake one.

Mirrors: k8s.io/client-go/util/workqueue/{queue.go, delaying_queue.go,
rate_limiting_queue.go, default_rate_limiters.go}.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable
from typing import Generic, Protocol, TypeVar

from client.clock import Clock, RealClock, TimerHandle

T = TypeVar("T", bound=Hashable)
T_contra = TypeVar("T_contra", bound=Hashable, contravariant=True)


class Queue(Generic[T]):
    """The basic work queue (queue.go ``Type``)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or RealClock()
        # The order in which to work on items. Invariant: every item in `_queue` is
        # also in `_dirty`, and appears in `_queue` exactly once.
        self._queue: deque[T] = deque()
        # Every item that needs processing. Invariant: an item in `_dirty` is either
        # waiting in `_queue` or being processed (in `_processing`), never both
        # queued twice; `add` of an item already dirty is a no-op (deduplication).
        self._dirty: set[T] = set()
        # Items a worker holds, from `get` until `done`, with the time it got them.
        # Invariant: an item in `_processing` is not in `_queue`, so no second
        # worker can get it; if it is re-added meanwhile it waits in `_dirty` only,
        # and `done` puts it back in `_queue`.
        self._processing: dict[T, float] = {}
        self._shutting_down = False
        self._getters: deque[asyncio.Future[None]] = deque()  # workers blocked in get(), oldest first
        self._drained: asyncio.Future[None] | None = None
        self._adds = 0
        self._retries = 0

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, item: T) -> None:
        """Mark ``item`` as needing processing (no-op if it already does, or on shutdown)."""
        if self._shutting_down or item in self._dirty:
            return
        self._adds += 1
        self._dirty.add(item)
        if item in self._processing:
            return  # `done` will queue it again; it must not reach a second worker now
        self._queue.append(item)
        self._wake_one()

    async def get(self) -> tuple[T | None, bool]:
        """Wait for an item; ``(item, False)``, or ``(None, True)`` once shut down and empty.

        After shutdown, items still queued are handed out until the queue is empty
        (so ``shut_down_with_drain`` can finish them).
        """
        while not self._queue and not self._shutting_down:
            waiter = asyncio.get_running_loop().create_future()
            self._getters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # we were woken but will not take the item: pass it on
                raise
        if not self._queue:
            return None, True
        item = self._queue.popleft()
        self._processing[item] = self.clock.now()
        self._dirty.discard(item)
        return item, False

    def done(self, item: T) -> None:
        """The worker finished ``item``; if it was re-added meanwhile, queue it again."""
        self._processing.pop(item, None)
        if item in self._dirty:
            self._queue.append(item)
            self._wake_one()
        if not self._processing and self._drained is not None and not self._drained.done():
            self._drained.set_result(None)  # shut_down_with_drain waits only for work in hand

    def shut_down(self) -> None:
        """Ignore new items; workers get ``shutdown=True`` once the queue is empty."""
        self._shutting_down = True
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)

    async def shut_down_with_drain(self) -> None:
        """Shut down, then wait until every item handed to a worker is ``done``."""
        self.shut_down()
        if self._processing:
            self._drained = asyncio.get_running_loop().create_future()
            await self._drained

    def shutting_down(self) -> bool:
        return self._shutting_down

    def metrics(self) -> dict[str, float]:
        """A snapshot of the workqueue metrics (metrics.go): depth, adds, retries, work in flight."""
        now = self.clock.now()
        started = list(self._processing.values())
        return {
            "depth": len(self._queue),
            "adds": self._adds,
            "retries": self._retries,
            "processing": len(started),
            "unfinished_work_seconds": sum(now - t for t in started),
            "longest_running_processor_seconds": max((now - t for t in started), default=0.0),
        }

    def _wake_one(self) -> None:
        while self._getters:
            waiter = self._getters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class DelayingQueue(Queue[T]):
    """A queue with ``add_after``: the item is added once ``delay`` seconds have passed."""

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        # Items waiting for their time, with when they are due. Invariant: one timer
        # per item, for the earliest time it was asked for (a later add_after of an
        # item already waiting does not postpone it; an earlier one brings it forward).
        self._waiting: dict[T, tuple[float, TimerHandle]] = {}

    def add_after(self, item: T, delay: float) -> None:
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(item)
            return
        ready_at = self.clock.now() + delay
        pending = self._waiting.get(item)
        if pending is not None:
            if pending[0] <= ready_at:
                return
            pending[1].cancel()
        timer = self.clock.call_later(delay, lambda: self._ready(item))
        self._waiting[item] = (ready_at, timer)

    def waiting(self) -> int:
        """How many items are waiting for their delay to pass."""
        return len(self._waiting)

    def _ready(self, item: T) -> None:
        self._waiting.pop(item, None)
        self.add(item)

    def shut_down(self) -> None:
        for _, timer in self._waiting.values():
            timer.cancel()
        self._waiting.clear()
        super().shut_down()


class RateLimiter(Protocol[T_contra]):
    """How long an item should wait before its next try (default_rate_limiters.go)."""

    def when(self, item: T_contra) -> float:
        """The delay for this retry of ``item`` (and count the retry)."""
        ...

    def forget(self, item: T_contra) -> None:
        """Stop tracking ``item`` (it succeeded, or was given up on)."""
        ...

    def num_requeues(self, item: T_contra) -> int: ...


class RateLimitingQueue(DelayingQueue[T]):
    """A delaying queue whose retries are spaced by a :class:`RateLimiter`."""

    def __init__(self, rate_limiter: RateLimiter[T] | None = None, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self.rate_limiter: RateLimiter[T] = rate_limiter or default_controller_rate_limiter(self.clock)

    def add_rate_limited(self, item: T) -> None:
        """Add ``item`` after the delay the rate limiter gives (a retry)."""
        self._retries += 1
        self.add_after(item, self.rate_limiter.when(item))

    def forget(self, item: T) -> None:
        """``item`` succeeded: its next failure starts again from the base delay."""
        self.rate_limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return self.rate_limiter.num_requeues(item)


# --- rate limiters (default_rate_limiters.go) --------------------------------------------


class ItemExponentialFailureRateLimiter(Generic[T]):
    """``base * 2**failures`` per item, capped at ``max_delay``: 5 ms, 10 ms, 20 ms, ... 1000 s."""

    def __init__(self, base_delay: float = 0.005, max_delay: float = 1000.0) -> None:
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._failures: dict[T, int] = {}

    def when(self, item: T) -> float:
        exp = self._failures.get(item, 0)
        self._failures[item] = exp + 1
        if exp >= 1024:  # 2**exp would overflow a float; upstream checks against MaxInt64
            return self.max_delay
        return min(self.base_delay * 2.0**exp, self.max_delay)

    def forget(self, item: T) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: T) -> int:
        return self._failures.get(item, 0)


class ItemFastSlowRateLimiter(Generic[T]):
    """``fast_delay`` for the first ``max_fast_attempts`` retries of an item, then ``slow_delay``."""

    def __init__(self, fast_delay: float, slow_delay: float, max_fast_attempts: int) -> None:
        self.fast_delay = fast_delay
        self.slow_delay = slow_delay
        self.max_fast_attempts = max_fast_attempts
        self._failures: dict[T, int] = {}

    def when(self, item: T) -> float:
        self._failures[item] = self._failures.get(item, 0) + 1
        return self.fast_delay if self._failures[item] <= self.max_fast_attempts else self.slow_delay

    def forget(self, item: T) -> None:
        self._failures.pop(item, None)

    def num_requeues(self, item: T) -> int:
        return self._failures.get(item, 0)


class BucketRateLimiter(Generic[T]):
    """An overall token bucket (``qps`` refill, ``burst`` capacity), shared by all items.

    Each ``when`` takes a token; when the bucket is empty the delay is the time until
    the token it borrowed is refilled (golang.org/x/time/rate ``Reserve().Delay()``).
    It never counts requeues and has nothing to forget.
    """

    def __init__(self, qps: float = 10.0, burst: int = 100, clock: Clock | None = None) -> None:
        self.qps = qps
        self.burst = burst
        self.clock: Clock = clock or RealClock()
        self._tokens = float(burst)
        self._last: float | None = None

    def when(self, item: T) -> float:
        now = self.clock.now()
        if self._last is not None:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, item: T) -> None:
        pass

    def num_requeues(self, item: T) -> int:
        return 0


class MaxOfRateLimiter(Generic[T]):
    """The longest delay any of its limiters asks for; every limiter sees every call."""

    def __init__(self, *limiters: RateLimiter[T]) -> None:
        self.limiters = limiters

    def when(self, item: T) -> float:
        return max(limiter.when(item) for limiter in self.limiters)

    def forget(self, item: T) -> None:
        for limiter in self.limiters:
            limiter.forget(item)

    def num_requeues(self, item: T) -> int:
        return max(limiter.num_requeues(item) for limiter in self.limiters)


def default_controller_rate_limiter(clock: Clock | None = None) -> MaxOfRateLimiter[T]:
    """Per-item exponential backoff (5 ms .. 1000 s) and an overall 10 qps, burst 100 bucket."""
    return MaxOfRateLimiter(
        ItemExponentialFailureRateLimiter(0.005, 1000.0), BucketRateLimiter(10.0, 100, clock)
    )
