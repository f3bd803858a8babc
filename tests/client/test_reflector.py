"""client/reflector.py against a scripted lister-watcher: the request sequence client-go makes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from apimachinery import errors
from client.reflector import Backoff, Reflector
from client.rest import WatchEvent

HANG = "hang"  # a watch that stays open with no events, until the test ends


def _obj(name: str, rv: int) -> dict[str, Any]:
    return {"metadata": {"namespace": "ns", "name": name, "resourceVersion": str(rv)}}


def _list(rv: int, *names: str, cont: str = "") -> dict[str, Any]:
    meta = {"resourceVersion": str(rv), **({"continue": cont} if cont else {})}
    return {"metadata": meta, "items": [_obj(n, rv) for n in names]}


def _ev(kind: str, name: str, rv: int) -> WatchEvent:
    if kind == "BOOKMARK":
        return {"type": kind, "object": {"kind": "ConfigMap", "metadata": {"resourceVersion": str(rv)}}}
    return {"type": kind, "object": _obj(name, rv)}


EXPIRED = errors.new_resource_expired("too old resource version: 5 (50)")
EXPIRED_EVENT: WatchEvent = {"type": "ERROR", "object": dict(EXPIRED.status)}
TOO_LARGE = errors.new_timeout_error("Too large resource version: 99, current: 50", 1)
TOO_LARGE.status["details"]["causes"] = [
    {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
]


class FakeListerWatcher:
    """Answers lists and watches from scripts, recording each request."""

    def __init__(self, lists: list[Any], watches: list[Any]) -> None:
        self.lists, self.watches = lists, watches
        self.list_calls: list[tuple[str | None, int, str]] = []
        self.watch_calls: list[tuple[str, int, bool]] = []
        self.hanging = asyncio.Event()

    async def list(self, *, resource_version: str | None, limit: int, continue_: str) -> dict[str, Any]:
        self.list_calls.append((resource_version, limit, continue_))
        answer = self.lists.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    @asynccontextmanager
    async def watch(
        self, *, resource_version: str, timeout_seconds: int, allow_watch_bookmarks: bool
    ) -> AsyncIterator[Any]:
        self.watch_calls.append((resource_version, timeout_seconds, allow_watch_bookmarks))
        script = self.watches.pop(0) if self.watches else HANG
        if isinstance(script, Exception):
            raise script
        yield self._events(script)

    async def _events(self, script: Any) -> AsyncIterator[WatchEvent]:
        if script == HANG:
            self.hanging.set()
            await asyncio.Event().wait()
        for event in script:
            yield event
            await asyncio.sleep(0)


class RecordingStore:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def replace(self, items: list[dict[str, Any]], resource_version: str) -> None:
        self.calls.append(("replace", ([i["metadata"]["name"] for i in items], resource_version)))

    def add(self, obj: dict[str, Any]) -> None:
        self.calls.append(("add", obj["metadata"]["name"]))

    def update(self, obj: dict[str, Any]) -> None:
        self.calls.append(("update", obj["metadata"]["name"]))

    def delete(self, obj: dict[str, Any]) -> None:
        self.calls.append(("delete", obj["metadata"]["name"]))


async def _run(lw: FakeListerWatcher, store: RecordingStore) -> Reflector:
    r = Reflector(lw, store, backoff=Backoff(initial=0.001, maximum=0.001, jitter=0))
    task = asyncio.create_task(r.run())
    try:
        async with asyncio.timeout(5):
            await lw.hanging.wait()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return r


async def test_list_then_watch_then_rewatch_from_the_last_resource_version() -> None:
    events = [
        _ev("ADDED", "b", 11),
        _ev("MODIFIED", "a", 12),
        _ev("DELETED", "b", 13),
        _ev("BOOKMARK", "", 20),
    ]
    lw = FakeListerWatcher([_list(10, "a")], [events])
    store = RecordingStore()
    r = await _run(lw, store)
    assert lw.list_calls == [("0", 500, "")]
    assert [(rv, bm) for rv, _, bm in lw.watch_calls] == [("10", True), ("20", True)]
    assert all(300 <= t < 600 for _, t, _ in lw.watch_calls)
    assert store.calls == [("replace", (["a"], "10")), ("add", "b"), ("update", "a"), ("delete", "b")]
    assert r.last_sync_resource_version == "20", "a bookmark advances the resourceVersion"


@pytest.mark.parametrize(
    ("watches", "lists", "list_calls"),
    [
        # 410 as an ERROR event: re-list "not older than" the last RV seen (paging off), then watch.
        (
            [[_ev("ADDED", "b", 11), EXPIRED_EVENT]],
            [_list(10), _list(30, "b")],
            [("0", 500, ""), ("11", 0, "")],
        ),
        # 410 as an HTTP error opening the watch: the same.
        ([EXPIRED], [_list(10), _list(30)], [("0", 500, ""), ("10", 0, "")]),
        # 504 "Too large resource version": the same.
        ([TOO_LARGE], [_list(10), _list(30)], [("0", 500, ""), ("10", 0, "")]),
        # The re-list itself is 410: at once, a fresh consistent list (resourceVersion "").
        ([EXPIRED], [_list(10), EXPIRED, _list(30)], [("0", 500, ""), ("10", 0, ""), ("", 500, "")]),
        # A watch that ends at once with nothing: an error, so back off and re-list.
        ([[]], [_list(10), _list(30)], [("0", 500, ""), ("10", 0, "")]),
    ],
    ids=["error-event", "http-410", "too-large", "relist-expired", "very-short-watch"],
)
async def test_relist(watches: list[Any], lists: list[Any], list_calls: list[Any]) -> None:
    lw = FakeListerWatcher(lists, watches)
    r = await _run(lw, RecordingStore())
    assert lw.list_calls == list_calls
    assert lw.watch_calls[-1][0] == "30" and r.last_sync_resource_version == "30"


async def test_pages_and_an_expired_continue_falls_back_to_one_full_list() -> None:
    lists = [_list(10, "a", cont="t1"), _list(10, "b", cont="t2"), EXPIRED, _list(12, "a", "b", "c")]
    lw = FakeListerWatcher(lists, [])
    store = RecordingStore()
    await _run(lw, store)
    assert lw.list_calls == [("0", 500, ""), (None, 500, "t1"), (None, 500, "t2"), ("0", 0, "")]
    assert store.calls == [("replace", (["a", "b", "c"], "12"))]
    assert lw.watch_calls[0][0] == "12"


async def test_other_errors_back_off_and_retry() -> None:
    lw = FakeListerWatcher([errors.new_internal_error("boom"), _list(10, "a")], [])
    await _run(lw, RecordingStore())
    assert lw.list_calls == [("0", 500, ""), ("0", 500, "")]


def test_backoff_doubles_to_the_cap() -> None:
    b = Backoff(initial=1, maximum=5, jitter=0)
    assert [b.next() for _ in range(5)] == [1, 2, 4, 5, 5]
