"""Events: how components tell ``kubectl describe`` what they did (core/v1 Events).

::

    recorder.event(obj, NORMAL, "SuccessfulCreate", "Created pod: web-x7k2p")   # returns at once
        │ builds the Event: involvedObject, source, timestamps, count 1
        ▼
    EventBroadcaster: a bounded queue (1,000; a full queue drops the event)
        │ one background writer
        ▼
    EventCorrelator (events_cache.py): aggregate similar → count identical → spam filter
        │
        ▼
    API server: POST a new Event, or PATCH the count of the one it repeats

**Using it.** A process makes one :class:`EventBroadcaster` with its REST client, asks it
for one :class:`EventRecorder` per component (the ``source.component`` kubectl shows
under ``From``), ``start()``\\ s it, and ``await shutdown()`` when it stops::

    broadcaster = EventBroadcaster(rest)
    recorder = broadcaster.new_recorder("default-scheduler", host="")
    broadcaster.start()
    recorder.event(pod, WARNING, "FailedScheduling", "0/3 nodes are available: ...")
    recorder.eventf(rs, NORMAL, "SuccessfulCreate", "Created pod: %s", name)
    recorder.event(pod, NORMAL, "Pulled", msg, field_path="spec.containers{app}")
    await broadcaster.shutdown(flush_seconds=5)  # write what is queued, for 5 s at most

A controller in controllers/ does not build any of this: the manager owns the
broadcaster, and ``self.ctx.recorder("statefulset-controller")`` (controllers/base.py,
``Context.recorder``) returns the recorder for a component name, usually in the
controller's ``__init__``. Tests use :class:`FakeRecorder`, which keeps every event in
``.events`` (the built Event dicts) and writes nothing.

**Semantics (as upstream).**

* ``event()`` never blocks and never raises: a full queue (1,000 events) drops the event,
  counted in ``broadcaster.dropped`` and logged at most every 10 s with the count.
* The Event is named ``<object name>.<hex of epoch nanoseconds>`` in the object's namespace
  (``default`` for cluster-scoped objects); ``involvedObject`` is the object's reference
  (kind, namespace, name, uid, apiVersion, resourceVersion, and ``fieldPath`` if given),
  ``reportingComponent``/``reportingInstance`` are the source's component and host.
* The writer tries each write up to 12 times, 10 s apart (the first wait randomised),
  but only when the API server could not be reached: an error *answer* (a Status) is
  final, and an AlreadyExists one is expected (the same Event twice) and not logged.
  A PATCH of a count whose Event has gone (NotFound) creates it again.
* ``shutdown(flush_seconds)`` stops accepting events, writes what is queued (one try
  each) for at most that long, then drops the rest.

Extras for this project's components: ``gate`` (awaited before each write; the
scheduler passes "no binding in flight", so under a burst the API server's time goes to
bindings) and ``limiter`` (a semaphore shared by many simulated kubelets' broadcasters).

Mirrors: k8s.io/client-go/tools/record/event.go (EventBroadcaster, recorderImpl,
makeEvent, recordToSink, recordEvent), tools/reference/ref.go (GetReference),
tools/record/fake.go (FakeRecorder) and apimachinery's watch.Broadcaster
(DropIfChannelFull); the correlator is events_cache.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

from apimachinery import errors
from client.clock import Clock, RealClock
from client.events_cache import CorrelatorOptions, Event, EventCorrelator, timestamp_ns
from client.rest import EVENTS, PatchType, RESTClient

log = logging.getLogger(__name__)

NORMAL: Final = "Normal"
WARNING: Final = "Warning"
MAX_TRIES_PER_EVENT: Final = 12
DEFAULT_SLEEP: Final = 10.0
MAX_QUEUED_EVENTS: Final = 1000
#: At most one "dropped events" warning per this many seconds.
DROP_LOG_EVERY: Final = 10.0
NAMESPACE_TERMINATING: Final = "NamespaceTerminating"


def object_reference(obj: dict[str, Any], field_path: str = "") -> dict[str, Any] | None:
    """The ObjectReference of ``obj`` (``ref.GetReference``); ``obj`` may be one already.

    None when ``obj`` does not say its kind (upstream: "could not construct reference").
    """
    if "metadata" not in obj:  # already a reference
        ref = dict(obj)
    else:
        meta = obj["metadata"]
        ref = {
            "kind": obj.get("kind", ""),
            "namespace": meta.get("namespace", ""),
            "name": meta.get("name", ""),
            "uid": meta.get("uid", ""),
            "apiVersion": obj.get("apiVersion", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
    if field_path:
        ref["fieldPath"] = field_path
    if not ref.get("kind") or not ref.get("name"):
        return None
    return {k: v for k, v in ref.items() if v}


class EventSink(Protocol):
    """Where the writer puts events (``record.EventSink``); the API server in production."""

    async def create(self, event: Event) -> Event: ...

    async def patch(self, event: Event, patch: dict[str, Any]) -> Event: ...


class RESTSink:
    """Events written through a :class:`RESTClient` (``v1.EventSinkImpl``)."""

    def __init__(self, rest: RESTClient) -> None:
        self.rest = rest

    async def create(self, event: Event) -> Event:
        result: Event = await self.rest.create(EVENTS, event, namespace=event["metadata"]["namespace"])
        return result

    async def patch(self, event: Event, patch: dict[str, Any]) -> Event:
        meta = event["metadata"]
        result: Event = await self.rest.patch(
            EVENTS, meta["name"], patch, namespace=meta["namespace"], patch_type=PatchType.STRATEGIC
        )
        return result


class EventRecorder:
    """Records events on behalf of one source (``record.EventRecorder``)."""

    def __init__(
        self,
        broadcaster: EventBroadcaster | None,
        component: str,
        host: str = "",
        *,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.broadcaster, self.component, self.host, self.wall_ns = broadcaster, component, host, wall_ns

    def event(
        self,
        obj: dict[str, Any],
        type_: str,
        reason: str,
        message: str,
        *,
        field_path: str = "",
        annotations: dict[str, str] | None = None,
    ) -> None:
        """Record that ``reason``/``message`` happened to ``obj`` (an object or a reference)."""
        ref = object_reference(obj, field_path)
        if ref is None:
            log.error("could not construct a reference to %r; not reporting %s %s", obj, type_, reason)
            return
        if type_ not in (NORMAL, WARNING):
            log.error("unsupported event type %r", type_)
            return
        self._emit(self.make_event(ref, type_, reason, message, annotations))

    def eventf(
        self, obj: dict[str, Any], type_: str, reason: str, fmt: str, *args: Any, field_path: str = ""
    ) -> None:
        """``event`` with a printf-style message: ``eventf(rs, NORMAL, "SuccessfulCreate", "Created pod: %s", n)``."""
        self.event(obj, type_, reason, fmt % args if args else fmt, field_path=field_path)

    def make_event(
        self,
        ref: dict[str, Any],
        type_: str,
        reason: str,
        message: str,
        annotations: dict[str, str] | None = None,
    ) -> Event:
        ns = self.wall_ns()
        stamp = timestamp_ns(ns)
        metadata: dict[str, Any] = {
            "name": f"{ref['name']}.{ns:x}",
            "namespace": ref.get("namespace") or "default",
        }
        if annotations:
            metadata["annotations"] = dict(annotations)
        source = {"component": self.component, **({"host": self.host} if self.host else {})}
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": metadata,
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": type_,
            "source": source,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }

    def _emit(self, event: Event) -> None:
        if self.broadcaster is not None:
            self.broadcaster.action_or_drop(event)


class FakeRecorder(EventRecorder):
    """Keeps the events instead of sending them (``record.FakeRecorder``), for tests."""

    def __init__(self, component: str = "fake", host: str = "") -> None:
        super().__init__(None, component, host)
        self.events: list[Event] = []

    def _emit(self, event: Event) -> None:
        self.events.append(event)

    def strings(self) -> list[str]:
        """``"<type> <reason> <message>"`` per event, as upstream's FakeRecorder channel."""
        return [f"{e['type']} {e['reason']} {e['message']}" for e in self.events]


class EventBroadcaster:
    """A bounded queue of events and the one task that writes them (``eventBroadcasterImpl``)."""

    def __init__(
        self,
        sink: EventSink | RESTClient | None,
        *,
        options: CorrelatorOptions | None = None,
        queue_size: int = MAX_QUEUED_EVENTS,
        sleep: float = DEFAULT_SLEEP,
        max_tries: int = MAX_TRIES_PER_EVENT,
        clock: Clock | None = None,
        gate: Callable[[], Awaitable[Any]] | None = None,
        limiter: asyncio.Semaphore | None = None,
    ) -> None:
        self.sink: EventSink | None = RESTSink(sink) if isinstance(sink, RESTClient) else sink
        self.clock = clock or (options.clock if options and options.clock else None) or RealClock()
        self.correlator = EventCorrelator(options or CorrelatorOptions(clock=self.clock))
        self.sleep, self.max_tries, self.gate, self.limiter = sleep, max_tries, gate, limiter
        self._queue: asyncio.Queue[Event] = asyncio.Queue(queue_size)
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._stopped = asyncio.Event()
        self.dropped = 0
        self.written = 0
        self._dropped_logged = 0
        self._last_drop_log = -DROP_LOG_EVERY

    def new_recorder(self, component: str, host: str = "") -> EventRecorder:
        return EventRecorder(self, component, host)

    # --- the queue ------------------------------------------------------------------------

    def action_or_drop(self, event: Event) -> bool:
        """Queue ``event`` unless the queue is full or the broadcaster is shut down."""
        if self._closing or self.sink is None:
            return False
        try:
            self._queue.put_nowait(event)
            return True
        except asyncio.QueueFull:
            self.dropped += 1
            self._log_dropped()
            return False

    def _log_dropped(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.dropped > self._dropped_logged and (force or now - self._last_drop_log >= DROP_LOG_EVERY):
            log.warning(
                "event queue full: dropped %d events (%d in total)",
                self.dropped - self._dropped_logged,
                self.dropped,
            )
            self._dropped_logged, self._last_drop_log = self.dropped, now

    # --- the writer -----------------------------------------------------------------------

    def start(self) -> None:
        """Start writing to the sink (``StartRecordingToSink``); needs a running loop."""
        if self._task is None and self.sink is not None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="event broadcaster")

    async def shutdown(self, flush_seconds: float = 5.0) -> None:
        """Stop taking events; write the queued ones, one try each, for at most ``flush_seconds``."""
        self._closing = True
        self._stopped.set()
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._queue.join()), flush_seconds)
        if not self._queue.empty():
            log.warning("shutting down with %d events not written", self._queue.qsize())
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._task = None
        self._log_dropped(force=True)

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                if self.gate is not None and not self._closing:
                    gate = asyncio.ensure_future(self.gate())
                    stopped = asyncio.ensure_future(self._stopped.wait())
                    await asyncio.wait({gate, stopped}, return_when=asyncio.FIRST_COMPLETED)
                    gate.cancel()
                    stopped.cancel()
                await self.record_to_sink(event)
            except Exception:  # an event is never worth stopping the writer for
                log.exception("could not record event %s", event.get("reason"))
            finally:
                self._queue.task_done()

    async def record_to_sink(self, event: Event) -> None:
        """Correlate ``event`` and write it, retrying while the server is unreachable."""
        result = self.correlator.correlate(event)
        if result.skip or result.event is None:
            return
        tries = 0
        while not await self._record(result.event, result.patch):
            tries += 1
            if tries >= self.max_tries or self._closing:
                log.error("unable to write event %s (retry limit exceeded)", event.get("reason"))
                return
            # The first wait is random, so clients do not retry in step after an outage.
            delay = self.sleep * random.random() if tries == 1 else self.sleep
            if await self._sleep_or_stop(delay):
                log.error("unable to write event %s (broadcaster is shut down)", event.get("reason"))
                return

    async def _sleep_or_stop(self, delay: float) -> bool:
        """Wait ``delay`` on the clock; True if shut down meanwhile."""
        done = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not done.done():
                done.set_result(None)

        timer = self.clock.call_later(delay, wake)
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({done, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            stopped.cancel()
        return self._stopped.is_set()

    async def _record(self, event: Event, patch: dict[str, Any] | None) -> bool:
        """One write (``recordEvent``): True when done with (written or given up), False to retry."""
        assert self.sink is not None
        try:
            async with self.limiter if self.limiter is not None else contextlib.nullcontext():
                written = await self._write(event, patch)
        except errors.StatusError as err:  # the server answered: trying again will not help
            if errors.is_already_exists(err) or _has_cause(err, NAMESPACE_TERMINATING):
                log.debug("server rejected event %s: %s (will not retry)", event.get("reason"), err)
            else:
                log.error("server rejected event %s: %s (will not retry)", event.get("reason"), err)
            return True
        except Exception as err:  # could not reach the server: retry
            log.warning("unable to write event %s: %s (may retry after sleeping)", event.get("reason"), err)
            return False
        self.correlator.update_state(written)
        self.written += 1
        return True

    async def _write(self, event: Event, patch: dict[str, Any] | None) -> Event:
        assert self.sink is not None
        if patch is not None and int(event.get("count") or 1) > 1:
            try:
                return await self.sink.patch(event, patch)
            except errors.StatusError as err:
                if not errors.is_not_found(err):
                    raise  # gone: create it again, below
        event = {**event, "metadata": {k: v for k, v in event["metadata"].items() if k != "resourceVersion"}}
        return await self.sink.create(event)


def _has_cause(err: errors.StatusError, cause: str) -> bool:
    causes = (err.status.get("details") or {}).get("causes") or []
    return any(c.get("type") == cause for c in causes)
