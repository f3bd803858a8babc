"""Per-container back-off: the CrashLoopBackOff and ImagePullBackOff clocks.

A container that keeps failing is not restarted in a tight loop. The kubelet keeps one
back-off entry per (pod, container) (and one per (pod, image) for pulls), in
k8s.io/client-go/util/flowcontrol/backoff.go, used by pkg/kubelet/kuberuntime/
kuberuntime_manager.go ``doBackOff``:

* ``next(key, t)``: the container failed at ``t``; the delay doubles (10 s, 20 s,
  40 s ... capped at 300 s). If the entry was last touched more than twice the cap ago
  (10 min: the container ran fine that long) it starts again at the initial delay.
* ``in_backoff_since(key, t)``: is it still too early to restart a container that
  finished at ``t``? While true the container waits as ``CrashLoopBackOff`` with the
  message ``back-off 20s restarting failed container=c pod=web_default(uid)``.

Times are Unix seconds from the ``wall`` function given (tests pass a fake one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

INITIAL = 10.0  # pkg/kubelet/kubelet.go: backOffPeriod
MAX = 300.0  # MaxContainerBackOff


@dataclass
class _Entry:
    backoff: float
    last_update: float


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()`` of a duration truncated to milliseconds (as the
    kubelet's messages truncate): ``10s``, ``1m20s``, ``5m0s``, ``500ms``, and ``0s``
    for anything under a millisecond."""
    if seconds < 1:
        ms = int(seconds * 1000)
        return f"{ms}ms" if ms else "0s"
    whole = round(seconds, 3)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:g}s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text


class Backoff:
    def __init__(self, wall: Callable[[], float], initial: float = INITIAL, maximum: float = MAX) -> None:
        self.wall, self.initial, self.maximum = wall, initial, maximum
        self._entries: dict[str, _Entry] = {}

    def get(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry.backoff if entry else 0.0

    def _expired(self, event_time: float, entry: _Entry) -> bool:
        return event_time - entry.last_update > 2 * self.maximum

    def next(self, key: str, event_time: float) -> None:
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry):
            self._entries[key] = _Entry(self.initial, event_time)
        else:
            entry.backoff = min(entry.backoff * 2, self.maximum)
            entry.last_update = event_time

    def in_backoff_since(self, key: str, event_time: float) -> bool:
        entry = self._entries.get(key)
        if entry is None or self._expired(self.wall(), entry):
            return False
        return self.wall() - event_time < entry.backoff

    def remaining(self, key: str, event_time: float) -> float:
        """Seconds until a container that finished at ``event_time`` may restart."""
        return max(0.0, event_time + self.get(key) - self.wall())

    def forget(self, prefix: str) -> None:
        for key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[key]
