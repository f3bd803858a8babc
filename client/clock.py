"""Clocks: the real one, and a fake one that tests move by hand.

Anything in the client library that waits (the delaying workqueue, rate limiters)
takes a :class:`Clock` instead of calling ``asyncio.sleep`` or ``time.monotonic``
directly, so a test can say "five seconds pass" with ``FakeClock.step(5)`` and then
assert, without sleeping and without flakiness.

A clock needs only two things:

* ``now()``: monotonic seconds (never wall time: wall time jumps);
* ``call_later(delay, callback)``: run ``callback`` once ``delay`` seconds have
  passed, returning a handle whose ``cancel()`` takes it back.

Mirrors: k8s.io/utils/clock/clock.go (``Clock``, ``WithTicker``) and
k8s.io/utils/clock/testing/fake_clock.go (``FakeClock.Step``).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from typing import Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> float:
        """Monotonic seconds."""
        ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` (synchronously, on the event loop) after ``delay`` seconds."""
        ...


class RealClock:
    """The event loop's monotonic clock; timers are ``loop.call_later``."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(delay, 0.0), callback)


class _FakeTimer:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    """A clock that moves only when told to: ``step(seconds)`` fires every timer now due.

    Timers fire in deadline order (ties in the order they were set), synchronously
    inside ``step``, so right after ``step`` returns a test sees their effects.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._seq = itertools.count()
        self._timers: list[tuple[float, int, _FakeTimer, Callable[[], None]]] = []

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _FakeTimer()
        heapq.heappush(self._timers, (self._now + max(delay, 0.0), next(self._seq), timer, callback))
        return timer

    def step(self, seconds: float) -> None:
        """Advance time by ``seconds``, firing the timers that fall due on the way."""
        target = self._now + seconds
        while self._timers and self._timers[0][0] <= target:
            deadline, _, timer, callback = heapq.heappop(self._timers)
            self._now = max(self._now, deadline)
            if not timer.cancelled:
                callback()
        self._now = target

    def has_waiters(self) -> bool:
        """Is any timer still pending? (``FakeClock.HasWaiters``)"""
        return any(not t.cancelled for _, _, t, _ in self._timers)
