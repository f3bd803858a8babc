"""Expectations: what a controller is waiting to see in its caches before it acts again.

A ReplicaSet that just created 3 pods must not, on its next reconcile, count the
pods in its informer cache and create 3 more because the watch events have not
arrived yet. So before creating it records "expect 3 adds" for its key, each pod
ADDED event observed lowers the count, and ``satisfied(key)`` is false until all
arrived (or a TTL passed: a lost event must not wedge the controller forever).
Deletions are tracked by pod key, so that seeing both the ``deletionTimestamp``
update and the final DELETED event counts once.

Mirrors: pkg/controller/controller_utils.go (ControllerExpectations,
UIDTrackingControllerExpectations, ExpectationsTimeout = 5 minutes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class _Expectation:
    adds: int = 0
    deletes: set[str] = field(default_factory=set)
    at: float = 0.0


class Expectations:
    def __init__(self, now: Callable[[], float], ttl: float = EXPECTATIONS_TIMEOUT) -> None:
        self._now = now
        self._ttl = ttl
        self._items: dict[str, _Expectation] = {}

    def expect_creations(self, key: str, n: int) -> None:
        exp = self._items.setdefault(key, _Expectation())
        exp.adds += n
        exp.at = self._now()

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        exp = self._items.setdefault(key, _Expectation())
        exp.deletes.update(pod_keys)
        exp.at = self._now()

    def creation_observed(self, key: str) -> None:
        exp = self._items.get(key)
        if exp is not None and exp.adds > 0:
            exp.adds -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        exp = self._items.get(key)
        if exp is not None:
            exp.deletes.discard(pod_key)

    def satisfied(self, key: str) -> bool:
        """All expected events seen, none recorded, or the record expired."""
        exp = self._items.get(key)
        if exp is None:
            return True
        if (exp.adds <= 0 and not exp.deletes) or self._now() - exp.at > self._ttl:
            del self._items[key]
            return True
        return False

    def forget(self, key: str) -> None:
        self._items.pop(key, None)
