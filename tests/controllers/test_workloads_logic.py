"""Table tests: CronJob, Endpoints, pod GC and node lifecycle logic (fake clock)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from controllers import cronjob, endpoints, nodelifecycle, podgc
from controllers.util import find_condition, timestamp
from tests.controllers._objects import T0, pod


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
