"""The flowcontrol back-off behind CrashLoopBackOff (client-go util/flowcontrol/backoff.go)."""

from __future__ import annotations

import pytest

from kubelet.backoff import Backoff, go_duration


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (10, "10s"),
        (20, "20s"),
        (80, "1m20s"),
        (160, "2m40s"),
        (300, "5m0s"),
        (0.5, "500ms"),
        (3600, "1h0m0s"),
        (1.5, "1.5s"),
        (0.0004, "0s"),  # truncated to milliseconds first, as the kubelet's messages are
        (0.0129, "12ms"),
    ],
    ids=lambda v: str(v),
)
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_delay_doubles_to_the_cap_and_resets_after_twice_the_cap() -> None:
    now = [0.0]
    b = Backoff(lambda: now[0])
    seen = []
    for _ in range(7):
        b.next("k", now[0])
        seen.append(b.get("k"))
        now[0] += b.get("k")
    assert seen == [10, 20, 40, 80, 160, 300, 300]
    now[0] += 601  # ran fine for more than 10 minutes
    b.next("k", now[0])
    assert b.get("k") == 10


@pytest.mark.parametrize(
    ("finished_ago", "in_backoff"),
    [(0, True), (9.9, True), (10.1, False), (700, False)],
    ids=["just-finished", "almost", "after", "expired"],
)
def test_in_backoff_since(finished_ago: float, in_backoff: bool) -> None:
    now = [1000.0]
    b = Backoff(lambda: now[0])
    b.next("k", 1000.0 - finished_ago)
    assert b.in_backoff_since("k", 1000.0 - finished_ago) is in_backoff
