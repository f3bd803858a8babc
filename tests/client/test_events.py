"""The recorder and the broadcaster: the Event they build, never blocking, retries, shutdown.

Unit tests write to a fake sink; the last tests write to a real API server.
Upstream: client-go tools/record/event_test.go (TestEventf, TestWriteEventError,
TestUpdateExpiredEvent, TestLotsOfEvents).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import pytest

from apimachinery import errors
from client import events
from client.events import NORMAL, WARNING, EventBroadcaster, EventRecorder, FakeRecorder
from client.rest import EVENTS, PODS, RESTClient

NS_1 = 1_700_000_000_123_456_789  # 2023-11-14T22:13:20.123456789Z


def pod(name: str = "web", namespace: str = "default") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "resourceVersion": "5"},
    }


class FakeSink:
    """Keeps what it is asked to write; ``fail`` queues exceptions for the next calls."""

    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        self.fail: list[BaseException] = []
        self.delay = delay

    async def _answer(self, verb: str, event: dict[str, Any], patch: dict[str, Any] | None) -> dict[str, Any]:
        self.calls.append((verb, event, patch))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise self.fail.pop(0)
        return {**event, "metadata": {**event["metadata"], "resourceVersion": str(len(self.calls))}}

    async def create(self, event: dict[str, Any]) -> dict[str, Any]:
        return await self._answer("create", event, None)

    async def patch(self, event: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
        return await self._answer("patch", event, patch)


async def settle(broadcaster: EventBroadcaster) -> None:
    await asyncio.wait_for(broadcaster._queue.join(), 5)


@pytest.mark.parametrize(
    ("obj", "field_path", "namespace", "reference"),
    [
        (
            pod(),
            "spec.containers{app}",
            "default",
            {
                "kind": "Pod",
                "namespace": "default",
                "name": "web",
                "uid": "uid-web",
                "apiVersion": "v1",
                "resourceVersion": "5",
                "fieldPath": "spec.containers{app}",
            },
        ),
        (
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "uid": "u"}},
            "",
            "default",  # cluster-scoped objects' events go to "default"
            {"kind": "Node", "name": "n1", "uid": "u", "apiVersion": "v1"},
        ),
        (
            {"kind": "Node", "name": "n1", "uid": "n1", "apiVersion": "v1"},  # already a reference
            "",
            "default",
            {"kind": "Node", "name": "n1", "uid": "n1", "apiVersion": "v1"},
        ),
        (
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs", "namespace": "prod"}},
            "",
            "prod",
            {"kind": "ReplicaSet", "namespace": "prod", "name": "rs", "apiVersion": "apps/v1"},
        ),
    ],
    ids=["pod-container", "cluster-scoped", "reference", "replicaset"],
)
def test_the_event_a_recorder_builds(
    obj: dict[str, Any], field_path: str, namespace: str, reference: dict[str, Any]
) -> None:
    recorder = FakeRecorder("kubelet", "node-1")
    recorder.wall_ns = lambda: NS_1
    recorder.event(obj, NORMAL, "Pulled", "done", field_path=field_path)
    (e,) = recorder.events
    assert e == {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{reference['name']}.{NS_1:x}", "namespace": namespace},
        "involvedObject": reference,
        "reason": "Pulled",
        "message": "done",
        "firstTimestamp": "2023-11-14T22:13:20Z",
        "lastTimestamp": "2023-11-14T22:13:20Z",
        "count": 1,
        "type": "Normal",
        "source": {"component": "kubelet", "host": "node-1"},
        "reportingComponent": "kubelet",
        "reportingInstance": "node-1",
    }


def test_eventf_and_what_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    recorder = FakeRecorder("replicaset-controller")
    recorder.eventf(pod(), NORMAL, "SuccessfulCreate", "Created pod: %s", "web-x")
    recorder.eventf(pod(), WARNING, "FailedCreate", "100% sure")  # no args: the text as is
    with caplog.at_level(logging.ERROR, logger="client.events"):
        recorder.event({"metadata": {"name": "no-kind"}}, NORMAL, "R", "m")
        recorder.event(pod(), "Fatal", "R", "m")
    assert recorder.strings() == [
        "Normal SuccessfulCreate Created pod: web-x",
        "Warning FailedCreate 100% sure",
    ]
    assert "could not construct a reference" in caplog.text and "unsupported event type" in caplog.text


async def test_creates_then_patches_an_identical_event() -> None:
    sink = FakeSink()
    b = EventBroadcaster(sink)
    recorder = b.new_recorder("kubelet", "n1")
    b.start()
    recorder.event(pod(), NORMAL, "Pulled", "image present")
    recorder.event(pod(), NORMAL, "Pulled", "image present")
    await settle(b)
    (verb1, first, _), (verb2, second, patch) = sink.calls
    assert (verb1, verb2) == ("create", "patch")
    assert second["metadata"]["name"] == first["metadata"]["name"]
    assert second["metadata"]["resourceVersion"] == "1"  # from the server's answer
    assert patch is not None and patch["count"] == 2 and patch["message"] == "image present"
    await b.shutdown()


async def test_a_patch_of_a_deleted_event_creates_it_again() -> None:
    sink = FakeSink()
    b = EventBroadcaster(sink)
    recorder = b.new_recorder("kubelet", "n1")
    b.start()
    recorder.event(pod(), NORMAL, "Pulled", "x")
    await settle(b)
    sink.fail = [errors.new_not_found(EVENTS.group_resource(), "web.1")]
    recorder.event(pod(), NORMAL, "Pulled", "x")
    await settle(b)
    assert [(verb, e["count"]) for verb, e, _ in sink.calls] == [("create", 1), ("patch", 2), ("create", 2)]
    assert "resourceVersion" not in sink.calls[-1][1]["metadata"]
    await b.shutdown()


@pytest.mark.parametrize(
    ("failures", "tries"),
    [
        ([httpx.ConnectError("refused")] * 2, 3),  # unreachable: retried until it works
        ([httpx.ConnectError("refused")] * 5, 4),  # ... at most max_tries times
        ([errors.new_already_exists(EVENTS.group_resource(), "web.1")], 1),  # an answer: final
        ([errors.new_bad_request("no")], 1),
    ],
    ids=["retried", "retry-limit", "already-exists", "rejected"],
)
async def test_retries_only_when_the_server_cannot_be_reached(
    failures: list[BaseException], tries: int
) -> None:
    sink = FakeSink()
    sink.fail = list(failures)
    b = EventBroadcaster(sink, sleep=0.001, max_tries=4)
    b.start()
    b.new_recorder("c").event(pod(), NORMAL, "R", "m")
    await settle(b)
    assert len(sink.calls) == tries
    await b.shutdown()


async def test_writes_wait_for_the_gate() -> None:
    sink, gate = FakeSink(), asyncio.Event()
    b = EventBroadcaster(sink, gate=gate.wait)
    b.start()
    b.new_recorder("default-scheduler").event(
        pod(), NORMAL, "Scheduled", "Successfully assigned default/web to n1"
    )
    await asyncio.sleep(0.01)
    assert sink.calls == []  # bindings in flight: the event waits
    gate.set()
    await settle(b)
    assert [e["reason"] for _, e, _ in sink.calls] == ["Scheduled"]
    await b.shutdown()


async def test_a_full_queue_drops_and_says_how_many(caplog: pytest.LogCaptureFixture) -> None:
    b = EventBroadcaster(FakeSink(), queue_size=2)
    recorder = b.new_recorder("default-scheduler")
    with caplog.at_level(logging.WARNING, logger="client.events"):
        began = time.perf_counter()
        for i in range(5):
            recorder.event(pod(f"p{i}"), NORMAL, "Scheduled", "x")  # returns at once, never blocks
        assert time.perf_counter() - began < 0.1
        assert b.dropped == 3
        assert "dropped 1 events (1 in total)" in caplog.text  # at most one line per DROP_LOG_EVERY
        b.start()
        await b.shutdown()
    assert "dropped 2 events (3 in total)" in caplog.text  # the rest is said on shutdown


async def test_shutdown_flushes_within_its_deadline() -> None:
    sink = FakeSink(delay=0.05)
    b = EventBroadcaster(sink)
    recorder = b.new_recorder("c")
    b.start()
    for i in range(100):
        recorder.event(pod(f"p{i}"), NORMAL, "R", "m")
    began = time.perf_counter()
    await b.shutdown(flush_seconds=0.3)
    assert time.perf_counter() - began < 1.0
    assert 3 <= len(sink.calls) < 100  # some written, the rest given up at the deadline
    written = len(sink.calls)
    recorder.event(pod(), NORMAL, "R", "after")  # a stopped broadcaster takes no more
    await asyncio.sleep(0.01)
    assert len(sink.calls) == written


async def test_shutdown_writes_everything_queued_in_time() -> None:
    sink = FakeSink()
    b = EventBroadcaster(sink)
    recorder = b.new_recorder("c")
    for i in range(20):
        recorder.event(pod(f"p{i}"), NORMAL, "R", "m")
    b.start()
    await b.shutdown(flush_seconds=5)
    assert len(sink.calls) == 20


async def test_without_a_sink_events_go_nowhere() -> None:
    b = EventBroadcaster(None)
    b.start()
    b.new_recorder("kubelet").event(pod(), NORMAL, "R", "m")
    assert b._queue.empty() and b.dropped == 0
    await b.shutdown()


# --- against a real API server ------------------------------------------------------------


async def test_events_reach_the_api_server_and_repeats_count(rest: RESTClient, ns: str) -> None:
    created = await rest.create(
        PODS,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web"},
            "spec": {"containers": [{"name": "app", "image": "busybox"}]},
        },
        namespace=ns,
    )
    b = EventBroadcaster(rest)
    recorder: EventRecorder = b.new_recorder("kubelet", "node-1")
    b.start()
    for _ in range(3):
        recorder.event(
            created,
            WARNING,
            "BackOff",
            "Back-off restarting failed container",
            field_path="spec.containers{app}",
        )
    recorder.event(created, NORMAL, "Started", "Started container app", field_path="spec.containers{app}")
    await b.shutdown(flush_seconds=10)
    items = (await rest.list(EVENTS, namespace=ns))["items"]
    by_reason = {e["reason"]: e for e in items}
    assert len(items) == 2
    backoff = by_reason["BackOff"]
    assert backoff["count"] == 3
    assert backoff["involvedObject"]["uid"] == created["metadata"]["uid"]
    assert backoff["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert backoff["source"] == {"component": "kubelet", "host": "node-1"}
    assert by_reason["Started"]["count"] == 1
    assert b.written == 4 and events.MAX_QUEUED_EVENTS == 1000
