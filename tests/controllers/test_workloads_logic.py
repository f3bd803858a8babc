"""Table tests: cron schedules, CronJob, Endpoints, pod GC and node lifecycle logic (fake clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controllers import cron, cronjob, endpoints, nodelifecycle, podgc
from controllers.util import find_condition, timestamp
from tests.controllers._objects import T0, pod

# --- cron ---------------------------------------------------------------------------------------


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


def _cronjob(schedule: str = "*/5 * * * *", **spec: object) -> dict:
    return {
        "metadata": {
            "name": "nightly",
            "namespace": "default",
            "uid": "uid-cj",
            "creationTimestamp": timestamp(T0),
        },
        "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {}}}}, **spec},
        "status": {},
    }


def test_cronjob_schedule_and_job_name() -> None:
    # T0 = 2023-11-14T22:13:20Z; */5 → 22:15 next, nothing due yet.
    due = cronjob.most_recent_schedule(_cronjob(), T0)
    assert due.scheduled is None
    assert due.next_run == datetime(2023, 11, 14, 22, 15, tzinfo=UTC)
    due = cronjob.most_recent_schedule(_cronjob(), T0 + 12 * 60)  # 22:25:20 → 22:25 due, 3 runs missed
    assert due.scheduled == datetime(2023, 11, 14, 22, 25, tzinfo=UTC)
    assert due.missed == 3
    assert cronjob.job_name("nightly", due.scheduled) == f"nightly-{int(due.scheduled.timestamp()) // 60}"
    # startingDeadlineSeconds=10: 22:25 is more than 10 s ago, so that run is missed.
    late = cronjob.most_recent_schedule(_cronjob(startingDeadlineSeconds=10), T0 + 12 * 60)
    assert late.scheduled is None and late.next_run == datetime(2023, 11, 14, 22, 30, tzinfo=UTC)
    j = cronjob.job_from_template(_cronjob(), due.scheduled)
    assert j["metadata"]["annotations"][cronjob.SCHEDULED_TIMESTAMP] == "2023-11-14T22:25:00Z"
    assert j["metadata"]["ownerReferences"][0]["kind"] == "CronJob"


def test_cronjob_time_zone() -> None:
    due = cronjob.most_recent_schedule(_cronjob("0 0 * * *", timeZone="Asia/Tokyo"), T0)
    assert due.next_run == datetime(2023, 11, 15, 15, 0, tzinfo=UTC)  # midnight in Tokyo


def test_cronjob_every() -> None:
    # T0 = 2023-11-14T22:13:20Z (the creation time); @every 90s: 22:14:50, 22:16:20, ...
    every = _cronjob("@every 90s")
    due = cronjob.most_recent_schedule(every, T0 + 60)
    assert due.scheduled is None and due.next_run == datetime(2023, 11, 14, 22, 14, 50, tzinfo=UTC)
    due = cronjob.most_recent_schedule(every, T0 + 200)  # 22:16:40: two runs passed
    assert due.scheduled == datetime(2023, 11, 14, 22, 16, 20, tzinfo=UTC) and due.missed == 2
    assert due.next_run == datetime(2023, 11, 14, 22, 17, 50, tzinfo=UTC)
    # relative to the last activation, however far behind: still on the same grid
    every["status"]["lastScheduleTime"] = timestamp(T0 + 90)
    due = cronjob.most_recent_schedule(every, T0 + 90 + 1000 * 90 + 5)
    assert due.scheduled == datetime.fromtimestamp(T0 + 90 + 1000 * 90, UTC) and due.missed == 1000
    # startingDeadlineSeconds moves the earliest time to now - deadline
    late = cronjob.most_recent_schedule(_cronjob("@every 1h", startingDeadlineSeconds=60), T0 + 7200)
    assert late.scheduled is None and late.next_run == datetime.fromtimestamp(T0 + 7200 - 60 + 3600, UTC)


def test_cronjob_tz_prefix() -> None:
    due = cronjob.most_recent_schedule(_cronjob("TZ=Asia/Tokyo 0 0 * * *"), T0)
    assert due.next_run == datetime(2023, 11, 15, 15, 0, tzinfo=UTC)  # midnight in Tokyo


def test_cronjob_history_limits() -> None:
    def finished(name: str, ok: bool, start: float) -> dict:
        ctype = "Complete" if ok else "Failed"
        return {
            "metadata": {"name": name, "creationTimestamp": timestamp(start)},
            "status": {"startTime": timestamp(start), "conditions": [{"type": ctype, "status": "True"}]},
        }

    jobs = [finished(f"ok{i}", True, T0 + i) for i in range(5)] + [
        finished(f"bad{i}", False, T0 + i) for i in range(3)
    ]
    names = [j["metadata"]["name"] for j in cronjob.history_to_delete(_cronjob(), jobs)]
    assert names == ["ok0", "ok1", "bad0", "bad1"]


# --- endpoints ----------------------------------------------------------------------------------


def _svc(target: int | str) -> dict:
    return {
        "metadata": {"name": "api", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "web", "port": 80, "targetPort": target}]},
    }


def _pod_ip(name: str, ready: bool, port_name: str = "http") -> dict:
    p = pod(name, node="n1", phase="Running", ready=ready)
    p["status"]["podIP"] = f"10.0.0.{len(name)}"
    p["spec"]["containers"][0]["ports"] = [{"name": port_name, "containerPort": 8080}]
    return p


def test_endpoints_ready_and_not_ready_with_named_port() -> None:
    subsets = endpoints.desired_subsets(
        _svc("http"), [_pod_ip("a", True), _pod_ip("bb", False), _pod_ip("ccc", True, "other")]
    )
    assert len(subsets) == 1
    assert [a["targetRef"]["name"] for a in subsets[0]["addresses"]] == ["a"]
    assert [a["targetRef"]["name"] for a in subsets[0]["notReadyAddresses"]] == ["bb"]
    assert subsets[0]["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]


def test_endpoints_numeric_target_port_and_publish_not_ready() -> None:
    svc = _svc(9090)
    svc["spec"]["publishNotReadyAddresses"] = True
    subsets = endpoints.desired_subsets(svc, [_pod_ip("a", False)])
    assert subsets[0]["ports"][0]["port"] == 9090
    assert len(subsets[0]["addresses"]) == 1


# --- pod GC -------------------------------------------------------------------------------------


def test_podgc_deletes_oldest_terminated_above_threshold() -> None:
    pods = [pod(f"p{i}", phase="Succeeded", created=T0 + i) for i in range(5)] + [
        pod("live", phase="Running")
    ]
    assert [p["metadata"]["name"] for p in podgc.terminated_to_delete(pods, 3)] == ["p0", "p1"]
    assert podgc.terminated_to_delete(pods, 0) == []


# --- node lifecycle -----------------------------------------------------------------------------


def test_unknown_conditions_and_taints() -> None:
    conds = nodelifecycle.unknown_conditions(
        [{"type": "Ready", "status": "True", "reason": "KubeletReady"}], T0
    )
    ready = find_condition(conds, "Ready")
    assert ready is not None
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown",
        "NodeStatusUnknown",
        "Kubelet stopped posting node status.",
    )
    taints = nodelifecycle.desired_taints({"spec": {}, "status": {"conditions": conds}}, T0)
    assert {(t["key"], t["effect"]) for t in taints} == {
        ("node.kubernetes.io/unreachable", "NoSchedule"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
    }


@pytest.mark.parametrize(
    ("tolerations", "seconds"),
    [
        ([], 0.0),
        (
            [
                {
                    "key": "node.kubernetes.io/unreachable",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
            ],
            300.0,
        ),
        ([{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"}], None),
        ([{"operator": "Exists"}], None),
        ([{"key": "other", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}], 0.0),
    ],
    ids=["none", "default-300", "forever", "tolerate-everything", "other-key"],
)
def test_toleration_seconds(tolerations: list[dict], seconds: float | None) -> None:
    p = pod("a")
    p["spec"]["tolerations"] = tolerations
    taint = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}
    assert nodelifecycle.toleration_seconds(p, taint) == seconds
