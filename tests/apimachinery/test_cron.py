"""apimachinery/cron.py: robfig/cron v3's ParseStandard and Next, as table tests."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from apimachinery import cron


@pytest.mark.parametrize(
    ("spec", "after", "expected"),
    [
        ("*/15 * * * *", datetime(2024, 1, 1, 10, 7), datetime(2024, 1, 1, 10, 15)),
        ("0 9-17/4 * * *", datetime(2024, 1, 1, 10, 0), datetime(2024, 1, 1, 13, 0)),
        ("30 2 * * sun", datetime(2024, 1, 1), datetime(2024, 1, 7, 2, 30)),
        ("0 0 1 jan,jul *", datetime(2024, 2, 1), datetime(2024, 7, 1)),
        ("@hourly", datetime(2024, 1, 1, 10, 0), datetime(2024, 1, 1, 11, 0)),
        ("@daily", datetime(2024, 1, 1, 10, 0), datetime(2024, 1, 2)),
        ("@weekly", datetime(2024, 1, 1), datetime(2024, 1, 7)),
        ("@monthly", datetime(2024, 1, 31), datetime(2024, 2, 1)),
        ("@yearly", datetime(2024, 6, 1), datetime(2025, 1, 1)),
        ("0 12 1 * mon", datetime(2024, 1, 1, 12, 0), datetime(2024, 1, 8, 12, 0)),  # dom OR dow
        ("0 0 29 2 *", datetime(2024, 3, 1), datetime(2028, 2, 29)),
        ("5/20 * * * *", datetime(2024, 1, 1, 0, 30), datetime(2024, 1, 1, 0, 45)),
        ("0 0 30 2 *", datetime(2024, 1, 1), None),
    ],
    ids=[
        "step",
        "range-step",
        "weekday-name",
        "month-list",
        "hourly",
        "daily",
        "weekly",
        "monthly",
        "yearly",
        "dom-or-dow",
        "leap-day",
        "start-step",
        "never",
    ],
)
def test_cron_next(spec: str, after: datetime, expected: datetime | None) -> None:
    assert cron.next_after(cron.parse(spec), after) == expected


@pytest.mark.parametrize(
    ("spec", "error"),
    [
        ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
        ("60 * * * *", "end of range (60) above maximum (59): 60"),
        ("* * * * 7", "end of range (7) above maximum (6): 7"),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("*/2/2 * * * *", "too many slashes: */2/2"),
        ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
        ("", "empty spec string"),
        ("@often", "unrecognized descriptor: @often"),
        ("@hourly ", "unrecognized descriptor: @hourly "),
        ("@every", "unrecognized descriptor: @every"),
        ("@every 1d", 'failed to parse duration @every 1d: time: unknown unit "d" in duration "1d"'),
        ("@every 5", 'failed to parse duration @every 5: time: missing unit in duration "5"'),
        ("@every ", 'failed to parse duration @every : time: invalid duration ""'),
        ("@every  1h", 'failed to parse duration @every  1h: time: invalid duration " 1h"'),
        ("TZ=Mars/Olympus 0 0 * * *", "provided bad location Mars/Olympus: unknown time zone Mars/Olympus"),
    ],
    ids=lambda v: v if v else "empty",
)
def test_cron_rejects(spec: str, error: str) -> None:
    with pytest.raises(cron.CronError) as err:
        cron.parse(spec)
    assert str(err.value) == error


@pytest.mark.parametrize(
    ("spec", "seconds"),
    [
        ("@every 1h30m", 5400),
        ("@every 90s", 90),
        ("@every 1.5m", 90),
        ("@every 2500ms", 2),  # truncated to whole seconds
        ("@every 0s", 1),  # at least one second
        ("@every 10us", 1),
        ("@every -1h", 1),
        ("@every 1h0m0.5s", 3600),
    ],
    ids=["hours-minutes", "seconds", "fraction", "millis-truncated", "zero", "micro", "negative", "mixed"],
)
def test_cron_every(spec: str, seconds: int) -> None:
    schedule = cron.parse(spec)
    assert schedule == cron.Every(seconds)
    # ConstantDelaySchedule.Next: the previous activation, on the second, plus the delay
    after = datetime(2024, 1, 1, 10, 0, 0, 700_000)
    assert cron.next_after(schedule, after) == datetime(2024, 1, 1, 10, 0) + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    "spec",
    [
        "*/5 * * * *",
        " 0  0 * * * ",
        "0 0 1,,15 * *",
        "0 0 * * */1",
        "@annually",
        "@midnight",
        "TZ=UTC 0 0 * * *",
    ],
    ids=["step", "extra-spaces", "empty-list-item", "star-step-1", "annually", "midnight", "tz-prefix"],
)
def test_cron_accepts(spec: str) -> None:
    assert isinstance(cron.parse(spec), cron.Schedule)
