"""CronJob validation: ``spec.schedule`` is what robfig/cron's ParseStandard accepts, in its words."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.registry.workloads import CronJobStrategy


def _cronjob(schedule: str, **spec: Any) -> dict[str, Any]:
    template = {"spec": {"containers": [{"name": "c", "image": "busybox"}], "restartPolicy": "Never"}}
    return {
        "metadata": {"name": "cj", "namespace": "default", "resourceVersion": "1"},
        "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": template}}, **spec},
    }


def _errors(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    strategy = CronJobStrategy("CronJob", True)
    errs = strategy.validate(obj) if old is None else strategy.validate_update(obj, old)
    return [str(e) for e in errs]


@pytest.mark.parametrize(
    "schedule",
    ["*/5 * * * *", "0 9-17 * * mon-fri", "@hourly", "@annually", "@every 1h30m", "@every 90s", "@every 0s"],
)
def test_accepts(schedule: str) -> None:
    assert _errors(_cronjob(schedule)) == []


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ("* * * *", 'spec.schedule: Invalid value: "* * * *": expected exactly 5 fields, found 4: [* * * *]'),
        (
            "0 0 * * * *",
            'spec.schedule: Invalid value: "0 0 * * * *": expected exactly 5 fields, found 6: [0 0 * * * *]',
        ),
        ("@often", 'spec.schedule: Invalid value: "@often": unrecognized descriptor: @often'),
        (
            "@every 1d",
            'spec.schedule: Invalid value: "@every 1d": failed to parse duration @every 1d: '
            'time: unknown unit "d" in duration "1d"',
        ),
        (
            "61 * * * *",
            'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61',
        ),
        (
            "TZ=UTC 0 0 * * *",
            'spec.schedule: Invalid value: "TZ=UTC 0 0 * * *": cannot use TZ or CRON_TZ in schedule, '
            "use timeZone field instead",
        ),
        ("", "spec.schedule: Required value"),
    ],
    ids=["four-fields", "six-fields", "descriptor", "every-days", "range", "tz", "empty"],
)
def test_rejects(schedule: str, message: str) -> None:
    assert _errors(_cronjob(schedule)) == [message]


def test_update_keeps_an_existing_tz_prefix() -> None:
    old = _cronjob("TZ=UTC 0 0 * * *")
    assert _errors(_cronjob("TZ=UTC 0 1 * * *"), old) == []
    both = _cronjob("TZ=UTC 0 1 * * *", timeZone="UTC")
    assert _errors(both, old) == [
        'spec.schedule: Invalid value: "TZ=UTC 0 1 * * *": cannot use both timeZone field and TZ or CRON_TZ in schedule'
    ]
    assert _errors(_cronjob("TZ=UTC 0 1 * * *"), _cronjob("0 0 * * *"))[0].endswith(
        "use timeZone field instead"
    )
