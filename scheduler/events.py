"""The scheduler's event recorder: ``Scheduled`` and ``FailedScheduling`` as core/v1 Events.

``kubectl describe pod`` lists the events whose ``involvedObject`` is the pod; the
scheduler writes two kinds (``From: default-scheduler``)::

    Normal   Scheduled         Successfully assigned default/web to node-1
    Warning  FailedScheduling  0/3 nodes are available: 3 Insufficient cpu. preemption: ...

Recording never blocks scheduling: events go into a bounded queue (1,000, upstream's
``maxQueuedEvents``) drained by one background writer, and when the queue is full
the event is dropped (client-go's broadcaster is a ``watch.DropIfChannelFull``
queue: it drops rather than slow its caller); drops are counted and logged at most
every 10 s. The writer also waits for ``gate`` before each write: the scheduler passes "no
binding in flight or waiting", so under a burst the API server's time goes to
bindings, the events wait in the queue (and beyond 1,000 are dropped, with the count
in the log), and they are written as soon as the burst ends. Without that, every
scheduled pod cost the server a binding *and* an event create of the same price. A repeat of the same
(object, reason, message) is not a new object: the existing event's ``count`` and
``lastTimestamp`` are bumped with a PATCH, as client-go's EventCorrelator does.

Mirrors: k8s.io/client-go/tools/record/event.go (recorder, ``makeEvent``),
events_cache.go (``EventCorrelator``, aggregation by key).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

from apimachinery import errors
from apimachinery.meta import now
from client.rest import EVENTS, RESTClient

log = logging.getLogger(__name__)

COMPONENT: Final = "default-scheduler"
QUEUE_SIZE: Final = 1000
#: At most one "dropped events" warning per this many seconds.
DROP_LOG_EVERY: Final = 10.0


class EventRecorder:
    def __init__(
        self,
        rest: RESTClient,
        component: str = COMPONENT,
        instance: str = "",
        workers: int = 1,
        gate: Callable[[], Awaitable[Any]] | None = None,
    ) -> None:
        self.rest = rest
        self.gate = gate
        self.component = component
        self.instance = instance
        self.workers = workers
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        #: (uid, reason, message) -> [event name, namespace, count]
        self._seen: dict[tuple[str, str, str], list[Any]] = {}
        self.dropped = 0
        self._dropped_logged = 0
        self._last_drop_log = 0.0

    def event(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        """Record an event about ``obj`` (``recorder.Eventf``); returns at once."""
        meta = obj["metadata"]
        stamp = now()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{meta['name']}.{time.time_ns():x}",
                "namespace": meta.get("namespace") or "default",
            },
            "involvedObject": {
                "kind": obj.get("kind", "Pod"),
                "apiVersion": obj.get("apiVersion", "v1"),
                "namespace": meta.get("namespace", ""),
                "name": meta["name"],
                "uid": meta.get("uid", ""),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": self.component},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "reportingComponent": self.component,
            "reportingInstance": self.instance,
        }
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            self._log_dropped()

    def _log_dropped(self, force: bool = False) -> None:
        clock = time.monotonic()
        if self.dropped > self._dropped_logged and (force or clock - self._last_drop_log >= DROP_LOG_EVERY):
            log.warning(
                "event queue full: dropped %d events (%d in total)",
                self.dropped - self._dropped_logged,
                self.dropped,
            )
            self._dropped_logged, self._last_drop_log = self.dropped, clock

    async def run(self) -> None:
        try:
            await asyncio.gather(*(self._worker() for _ in range(self.workers)))
        finally:
            self._log_dropped(force=True)

    async def _worker(self) -> None:
        while True:
            event = await self._queue.get()
            if self.gate is not None:
                await self.gate()
            try:
                await self._write(event)
            except Exception as err:  # an event is never worth crashing the scheduler for
                log.warning("could not write event %s: %s", event["reason"], err)

    async def _write(self, event: dict[str, Any]) -> None:
        key = (event["involvedObject"]["uid"], event["reason"], event["message"])
        seen = self._seen.get(key)
        if seen is not None:
            name, namespace, count = seen
            seen[2] = count + 1
            try:
                await self.rest.patch(
                    EVENTS,
                    name,
                    {"count": count + 1, "lastTimestamp": event["lastTimestamp"]},
                    namespace=namespace,
                )
                return
            except errors.StatusError as err:
                if not errors.is_not_found(err):
                    raise
        namespace = event["metadata"]["namespace"]
        await self.rest.create(EVENTS, event, namespace=namespace)
        if len(self._seen) > 4096:
            self._seen.clear()
        self._seen[key] = [event["metadata"]["name"], namespace, 1]
