"""client/workqueue.py and client/clock.py: the queue contract and rate limiters, on a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from client.clock import FakeClock
from client.workqueue import (
    BucketRateLimiter,
    DelayingQueue,
    ItemExponentialFailureRateLimiter,
    ItemFastSlowRateLimiter,
    MaxOfRateLimiter,
    Queue,
    RateLimitingQueue,
    default_controller_rate_limiter,
)


async def _drain(q: Queue[str]) -> list[str]:
    """Get (and finish) everything queued right now."""
    out = []
    while len(q):
        item, shutdown = await q.get()
        assert not shutdown and item is not None
        out.append(item)
        q.done(item)
    return out


# --- the basic queue -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("adds", "expected"),
    [
        (["a", "b", "c"], ["a", "b", "c"]),
        (["a", "b", "a", "c", "b"], ["a", "b", "c"]),
        (["x", "x", "x"], ["x"]),
        ([], []),
    ],
    ids=["fifo", "dedup-keeps-first-position", "dedup-same", "empty"],
)
async def test_fifo_and_dedup(adds: list[str], expected: list[str]) -> None:
    q: Queue[str] = Queue(FakeClock())
    for item in adds:
        q.add(item)
    assert await _drain(q) == expected
    assert q.metrics()["adds"] == len(expected)


async def test_re_add_while_processing_is_kept_and_not_handed_out_twice() -> None:
    q: Queue[str] = Queue(FakeClock())
    q.add("a")
    await q.get()
    q.add("a")  # changed again while a worker holds it
    assert len(q) == 0, "a second worker must not get 'a' while the first holds it"
    q.add("a")  # and again: still one pending run
    q.done("a")
    assert len(q) == 1
    assert await _drain(q) == ["a"]


async def test_a_key_is_never_processed_by_two_workers() -> None:
    q: Queue[str] = Queue()
    running: set[str] = set()
    overlaps = 0
    processed = 0
    enough = asyncio.Event()

    async def worker() -> None:
        nonlocal overlaps, processed
        while True:
            item, shutdown = await q.get()
            if shutdown or item is None:
                return
            overlaps += item in running
            running.add(item)
            await asyncio.sleep(0)
            if processed < 50:
                q.add(item)  # re-add while processing
            processed += 1
            if processed >= 50:
                enough.set()
            running.discard(item)
            q.done(item)

    workers = [asyncio.create_task(worker()) for _ in range(4)]
    for k in ("a", "b", "a", "c", "a"):
        q.add(k)
    await enough.wait()
    await q.shut_down_with_drain()
    await asyncio.gather(*workers)
    assert overlaps == 0


async def test_getters_are_woken_in_order_and_shutdown_releases_them() -> None:
    q: Queue[str] = Queue(FakeClock())
    got: list[tuple[int, str | None, bool]] = []

    async def getter(n: int) -> None:
        item, shutdown = await q.get()
        got.append((n, item, shutdown))

    tasks = [asyncio.create_task(getter(n)) for n in range(3)]
    await asyncio.sleep(0)
    q.add("x")
    await asyncio.sleep(0)
    q.shut_down()
    await asyncio.gather(*tasks)
    assert got == [(0, "x", False), (1, None, True), (2, None, True)]
    q.add("late")
    assert len(q) == 0, "adds after shutdown are ignored"


async def test_shutdown_hands_out_what_is_queued_then_reports_shutdown() -> None:
    q: Queue[str] = Queue(FakeClock())
    q.add("a")
    q.shut_down()
    assert await q.get() == ("a", False)
    assert await q.get() == (None, True)


async def test_shut_down_with_drain_waits_for_work_in_hand() -> None:
    q: Queue[str] = Queue(FakeClock())
    q.add("a")
    await q.get()
    drained = asyncio.create_task(q.shut_down_with_drain())
    await asyncio.sleep(0)
    assert not drained.done()
    q.done("a")
    await asyncio.wait_for(drained, 1)


async def test_metrics_longest_running_uses_the_clock() -> None:
    clock = FakeClock()
    q: Queue[str] = Queue(clock)
    q.add("a")
    q.add("b")
    await q.get()
    clock.step(3)
    await q.get()
    clock.step(2)
    m = q.metrics()
    assert m["depth"] == 0 and m["processing"] == 2 and m["adds"] == 2
    assert m["longest_running_processor_seconds"] == 5
    assert m["unfinished_work_seconds"] == 7


# --- delaying queue ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calls", "steps"),
    [
        # (item, delay) calls, then [(advance, queued items after it)]
        ([("a", 1.0)], [(0.5, []), (0.5, ["a"])]),
        ([("a", 0.0)], [(0, ["a"])]),
        ([("a", 2.0), ("b", 1.0)], [(1, ["b"]), (1, ["b", "a"])]),
        ([("a", 5.0), ("a", 1.0)], [(1, ["a"]), (10, ["a"])]),  # an earlier time wins
        ([("a", 1.0), ("a", 5.0)], [(1, ["a"]), (10, ["a"])]),  # a later one does not postpone
    ],
    ids=["delay", "zero-is-immediate", "ordered-by-time", "earlier-wins", "later-ignored"],
)
async def test_add_after(calls: list[tuple[str, float]], steps: list[tuple[float, list[str]]]) -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock)
    for item, delay in calls:
        q.add_after(item, delay)
    for advance, expected in steps:
        clock.step(advance)
        assert list(q._queue) == expected


async def test_shutdown_cancels_waiting_items() -> None:
    clock = FakeClock()
    q: DelayingQueue[str] = DelayingQueue(clock)
    q.add_after("a", 1)
    q.shut_down()
    clock.step(2)
    assert len(q) == 0 and q.waiting() == 0 and not clock.has_waiters()


# --- rate limiters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "maximum", "expected"),
    [
        (0.005, 1000.0, [0.005, 0.01, 0.02, 0.04, 0.08]),
        (1.0, 5.0, [1, 2, 4, 5, 5]),
    ],
    ids=["client-go-defaults", "capped"],
)
def test_item_exponential(base: float, maximum: float, expected: list[float]) -> None:
    rl: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(base, maximum)
    assert [rl.when("a") for _ in expected] == pytest.approx(expected)
    assert rl.num_requeues("a") == len(expected)
    assert rl.when("b") == base, "per item"
    rl.forget("a")
    assert rl.num_requeues("a") == 0 and rl.when("a") == base


def test_item_exponential_never_overflows() -> None:
    rl: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter()
    assert [rl.when("a") for _ in range(2000)][-1] == 1000.0


def test_fast_slow() -> None:
    rl: ItemFastSlowRateLimiter[str] = ItemFastSlowRateLimiter(0.1, 10.0, 2)
    assert [rl.when("a") for _ in range(4)] == [0.1, 0.1, 10.0, 10.0]


def test_bucket_refills_with_the_clock() -> None:
    clock = FakeClock()
    rl: BucketRateLimiter[str] = BucketRateLimiter(qps=10, burst=2, clock=clock)
    assert [rl.when("x") for _ in range(4)] == pytest.approx([0, 0, 0.1, 0.2])
    clock.step(1)  # refilled to the burst, minus what was borrowed
    assert rl.when("x") == 0


def test_default_controller_rate_limiter_is_max_of_both() -> None:
    clock = FakeClock()
    rl: MaxOfRateLimiter[str] = default_controller_rate_limiter(clock)
    delays = [rl.when(f"k{i}") for i in range(101)]
    assert delays[:100] == [0.005] * 100  # per-item backoff; the bucket's burst absorbs them
    assert delays[100] == pytest.approx(0.1)  # bucket empty: 10 qps
    assert rl.num_requeues("k0") == 1


async def test_rate_limited_requeue_forget_and_retries_metric() -> None:
    clock = FakeClock()
    q: RateLimitingQueue[str] = RateLimitingQueue(ItemExponentialFailureRateLimiter(1.0, 100.0), clock)
    q.add_rate_limited("a")  # 1 s
    clock.step(1)
    assert await _drain(q) == ["a"]
    q.add_rate_limited("a")  # 2 s
    clock.step(1.5)
    assert len(q) == 0
    clock.step(0.5)
    assert await _drain(q) == ["a"]
    assert q.num_requeues("a") == 2 and q.metrics()["retries"] == 2
    q.forget("a")
    q.add_rate_limited("a")
    clock.step(1)
    assert await _drain(q) == ["a"]
