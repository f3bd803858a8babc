"""client/reconcile.py: what each reconcile outcome does to the key (fake clock, no server)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from client.clock import FakeClock
from client.informer import SharedInformer
from client.reconcile import Controller, Result, TerminalError, enqueue_owner
from client.rest import CONFIGMAPS, RESTClient
from client.workqueue import ItemExponentialFailureRateLimiter


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def _controller(outcome: Any, clock: FakeClock, calls: list[str]) -> Controller:
    async def reconcile(key: str) -> Result | None:
        calls.append(key)
        if isinstance(outcome, Exception) and len(calls) <= 2:
            raise outcome
        return outcome if not isinstance(outcome, Exception) else None

    return Controller(
        "test", reconcile, rate_limiter=ItemExponentialFailureRateLimiter(1.0, 60.0), clock=clock
    )


@pytest.mark.parametrize(
    ("outcome", "steps", "total"),
    [
        # (what reconcile returns or raises, [(seconds to advance, calls so far)], counter)
        (None, [(0, 1), (100, 1)], "success"),
        (Result(requeue_after=30), [(0, 1), (29, 1), (1, 2)], "requeue_after"),
        (Result(requeue=True), [(0, 1), (1, 2), (2, 3)], "requeue"),  # 1 s, then 2 s backoff
        (RuntimeError("flaky"), [(0, 1), (1, 2), (2, 3), (100, 3)], "error"),  # fails twice, then succeeds
        (TerminalError("bad spec"), [(0, 1), (100, 1)], "terminal"),
    ],
    ids=["done", "requeue-after", "requeue", "error-backs-off", "terminal"],
)
async def test_outcomes(outcome: Any, steps: list[tuple[float, int]], total: str) -> None:
    clock = FakeClock()
    calls: list[str] = []
    c = _controller(outcome, clock, calls)
    task = asyncio.create_task(c.run())
    try:
        c.queue.add("ns/a")
        for advance, expected in steps:
            clock.step(advance)
            await _settle()
            assert len(calls) == expected, (advance, calls)
        assert c.totals[total] >= 1
        if total == "error":
            assert c.queue.num_requeues("ns/a") == 0, "success forgets the failures"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_workers_never_share_a_key_and_shutdown_waits_for_work_in_hand() -> None:
    running: set[str] = set()
    overlaps: list[str] = []
    done: list[str] = []

    async def reconcile(key: str) -> None:
        if key in running:
            overlaps.append(key)
        running.add(key)
        await asyncio.sleep(0.01)
        running.discard(key)
        done.append(key)

    c = Controller("test", reconcile, workers=4)
    task = asyncio.create_task(c.run())
    for _ in range(3):
        for k in ("a", "b", "c"):
            c.queue.add(k)
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.1)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert overlaps == [] and set(done) == {"a", "b", "c"}
    assert c.queue.shutting_down()


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        ([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "controller": True}], ["ns/rs"]),
        ([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs"}], []),  # not the controller
        ([{"apiVersion": "v1", "kind": "ReplicaSet", "name": "rs", "controller": True}], []),  # other group
        ([], []),
    ],
    ids=["controller-owner", "non-controller", "wrong-group", "no-owner"],
)
def test_enqueue_owner(refs: list[dict[str, Any]], expected: list[str]) -> None:
    pod = {"metadata": {"namespace": "ns", "name": "p", "ownerReferences": refs}}
    assert enqueue_owner("ReplicaSet", "apps")(pod) == expected


async def test_a_controller_reconciles_what_its_informer_sees(rest: RESTClient, ns: str) -> None:
    reconciled = asyncio.Event()

    async def reconcile(key: str) -> None:
        if key == f"{ns}/a":
            reconciled.set()

    informer = SharedInformer.for_resource(rest, CONFIGMAPS, namespace=ns)
    c = Controller("configmaps", reconcile)
    c.watch(informer)
    async with informer:
        task = asyncio.create_task(c.run())
        try:
            await rest.create(CONFIGMAPS, {"metadata": {"name": "a"}}, namespace=ns)
            async with asyncio.timeout(10):
                await reconciled.wait()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
