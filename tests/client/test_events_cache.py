"""The correlator on a fake clock: aggregation, counting, the spam filter.

Upstream: client-go tools/record/events_cache_test.go (TestEventAggregatorByReasonFunc,
TestEventCorrelator, TestEventSpamFilter).
"""

from __future__ import annotations

from typing import Any

import pytest

from client.clock import FakeClock
from client.events_cache import (
    AGGREGATE_PREFIX,
    CorrelatorOptions,
    EventCorrelator,
    TokenBucket,
    aggregate_keys,
    event_key,
    spam_key,
)

WALL = 1_700_000_000_000_000_000


def event(
    message: str = "m",
    *,
    reason: str = "Reason",
    name: str = "web",
    uid: str = "u1",
    type_: str = "Normal",
    field_path: str = "",
    host: str = "",
) -> dict[str, Any]:
    ref = {"kind": "Pod", "namespace": "ns", "name": name, "uid": uid, "apiVersion": "v1"}
    if field_path:
        ref["fieldPath"] = field_path
    return {
        "metadata": {"name": f"{name}.1", "namespace": "ns"},
        "involvedObject": ref,
        "reason": reason,
        "message": message,
        "type": type_,
        "source": {"component": "c", **({"host": host} if host else {})},
        "count": 1,
        "firstTimestamp": "2023-11-14T22:13:20Z",
        "lastTimestamp": "2023-11-14T22:13:20Z",
        "reportingComponent": "c",
        "reportingInstance": host,
    }


def correlator(clock: FakeClock, **options: Any) -> EventCorrelator:
    return EventCorrelator(
        CorrelatorOptions(clock=clock, wall_ns=lambda: WALL + int(clock.now() * 1e9), **options)
    )


@pytest.mark.parametrize(
    ("a", "b", "same_event", "same_spam", "same_group"),
    [
        (event(), event(), True, True, True),
        (event("x"), event("y"), False, True, True),
        (event(reason="A"), event(reason="B"), False, True, False),
        (event(type_="Normal"), event(type_="Warning"), False, True, False),
        (event(field_path="spec.containers{a}"), event(field_path="spec.containers{b}"), False, True, True),
        (event(uid="u1"), event(uid="u2"), False, False, False),
        (event(host="n1"), event(host="n2"), False, False, False),
    ],
    ids=["identical", "message", "reason", "type", "fieldPath", "uid", "host"],
)
def test_keys(
    a: dict[str, Any], b: dict[str, Any], same_event: bool, same_spam: bool, same_group: bool
) -> None:
    assert (event_key(a) == event_key(b)) is same_event
    assert (spam_key(a) == spam_key(b)) is same_spam
    assert (aggregate_keys(a)[0] == aggregate_keys(b)[0]) is same_group


def test_a_new_event_is_created_as_is() -> None:
    result = correlator(FakeClock()).correlate(event())
    assert not result.skip and result.patch is None
    assert result.event == event()


def test_an_identical_event_becomes_a_patch_of_the_first() -> None:
    clock = FakeClock()
    c = correlator(clock)
    first = c.correlate(event()).event
    assert first is not None
    c.update_state({**first, "metadata": {**first["metadata"], "resourceVersion": "7"}})
    clock.step(30)
    again = event()
    again["metadata"]["name"] = "web.2"
    again["lastTimestamp"] = "2023-11-14T22:13:50Z"
    result = c.correlate(again)
    assert result.event is not None
    assert result.event["metadata"] == {"name": "web.1", "namespace": "ns", "resourceVersion": "7"}
    assert result.event["count"] == 2
    assert result.event["firstTimestamp"] == "2023-11-14T22:13:20Z"
    assert result.patch == {"count": 2, "lastTimestamp": "2023-11-14T22:13:50Z", "message": "m"}
    assert c.correlate(again).patch == {"count": 3, "lastTimestamp": "2023-11-14T22:13:50Z", "message": "m"}


@pytest.mark.parametrize(
    ("distinct", "step", "aggregated_from"),
    [
        (9, 1.0, None),  # below the threshold: nine events, nine creates
        (10, 1.0, 10),  # the tenth distinct message is combined
        (12, 1.0, 10),  # and so is every one after it
        (12, 61.0, 10),  # 671 s in all, but each within 600 s of the previous similar one
        (10, 601.0, None),  # more than 10 minutes between similar events: counting starts again
    ],
    ids=["nine", "tenth-aggregates", "after-the-tenth", "spread-out", "interval-expired"],
)
def test_aggregation(distinct: int, step: float, aggregated_from: int | None) -> None:
    clock = FakeClock()
    c = correlator(clock, burst=100)
    results = []
    for i in range(distinct):
        results.append(c.correlate(event(f"message {i}")))
        clock.step(step)
    combined = [
        i + 1 for i, r in enumerate(results) if r.event and r.event["message"].startswith(AGGREGATE_PREFIX)
    ]
    assert combined[:1] == ([aggregated_from] if aggregated_from else [])
    if aggregated_from:
        first = results[aggregated_from - 1]
        assert first.event is not None and first.patch is None  # the aggregate is created once
        assert first.event["message"] == f"{AGGREGATE_PREFIX}message {aggregated_from - 1}"
        assert first.event["involvedObject"] == event()["involvedObject"]
        for later in results[aggregated_from:]:  # later ones bump its count
            assert later.event is not None and later.patch is not None
            assert later.event["metadata"]["name"] == first.event["metadata"]["name"]


def test_the_spam_filter_allows_a_burst_then_one_per_five_minutes() -> None:
    clock = FakeClock()
    c = correlator(clock)
    results = [c.correlate(event(reason=f"R{i}")) for i in range(30)]  # distinct reasons: no aggregation
    assert [r.skip for r in results] == [False] * 25 + [True] * 5
    clock.step(299)
    assert c.correlate(event(reason="late")).skip
    clock.step(2)  # 301 s since the burst: one token back
    assert not c.correlate(event(reason="later")).skip
    assert c.correlate(event(reason="latest")).skip
    assert not c.correlate(event(reason="other object", uid="u2")).skip  # a bucket per object


@pytest.mark.parametrize(
    ("qps", "burst", "steps", "accepted"),
    [
        (1.0, 2, [0, 0, 0], [True, True, False]),
        (1.0, 2, [0, 0, 0, 1.0], [True, True, False, True]),
        (0.5, 1, [0, 1.0, 1.0], [True, False, True]),
        (10.0, 1, [0, 100.0, 0, 0], [True, True, False, False]),  # refills up to the burst only
    ],
    ids=["burst", "refill", "slow-refill", "capped"],
)
def test_token_bucket(qps: float, burst: int, steps: list[float], accepted: list[bool]) -> None:
    clock = FakeClock()
    bucket = TokenBucket(qps, burst, clock)
    got = []
    for step in steps:
        clock.step(step)
        got.append(bucket.try_accept())
    assert got == accepted
