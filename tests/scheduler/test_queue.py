"""The scheduling queue: ordering, backoff, moves on cluster events (a fake clock, no sleeps).

Upstream: pkg/scheduler/backend/queue/scheduling_queue_test.go.
"""

from __future__ import annotations

import pytest

from scheduler.queue import SchedulingQueue, backoff_duration
from tests.scheduler.builders import pod


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (20, 10.0)],
    ids=["first", "second", "third", "fourth", "capped", "long-capped"],
)
def test_backoff_duration(attempts: int, seconds: float) -> None:
    assert backoff_duration(attempts) == seconds


def test_pops_by_priority_then_age(clock: Clock) -> None:
    q = SchedulingQueue(clock)
    for name, prio in (("low-old", 0), ("high", 100), ("low-new", 0)):
        q.add(pod(name, priority=prio))
        clock.t += 1
    order = []
    while (qpi := q.pop_nowait()) is not None:
        order.append(qpi.pod["metadata"]["name"])
    assert order == ["high", "low-old", "low-new"]


def test_unschedulable_waits_for_an_event_then_backs_off(clock: Clock) -> None:
    q = SchedulingQueue(clock)
    q.add(pod("p"))
    qpi = q.pop_nowait()
    assert qpi is not None
    q.add_unschedulable(qpi, q.scheduling_cycle)
    assert q.counts() == {"active": 0, "backoff": 0, "unschedulable": 1}
    clock.t += 60
    assert q.pop_nowait() is None  # no event: it stays put
    assert q.move_all_to_active_or_backoff("NodeAdd") == 1
    assert q.pop_nowait() is not None  # its 1 s backoff expired long ago


def test_event_during_backoff_goes_to_backoff_queue(clock: Clock) -> None:
    q = SchedulingQueue(clock)
    q.add(pod("p"))
    qpi = q.pop_nowait()
    assert qpi is not None
    q.add_unschedulable(qpi, q.scheduling_cycle)
    q.move_all_to_active_or_backoff("NodeAdd")
    assert q.counts()["backoff"] == 1
    assert q.pop_nowait() is None
    clock.t += 1.01
    assert q.pop_nowait() is qpi
    assert qpi.attempts == 2


def test_event_while_in_flight_sends_failure_to_backoff(clock: Clock) -> None:
    q = SchedulingQueue(clock)
    q.add(pod("p"))
    qpi = q.pop_nowait()
    assert qpi is not None
    cycle = q.scheduling_cycle
    q.move_all_to_active_or_backoff("NodeAdd")  # arrives while "p" is being scheduled
    q.add_unschedulable(qpi, cycle)
    assert q.counts() == {"active": 0, "backoff": 1, "unschedulable": 0}


def test_leftover_unschedulable_retried_after_five_minutes(clock: Clock) -> None:
    q = SchedulingQueue(clock)
    q.add(pod("p"))
    qpi = q.pop_nowait()
    assert qpi is not None
    q.add_unschedulable(qpi, q.scheduling_cycle)
    clock.t += 301
    assert q.pop_nowait() is qpi


def test_deleted_pod_is_not_requeued(clock: Clock) -> None:
    q = SchedulingQueue(clock)
    p = pod("p")
    q.add(p)
    qpi = q.pop_nowait()
    assert qpi is not None
    q.delete(p)
    q.add_unschedulable(qpi, q.scheduling_cycle)
    assert q.counts() == {"active": 0, "backoff": 0, "unschedulable": 0}


def test_update_of_unschedulable_pod_requeues_it(clock: Clock) -> None:
    q = SchedulingQueue(clock)
    q.add(pod("p"))
    qpi = q.pop_nowait()
    assert qpi is not None
    q.add_unschedulable(qpi, q.scheduling_cycle)
    clock.t += 5
    q.update(pod("p", tolerations=[{"operator": "Exists"}]))
    popped = q.pop_nowait()
    assert popped is not None
    assert popped.pod["spec"]["tolerations"] == [{"operator": "Exists"}]


async def test_pop_waits_for_add(clock: Clock) -> None:
    import asyncio

    q = SchedulingQueue(clock)
    task = asyncio.create_task(q.pop())
    await asyncio.sleep(0)
    q.add(pod("p"))
    qpi = await asyncio.wait_for(task, 1)
    assert qpi is not None
    q.close()
    assert await q.pop() is None
