"""A clock for the simulated runtime's tests that moves only when told to (``step``)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable


class _Timer:
    cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class StepClock:
    def __init__(self) -> None:
        self.t = 0.0
        self._seq = itertools.count()
        self._timers: list[tuple[float, int, _Timer, Callable[[], None]]] = []

    def now(self) -> float:
        return self.t

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Timer:
        timer = _Timer()
        heapq.heappush(self._timers, (self.t + max(delay, 0.0), next(self._seq), timer, callback))
        return timer

    def step(self, seconds: float) -> None:
        target = self.t + seconds
        while self._timers and self._timers[0][0] <= target:
            deadline, _, timer, callback = heapq.heappop(self._timers)
            self.t = max(self.t, deadline)
            if not timer.cancelled:
                callback()
        self.t = target
