"""Events: what the kubelet tells ``kubectl describe pod`` (core/v1 Events).

The kubelet records ``Pulling``, ``Pulled``, ``Created``, ``Started``, ``Killing``,
``BackOff``, ``Unhealthy``, ``FailedMount`` ... against the pod (``involvedObject``,
with ``fieldPath: spec.containers{c}`` for a container), from
``source: {component: kubelet, host: <node>}``. Messages are upstream's, from
pkg/kubelet/events/event.go and the call sites in kuberuntime/ and images/.

Recording never blocks a pod worker: events go to a queue and one background task
posts them (client-go tools/record/event.go does the same with a broadcaster). A
repeat of the same (object, reason, message) within the queue's life bumps ``count``
and ``lastTimestamp`` with a PATCH instead of creating a new Event, as the
correlator's aggregation does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from apimachinery import errors
from apimachinery.meta import now, random_suffix
from client.rest import EVENTS, RESTClient

log = logging.getLogger(__name__)

NORMAL, WARNING = "Normal", "Warning"
QUEUE_LIMIT = 10_000


def container_ref(pod: dict[str, Any], container: str, init: bool = False) -> dict[str, Any]:
    meta = pod["metadata"]
    field = "initContainers" if init else "containers"
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "namespace": meta.get("namespace", ""),
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
        **({"fieldPath": f"spec.{field}{{{container}}}"} if container else {}),
    }


class EventRecorder:
    def __init__(
        self,
        rest: RESTClient | None,
        node_name: str,
        component: str = "kubelet",
        limiter: asyncio.Semaphore | None = None,
    ) -> None:
        self.rest, self.node_name, self.component = rest, node_name, component
        self._limiter = limiter or asyncio.Semaphore(1)
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        self._seen: dict[tuple[str, str, str, str], tuple[str, int]] = {}
        self.recorded: list[tuple[str, str, str]] = []  # (reason, message, fieldPath): for tests
        self._task: asyncio.Task[None] | None = None

    def event(self, ref: dict[str, Any], type_: str, reason: str, message: str) -> None:
        self.recorded.append((reason, message, ref.get("fieldPath", "")))
        if self.rest is None:
            return
        t = now()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{ref['name']}.{random_suffix(16)}",
                "namespace": ref.get("namespace") or "default",
            },
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": {"component": self.component, "host": self.node_name},
            "firstTimestamp": t,
            "lastTimestamp": t,
            "count": 1,
            "reportingComponent": self.component,
            "reportingInstance": self.node_name,
        }
        with contextlib.suppress(asyncio.QueueFull):  # drop rather than block a worker
            self._queue.put_nowait(event)

    def pod_event(
        self,
        pod: dict[str, Any],
        type_: str,
        reason: str,
        message: str,
        container: str = "",
        init: bool = False,
    ) -> None:
        self.event(container_ref(pod, container, init), type_, reason, message)

    def share_limiter(self, limiter: asyncio.Semaphore) -> None:
        """Post through ``limiter`` (shared by many simulated kubelets, so that their events
        never crowd out pod status writes)."""
        self._limiter = limiter

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"events {self.node_name}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        assert self.rest is not None
        while True:
            event = await self._queue.get()
            ref = event["involvedObject"]
            key = (ref.get("uid", ""), ref.get("fieldPath", ""), event["reason"], event["message"])
            try:
                async with self._limiter:
                    await self._post(event, key)
            except errors.StatusError as err:
                if errors.is_not_found(err):
                    self._seen.pop(key, None)
                log.debug("event %s dropped: %s", event["reason"], err)
            except Exception as err:
                log.debug("event %s dropped: %s", event["reason"], err)

    async def _post(self, event: dict[str, Any], key: tuple[str, str, str, str]) -> None:
        assert self.rest is not None
        namespace = event["metadata"]["namespace"]
        if (seen := self._seen.get(key)) is not None:  # the same event again: count it
            name, count = seen
            patch = {"count": count + 1, "lastTimestamp": event["lastTimestamp"]}
            await self.rest.patch(EVENTS, name, patch, namespace=namespace)
            self._seen[key] = (name, count + 1)
            return
        await self.rest.create(EVENTS, event, namespace=namespace)
        if len(self._seen) > 4096:
            self._seen.clear()
        self._seen[key] = (event["metadata"]["name"], 1)
