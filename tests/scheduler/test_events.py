"""The event recorder: never blocks its caller, drops when full, waits for its gate.

Upstream: client-go tools/record/event_test.go, tools/events/eventseries_test.go.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from scheduler import events
from scheduler.events import EventRecorder
from tests.scheduler.builders import pod


class FakeRest:
    """Records the events it is asked to create (the recorder's only call for new events)."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    async def create(self, gvr: Any, body: dict[str, Any], namespace: str = "") -> dict[str, Any]:
        self.created.append(body)
        return body


async def test_writes_wait_for_the_gate() -> None:
    rest, gate = FakeRest(), asyncio.Event()
    recorder = EventRecorder(rest, gate=gate.wait)  # type: ignore[arg-type]
    task = asyncio.create_task(recorder.run())
    recorder.event(pod("a"), "Normal", "Scheduled", "Successfully assigned default/a to n1")
    await asyncio.sleep(0.01)
    assert rest.created == []  # bindings in flight: the event waits
    gate.set()
    await asyncio.sleep(0.01)
    assert [e["reason"] for e in rest.created] == ["Scheduled"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_full_queue_drops_and_says_how_many(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(events, "QUEUE_SIZE", 2)
    recorder = EventRecorder(FakeRest())  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, logger="scheduler.events"):
        for i in range(5):
            recorder.event(pod(f"p{i}"), "Normal", "Scheduled", "x")  # returns at once, never blocks
    assert recorder.dropped == 3
    assert "dropped 1 events (1 in total)" in caplog.text  # at most one line per DROP_LOG_EVERY
    task = asyncio.create_task(recorder.run())
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert "dropped 2 events (3 in total)" in caplog.text  # the rest is said when the writer stops
