"""The reconcile loop: watch, enqueue keys, and let N workers make reality match the spec.

A controller is a function ``reconcile(key) -> Result`` and a declaration of what
it watches. It is **level-triggered**: it receives only ``namespace/name``, never the
event that caused it, reads the current state (from informer caches), and acts on
that. Whether it was woken by an add, an update, a delete, a resync or a retry does
not matter, which is why a missed or merged event never leaves it wrong.

:class:`Controller` wires the pieces together:

* ``watch(informer, map_func)`` registers handlers that turn every event into keys
  (the object's own by default; :func:`enqueue_owner` maps a pod to its owning
  ReplicaSet, say) and add them to a :class:`~client.workqueue.RateLimitingQueue`,
  which merges duplicates;
* ``run()`` waits for the informers' caches to sync, then starts ``workers``
  coroutines; the queue guarantees no key is reconciled by two workers at once;
* what ``reconcile`` returns decides what happens to the key next:

  ====================================  ==============================================
  ``Result()`` or ``None``              done: ``forget`` (reset its backoff)
  ``Result(requeue_after=30)``          ``forget``, then again in 30 s (polling an
                                        external condition, a deadline)
  ``Result(requeue=True)``              again, after the rate limiter's backoff
  raises an exception                   logged, again after the rate limiter's backoff
                                        (5 ms, 10 ms, ... 1000 s per key)
  raises :class:`TerminalError`         logged, not retried until the next event
  ====================================  ==============================================

Mirrors: sigs.k8s.io/controller-runtime/pkg/reconcile/reconcile.go (Result,
TerminalError), pkg/internal/controller/controller.go (Start, processNextWorkItem,
reconcileHandler), pkg/handler/enqueue.go and enqueue_owner.go.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from apimachinery import errors
from apimachinery.meta import key as make_key
from apimachinery.meta import object_key
from client.cache import DeletedFinalStateUnknown, Obj, final_state
from client.clock import Clock
from client.informer import SharedInformer, wait_for_cache_sync
from client.workqueue import RateLimiter, RateLimitingQueue


@dataclass(frozen=True)
class Result:
    """What to do with the key after a successful reconcile."""

    requeue_after: float | None = None
    requeue: bool = False


class TerminalError(Exception):
    """An error retrying cannot fix (bad spec, say): logged, the key is not requeued."""


Reconciler = Callable[[str], Awaitable[Result | None]]
#: Maps an object from a watched informer to the keys to reconcile.
MapFunc = Callable[[Obj], Iterable[str]]


def enqueue_object(obj: Obj) -> list[str]:
    """The object's own key (handler.EnqueueRequestForObject)."""
    return [object_key(obj)]


def enqueue_owner(owner_kind: str, owner_group: str = "") -> MapFunc:
    """The key of the object's controlling owner of ``owner_kind`` (handler.EnqueueRequestForOwner).

    Owners live in the same namespace as what they own, so the key is
    ``namespace/<owner name>``.
    """

    def keys(obj: Obj) -> list[str]:
        meta = obj.get("metadata") or {}
        out = []
        for ref in meta.get("ownerReferences") or []:
            group = ref.get("apiVersion", "").rpartition("/")[0]
            if ref.get("controller") and ref.get("kind") == owner_kind and group == owner_group:
                out.append(make_key(meta.get("namespace", ""), ref["name"]))
        return out

    return keys


class Controller:
    """Runs ``reconcile`` for every key its watches enqueue, with ``workers`` in parallel."""

    def __init__(
        self,
        name: str,
        reconcile: Reconciler,
        *,
        workers: int = 1,
        rate_limiter: RateLimiter[str] | None = None,
        clock: Clock | None = None,
        shutdown_grace: float = 10.0,
    ) -> None:
        self.name = name
        self.reconcile = reconcile
        self.workers = workers
        self.shutdown_grace = shutdown_grace
        self.queue: RateLimitingQueue[str] = RateLimitingQueue(rate_limiter, clock)
        self.log = logging.getLogger(f"controller.{name}")
        self.informers: list[SharedInformer] = []
        #: Counts of reconcile outcomes, by result (controller_runtime_reconcile_total).
        self.totals = {"success": 0, "error": 0, "requeue": 0, "requeue_after": 0, "terminal": 0}

    def watch(self, informer: SharedInformer, map_func: MapFunc = enqueue_object) -> None:
        """Enqueue ``map_func(obj)`` for every add, update (old and new) and delete of ``informer``."""
        self.informers.append(informer)

        def on_add(obj: Obj) -> None:
            for k in map_func(obj):
                self.queue.add(k)

        def on_update(old: Obj, new: Obj) -> None:
            for k in {*map_func(old), *map_func(new)}:
                self.queue.add(k)

        def on_delete(obj: Obj | DeletedFinalStateUnknown) -> None:
            for k in map_func(final_state(obj)):
                self.queue.add(k)

        informer.add_event_handler(on_add, on_update, on_delete)

    async def run(self) -> None:
        """Wait for the caches, then reconcile until cancelled (informers are run by their owner)."""
        self.log.info("waiting for caches to sync")
        await wait_for_cache_sync(*self.informers)
        self.log.info("starting %d workers", self.workers)
        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(self._worker(), name=f"{self.name}-{i}") for i in range(self.workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            # Stop taking new keys; let reconciles in progress finish, within a grace period.
            self.queue.shut_down()
            _, pending = await asyncio.wait(tasks, timeout=self.shutdown_grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.log.info("stopped")

    async def _worker(self) -> None:
        while not self.queue.shutting_down():
            key, shutdown = await self.queue.get()
            if shutdown or key is None:
                return
            try:
                await self._reconcile_one(key)
            finally:
                self.queue.done(key)

    async def _reconcile_one(self, key: str) -> None:
        """controller.go reconcileHandler: turn the outcome into what happens to the key."""
        try:
            result = await self.reconcile(key) or Result()
        except TerminalError as err:
            self.totals["terminal"] += 1
            self.log.error("reconcile %s: terminal error, not requeued: %s", key, err)
            self.queue.forget(key)
            return
        except asyncio.CancelledError:
            raise
        except Exception as err:
            self.totals["error"] += 1
            retries = self.queue.num_requeues(key)
            # An answer from the API server (a 409 conflict from a stale cache, above all) is
            # routine for a controller and is said in one line, as utilruntime.HandleError
            # does; anything else is a bug worth its traceback.
            self.log.warning(
                "reconcile %s failed (retry %d): %s", key, retries + 1, err,
                exc_info=None if isinstance(err, errors.StatusError) else err,
            )  # fmt: skip
            self.queue.add_rate_limited(key)
            return
        if result.requeue_after is not None and result.requeue_after > 0:
            self.totals["requeue_after"] += 1
            self.queue.forget(key)
            self.queue.add_after(key, result.requeue_after)
        elif result.requeue:
            self.totals["requeue"] += 1
            self.queue.add_rate_limited(key)
        else:
            self.totals["success"] += 1
            self.queue.forget(key)

    def metrics(self) -> dict[str, Any]:
        return {**self.queue.metrics(), **{f"reconcile_{k}": v for k, v in self.totals.items()}}
