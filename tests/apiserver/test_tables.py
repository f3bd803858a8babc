"""Tests for server-side printing (apiserver/printers, the package apiserver/printers).

Cases are taken from upstream's tables where they exist:
``k8s.io/apimachinery/pkg/util/duration/duration_test.go`` and
``k8s.io/kubernetes/pkg/printers/internalversion/printers_test.go`` (TestPrintPod,
TestPrintPodWithRestartableInitContainer, TestPrintPodwide, TestPrintDeployment, ...),
translated from Go structs to the JSON dicts the server stores. A fixed ``NOW`` stands
in for ``time.Now()``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apiserver.printers import column_definitions, table_row_event, to_table, translate_timestamp_since
from apiserver.printers.core import format_endpoints, make_port_string, service_external_ip
from apiserver.printers.format import format_label_selector, human_duration, label_selector_string

NOW = datetime(2025, 1, 15, 12, 0, 0, tzinfo=UTC)


def ago(**kw: float) -> str:
    return (NOW - timedelta(**kw)).strftime("%Y-%m-%dT%H:%M:%SZ")


def cells(resource: str, obj: dict[str, Any]) -> list[Any]:
    return list(to_table(resource, [obj], now=NOW)["rows"][0]["cells"])


# --- HumanDuration (duration_test.go) -----------------------------------------------------

S, MIN, H, D = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
MS = timedelta(milliseconds=1)
Y = 365 * D


@pytest.mark.parametrize(
    ("d", "want"),
    [
        (S, "1s"),
        (70 * S, "70s"),
        (190 * S, "3m10s"),
        (70 * MIN, "70m"),
        (47 * H, "47h"),
        (49 * H, "2d1h"),
        ((8 * 24 + 2) * H, "8d"),
        (367 * D, "367d"),
        (2 * Y + 25 * H, "2y1d"),
        (8 * Y + 2 * H, "8y"),
        # TestHumanDurationBoundaries
        (-2 * S, "<invalid>"),
        (-2 * S + timedelta(microseconds=1), "0s"),
        (timedelta(0), "0s"),
        (S - MS, "0s"),
        (2 * MIN - MS, "119s"),
        (2 * MIN, "2m"),
        (2 * MIN + S, "2m1s"),
        (10 * MIN - MS, "9m59s"),
        (10 * MIN, "10m"),
        (10 * MIN + S, "10m"),
        (3 * H - MS, "179m"),
        (3 * H, "3h"),
        (3 * H + MIN, "3h1m"),
        (8 * H - MS, "7h59m"),
        (8 * H, "8h"),
        (8 * H + 59 * MIN, "8h"),
        (2 * D - MS, "47h"),
        (2 * D, "2d"),
        (2 * D + H, "2d1h"),
        (8 * D - MS, "7d23h"),
        (8 * D, "8d"),
        (8 * D + 23 * H, "8d"),
        (2 * Y - MS, "729d"),
        (2 * Y, "2y"),
        (2 * Y + 23 * H + 59 * MIN, "2y"),
        (2 * Y + D - MS, "2y"),
        (2 * Y + D, "2y1d"),
        (3 * Y, "3y"),
        (7 * Y, "7y"),
        (8 * Y - MS, "7y364d"),
        (8 * Y, "8y"),
        (8 * Y + 364 * D, "8y"),
        (9 * Y, "9y"),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else None,
)
def test_human_duration(d: timedelta, want: str) -> None:
    assert human_duration(d) == want


@pytest.mark.parametrize(
    ("stamp", "want"),
    [
        pytest.param((NOW + 2.1 * S).isoformat(), "<invalid>", id="a-while-from-now"),
        pytest.param((NOW + 1.9 * S).isoformat(), "0s", id="almost-now"),
        pytest.param(NOW.isoformat(), "0s", id="now"),
        pytest.param(None, "<unknown>", id="unknown"),
        pytest.param(ago(seconds=30), "30s", id="30-seconds-ago"),
        pytest.param(ago(minutes=5), "5m", id="5-minutes-ago"),
        pytest.param(ago(minutes=100), "100m", id="an-hour-ago"),
        pytest.param(ago(days=2), "2d", id="2-days-ago"),
        pytest.param(ago(days=90), "90d", id="months-ago"),
        pytest.param(ago(days=10 * 365), "10y", id="10-years-ago"),
    ],
)
def test_translate_timestamp_since(stamp: str | None, want: str) -> None:
    assert translate_timestamp_since(stamp, NOW) == want


# --- pods (TestPrintPod, TestPrintPodWithRestartableInitContainer) ---------------------------


def running(ready: bool = True, restarts: int = 0, last: str | None = None, **extra: Any) -> dict[str, Any]:
    status: dict[str, Any] = {"ready": ready, "restartCount": restarts, "state": {"running": {}}, **extra}
    if last:
        status["lastState"] = {"terminated": {"finishedAt": last}}
    return status


def pod(
    containers: int = 1,
    init: list[dict[str, Any]] | None = None,
    deleting: bool = False,
    **status: Any,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p"}
    if deleting:
        meta["deletionTimestamp"] = ago(seconds=10)
    return {
        "metadata": meta,
        "spec": {"containers": [{"name": f"c{i}"} for i in range(containers)], "initContainers": init or []},
        "status": status,
    }


SIDECARS = [
    {"name": "restartable-init-1", "restartPolicy": "Always"},
    {"name": "restartable-init-2", "restartPolicy": "Always"},
]
TWO_INITS = [{"name": "i0"}, {"name": "i1"}]

POD_CASES = [
    pytest.param(
        pod(2, phase="podPhase", containerStatuses=[running(restarts=3), {"restartCount": 3}]),
        ("1/2", "podPhase", "6"),
        id="test1-ready-count-and-restarts",
    ),
    pytest.param(
        pod(
            2,
            phase="podPhase",
            containerStatuses=[
                running(restarts=3),
                {"restartCount": 3, "state": {"waiting": {"reason": "ContainerWaitingReason"}}},
            ],
        ),
        ("1/2", "ContainerWaitingReason", "6"),
        id="test2-container-waiting-overwrites-phase",
    ),
    pytest.param(
        pod(
            2,
            phase="podPhase",
            containerStatuses=[
                {"restartCount": 3, "state": {"waiting": {"reason": "ContainerWaitingReason"}}},
                {"restartCount": 3, "state": {"terminated": {"reason": "ContainerTerminatedReason"}}},
            ],
        ),
        ("0/2", "ContainerWaitingReason", "6"),
        id="test3-first-container-wins",
    ),
    pytest.param(
        pod(2, phase="podPhase", containerStatuses=[running(restarts=3), {"ready": True, "restartCount": 3}]),
        ("1/2", "podPhase", "6"),
        id="test4-ready-is-not-enough",
    ),
    pytest.param(
        pod(
            2,
            phase="podPhase",
            reason="podReason",
            containerStatuses=[running(restarts=3), {"ready": True, "restartCount": 3}],
        ),
        ("1/2", "podReason", "6"),
        id="test5-status-reason-beats-phase",
    ),
    pytest.param(
        pod(
            2,
            phase="Running",
            containerStatuses=[
                {
                    "ready": True,
                    "restartCount": 3,
                    "state": {"terminated": {"reason": "Completed", "exitCode": 0}},
                },
                running(restarts=3),
            ],
        ),
        ("1/2", "NotReady", "6"),
        id="test6-completed-and-running-without-ready-condition",
    ),
    pytest.param(
        pod(
            2,
            phase="Running",
            conditions=[{"type": "Ready", "status": "True"}],
            containerStatuses=[
                {
                    "ready": True,
                    "restartCount": 3,
                    "state": {"terminated": {"reason": "Completed", "exitCode": 0}},
                },
                running(restarts=3),
            ],
        ),
        ("1/2", "Running", "6"),
        id="test6-completed-and-running-with-ready-condition",
    ),
    pytest.param(
        pod(
            1,
            init=[{"name": "i0"}],
            phase="podPhase",
            initContainerStatuses=[{"name": "i0", **running(ready=False, restarts=3, last=ago(seconds=10))}],
            containerStatuses=[{"restartCount": 0, "state": {"waiting": {}}}],
        ),
        ("0/1", "Init:0/1", "3 (10s ago)"),
        id="test7-init-container-restarting",
    ),
    pytest.param(
        pod(
            1,
            init=TWO_INITS,
            phase="podPhase",
            initContainerStatuses=[
                {"name": "i0", **running(ready=False, restarts=3, last=ago(seconds=10))},
                {"name": "i1", "state": {"waiting": {}}},
            ],
            containerStatuses=[{"state": {"waiting": {}}}],
        ),
        ("0/1", "Init:0/2", "3 (10s ago)"),
        id="test8-first-of-two-inits-restarting",
    ),
    pytest.param(
        pod(
            1,
            init=TWO_INITS,
            phase="podPhase",
            initContainerStatuses=[
                {"name": "i0", "state": {"terminated": {}}},
                {"name": "i1", **running(ready=False, restarts=3, last=ago(seconds=10))},
            ],
            containerStatuses=[{"state": {"waiting": {}}}],
        ),
        ("0/1", "Init:1/2", "3 (10s ago)"),
        id="test9-first-init-done",
    ),
    pytest.param(
        pod(
            1,
            init=TWO_INITS,
            phase="podPhase",
            initContainerStatuses=[
                {
                    "name": "i0",
                    "restartCount": 2,
                    "state": {"terminated": {}},
                    "lastState": {"terminated": {"finishedAt": ago(minutes=2)}},
                },
                {"name": "i1", **running(ready=False, restarts=3, last=ago(seconds=10))},
            ],
            containerStatuses=[{"state": {"waiting": {}}}],
        ),
        ("0/1", "Init:1/2", "5 (10s ago)"),
        id="test10-init-restarts-add-up",
    ),
    pytest.param(
        pod(
            1,
            init=[{"name": "i0"}],
            phase="Running",
            initContainerStatuses=[
                {
                    "name": "i0",
                    "restartCount": 2,
                    "state": {"terminated": {}},
                    "lastState": {"terminated": {"finishedAt": ago(minutes=2)}},
                }
            ],
            containerStatuses=[running(ready=False, restarts=4, last=ago(seconds=20))],
        ),
        ("0/1", "Running", "4 (20s ago)"),
        id="test11-init-restarts-forgotten-once-initialised",
    ),
    pytest.param(
        pod(1, phase="Running", containerStatuses=[running(restarts=3, last=ago(days=5))]),
        ("1/1", "Running", "3 (5d ago)"),
        id="test12-restarted-5d-ago",
    ),
    pytest.param(
        pod(2, phase="Running", containerStatuses=[running(), running(restarts=3, last=ago(days=10))]),
        ("2/2", "Running", "3 (10d ago)"),
        id="test13-one-never-restarted",
    ),
    pytest.param(
        pod(
            2,
            phase="Running",
            containerStatuses=[running(restarts=6, last=ago(days=5)), running(restarts=3, last=ago(days=20))],
        ),
        ("2/2", "Running", "9 (5d ago)"),
        id="test14-latest-restart-wins",
    ),
    pytest.param(
        pod(
            2,
            phase="podPhase",
            conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
        ),
        ("0/2", "SchedulingGated", "0"),
        id="test15-scheduling-gated",
    ),
    pytest.param(
        pod(
            1,
            phase="Succeeded",
            containerStatuses=[
                {"ready": False, "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}
            ],
        ),
        ("0/1", "Completed", "0"),
        id="test16-succeeded",
    ),
    pytest.param(
        pod(
            1,
            phase="Failed",
            containerStatuses=[{"ready": False, "state": {"terminated": {"reason": "Error", "exitCode": 1}}}],
        ),
        ("0/1", "Error", "0"),
        id="test17-failed",
    ),
    pytest.param(
        pod(
            1,
            deleting=True,
            phase="Succeeded",
            containerStatuses=[{"state": {"terminated": {"reason": "Completed", "exitCode": 0}}}],
        ),
        ("0/1", "Completed", "0"),
        id="test18-succeeded-while-deleting-stays-completed",
    ),
    pytest.param(
        pod(1, deleting=True, phase="Running", containerStatuses=[running(ready=False)]),
        ("0/1", "Terminating", "0"),
        id="test19-running-while-deleting-is-terminating",
    ),
    pytest.param(
        pod(1, deleting=True, phase="Pending"),
        ("0/1", "Terminating", "0"),
        id="test20-pending-while-deleting-is-terminating",
    ),
    pytest.param(
        pod(1, deleting=True, phase="Running", reason="NodeLost", containerStatuses=[running()]),
        ("1/1", "Unknown", "0"),
        id="node-lost-while-deleting-is-unknown",
    ),
    pytest.param(
        pod(
            1,
            init=[{"name": "i0"}],
            phase="Pending",
            initContainerStatuses=[
                {
                    "name": "i0",
                    "restartCount": 5,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"finishedAt": ago(minutes=1)}},
                }
            ],
        ),
        ("0/1", "Init:CrashLoopBackOff", "5 (60s ago)"),
        id="init-crashloop",
    ),
    pytest.param(
        pod(
            1,
            init=[{"name": "i0"}],
            phase="Pending",
            initContainerStatuses=[{"name": "i0", "state": {"terminated": {"exitCode": 2}}}],
        ),
        ("0/1", "Init:ExitCode:2", "0"),
        id="init-exit-code",
    ),
    pytest.param(
        pod(
            1,
            init=[{"name": "i0"}],
            phase="Pending",
            initContainerStatuses=[{"name": "i0", "state": {"terminated": {"exitCode": 137, "signal": 9}}}],
        ),
        ("0/1", "Init:Signal:9", "0"),
        id="init-signal",
    ),
    pytest.param(
        pod(
            1,
            init=[{"name": "i0"}],
            phase="Pending",
            initContainerStatuses=[{"name": "i0", "state": {"waiting": {"reason": "PodInitializing"}}}],
        ),
        ("0/1", "Init:0/1", "0"),
        id="init-podinitializing-is-not-a-reason",
    ),
    pytest.param(
        pod(1, phase="Pending", containerStatuses=[{"state": {"waiting": {"reason": "ContainerCreating"}}}]),
        ("0/1", "ContainerCreating", "0"),
        id="container-creating",
    ),
    pytest.param(
        pod(1, phase="Running", containerStatuses=[{"state": {"terminated": {"exitCode": 3}}}]),
        ("0/1", "ExitCode:3", "0"),
        id="container-exit-code",
    ),
    # TestPrintPodWithRestartableInitContainer
    pytest.param(
        pod(
            1,
            init=SIDECARS,
            phase="Pending",
            conditions=[{"type": "Initialized", "status": "False"}],
            initContainerStatuses=[
                {
                    "name": "restartable-init-1",
                    "started": False,
                    **running(ready=False, restarts=3, last=ago(seconds=10)),
                },
                {"name": "restartable-init-2", "started": False, "state": {"waiting": {}}},
            ],
            containerStatuses=[{"state": {"waiting": {}}}],
        ),
        ("0/3", "Init:0/2", "3 (10s ago)"),
        id="sidecar-running-not-started",
    ),
    pytest.param(
        pod(
            1,
            init=SIDECARS,
            phase="Pending",
            conditions=[{"type": "Initialized", "status": "False"}],
            initContainerStatuses=[
                {
                    "name": "restartable-init-1",
                    "started": True,
                    **running(ready=False, restarts=3, last=ago(seconds=10)),
                },
                {"name": "restartable-init-2", "started": False, **running(ready=False)},
            ],
            containerStatuses=[{"state": {"waiting": {}}}],
        ),
        ("0/3", "Init:1/2", "3 (10s ago)"),
        id="sidecar-first-started",
    ),
    pytest.param(
        pod(
            1,
            init=SIDECARS,
            phase="Running",
            conditions=[{"type": "Initialized", "status": "True"}],
            initContainerStatuses=[
                {
                    "name": "restartable-init-1",
                    "started": True,
                    **running(ready=False, restarts=3, last=ago(seconds=10)),
                },
                {"name": "restartable-init-2", "started": True, **running(ready=False)},
            ],
            containerStatuses=[running(restarts=4, last=ago(seconds=20))],
        ),
        ("1/3", "Running", "7 (10s ago)"),
        id="sidecars-started-app-running",
    ),
    pytest.param(
        pod(
            1,
            init=SIDECARS,
            phase="Succeeded",
            conditions=[{"type": "Initialized", "status": "True"}],
            initContainerStatuses=[
                {
                    "name": "restartable-init-1",
                    "started": False,
                    "restartCount": 3,
                    "state": {"terminated": {"reason": "Error", "exitCode": 137}},
                    "lastState": {"terminated": {"finishedAt": ago(seconds=10)}},
                },
                {
                    "name": "restartable-init-2",
                    "started": False,
                    "state": {"terminated": {"reason": "Error", "exitCode": 137}},
                },
            ],
            containerStatuses=[
                {
                    "restartCount": 4,
                    "state": {"terminated": {"reason": "Completed", "exitCode": 0}},
                    "lastState": {"terminated": {"finishedAt": ago(seconds=20)}},
                }
            ],
        ),
        ("0/3", "Completed", "7 (10s ago)"),
        id="sidecars-killed-app-completed",
    ),
    pytest.param(
        {
            "metadata": {"name": "p"},
            "spec": {
                "initContainers": [{"name": "init1"}, {"name": "sidecar1", "restartPolicy": "Always"}],
                "containers": [{"name": "container1"}],
            },
            "status": {
                "phase": "Running",
                "initContainerStatuses": [{"name": "initinvalid"}, {"name": "init1"}, {"name": "sidecar1"}],
                "containerStatuses": [{"name": "containerinvalid"}, {"name": "container1"}],
            },
        },
        ("0/2", "Init:0/2", "0"),
        id="statuses-for-unknown-containers",
    ),
]


@pytest.mark.parametrize(("obj", "want"), POD_CASES)
def test_pod_ready_status_restarts(obj: dict[str, Any], want: tuple[str, str, str]) -> None:
    assert tuple(cells("pods", obj)[1:4]) == want


@pytest.mark.parametrize(
    ("status", "spec", "want"),
    [
        pytest.param(
            {
                "podIPs": [{"ip": "1.1.1.1"}, {"ip": "2001:db8::"}],
                "nominatedNodeName": "node1",
                "conditions": [
                    {"type": "condition1", "status": "False"},
                    {"type": "condition2", "status": "True"},
                ],
            },
            {"nodeName": "test1", "readinessGates": [{"conditionType": f"condition{i}"} for i in (1, 2, 3)]},
            ["1.1.1.1", "test1", "node1", "1/3"],
            id="ip-node-nominated-gates",
        ),
        pytest.param({}, {}, ["<none>", "<none>", "<none>", "<none>"], id="all-none"),
        pytest.param({"podIP": "10.0.0.5"}, {}, ["10.0.0.5", "<none>", "<none>", "<none>"], id="podIP-only"),
    ],
)
def test_pod_wide_columns(status: dict[str, Any], spec: dict[str, Any], want: list[str]) -> None:
    obj = {"metadata": {"name": "p"}, "spec": {"containers": [], **spec}, "status": status}
    assert cells("pods", obj)[5:] == want


@pytest.mark.parametrize(
    ("phase", "conditions"),
    [
        pytest.param("Running", None, id="running-no-condition"),
        pytest.param(
            "Succeeded",
            [
                {
                    "type": "Completed",
                    "status": "True",
                    "reason": "Succeeded",
                    "message": "The pod has completed successfully.",
                }
            ],
            id="succeeded",
        ),
        pytest.param(
            "Failed",
            [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}],
            id="failed",
        ),
    ],
)
def test_pod_row_conditions(phase: str, conditions: list[dict[str, str]] | None) -> None:
    row = to_table("pods", [pod(1, phase=phase)], now=NOW)["rows"][0]
    assert row.get("conditions") == conditions


# --- nodes ----------------------------------------------------------------------------------


def node(
    conditions: list[dict[str, str]], unschedulable: bool = False, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "metadata": {"name": "n1", "labels": labels or {}, "creationTimestamp": ago(days=3)},
        "spec": {"unschedulable": unschedulable},
        "status": {
            "conditions": conditions,
            "nodeInfo": {
                "kubeletVersion": "v1.32.0",
                "osImage": "Debian",
                "kernelVersion": "6.1",
                "containerRuntimeVersion": "containerd://1.7",
            },
            "addresses": [
                {"type": "Hostname", "address": "n1"},
                {"type": "InternalIP", "address": "10.0.0.1"},
            ],
        },
    }


@pytest.mark.parametrize(
    ("obj", "status", "roles"),
    [
        pytest.param(node([{"type": "Ready", "status": "True"}]), "Ready", "<none>", id="ready"),
        pytest.param(node([{"type": "Ready", "status": "False"}]), "NotReady", "<none>", id="not-ready"),
        pytest.param(
            node([{"type": "Ready", "status": "Unknown"}]),
            "NotReady",
            "<none>",
            id="ready-unknown-is-notready",
        ),
        pytest.param(node([]), "Unknown", "<none>", id="no-ready-condition"),
        pytest.param(
            node([{"type": "Ready", "status": "True"}], unschedulable=True),
            "Ready,SchedulingDisabled",
            "<none>",
            id="cordoned",
        ),
        pytest.param(
            node([], unschedulable=True), "Unknown,SchedulingDisabled", "<none>", id="unknown-cordoned"
        ),
        pytest.param(
            node(
                [{"type": "Ready", "status": "True"}],
                labels={
                    "node-role.kubernetes.io/control-plane": "",
                    "node-role.kubernetes.io/": "x",
                    "kubernetes.io/role": "worker",
                },
            ),
            "Ready",
            "control-plane,worker",
            id="roles",
        ),
    ],
)
def test_node_status_and_roles(obj: dict[str, Any], status: str, roles: str) -> None:
    assert cells("nodes", obj) == [
        "n1",
        status,
        roles,
        "3d",
        "v1.32.0",
        "10.0.0.1",
        "<none>",
        "Debian",
        "6.1",
        "containerd://1.7",
    ]


# --- services ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ports", "want"),
    [
        pytest.param([], "", id="none"),
        pytest.param([{"port": 80, "protocol": "TCP"}], "80/TCP", id="one"),
        pytest.param(
            [{"port": 80, "protocol": "TCP", "nodePort": 30080}, {"port": 53, "protocol": "UDP"}],
            "80:30080/TCP,53/UDP",
            id="nodeport-and-udp",
        ),
    ],
)
def test_make_port_string(ports: list[dict[str, Any]], want: str) -> None:
    assert make_port_string(ports) == want


@pytest.mark.parametrize(
    ("spec", "status", "want"),
    [
        pytest.param({"type": "ClusterIP"}, {}, "<none>", id="clusterip"),
        pytest.param(
            {"type": "ClusterIP", "externalIPs": ["1.2.3.4", "5.6.7.8"]},
            {},
            "1.2.3.4,5.6.7.8",
            id="clusterip-external",
        ),
        pytest.param({"type": "NodePort"}, {}, "<none>", id="nodeport"),
        pytest.param({"type": "LoadBalancer"}, {}, "<pending>", id="lb-pending"),
        pytest.param(
            {"type": "LoadBalancer"},
            {"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}, {"hostname": "lb.example"}]}},
            "9.9.9.9,lb.example",
            id="lb-ingress",
        ),
        pytest.param(
            {"type": "LoadBalancer", "externalIPs": ["1.1.1.1"]},
            {"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}]}},
            "9.9.9.9,1.1.1.1",
            id="lb-ingress-and-external",
        ),
        pytest.param(
            {"type": "ExternalName", "externalName": "db.example.com"},
            {},
            "db.example.com",
            id="externalname",
        ),
        pytest.param({}, {}, "<unknown>", id="no-type"),
    ],
)
def test_service_external_ip(spec: dict[str, Any], status: dict[str, Any], want: str) -> None:
    assert service_external_ip({"spec": spec, "status": status}) == want


def test_service_row() -> None:
    svc = {
        "metadata": {"name": "web", "creationTimestamp": ago(minutes=5)},
        "spec": {
            "type": "NodePort",
            "clusterIP": "10.96.0.10",
            "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}],
            "selector": {"app": "web", "tier": "fe"},
        },
    }
    assert cells("services", svc) == [
        "web",
        "NodePort",
        "10.96.0.10",
        "<none>",
        "80:30080/TCP",
        "5m",
        "app=web,tier=fe",
    ]


@pytest.mark.parametrize(
    ("subsets", "want"),
    [
        pytest.param([], "<none>", id="no-subsets"),
        pytest.param([{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}], "10.0.0.1:80", id="one"),
        pytest.param(
            [{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}], "[fd00::1]:80", id="ipv6"
        ),
        pytest.param(
            [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]}],
            "10.0.0.1,10.0.0.2",
            id="headless-no-ports",
        ),
        pytest.param(
            [
                {
                    "addresses": [{"ip": f"10.0.0.{i}"} for i in range(1, 4)],
                    "ports": [{"port": 80}, {"port": 443}],
                }
            ],
            "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 3 more...",
            id="more",
        ),
    ],
)
def test_format_endpoints(subsets: list[dict[str, Any]], want: str) -> None:
    assert format_endpoints({"subsets": subsets}) == want


# --- workloads -----------------------------------------------------------------------------

TEMPLATE = {
    "spec": {
        "containers": [
            {"name": "fake-container1", "image": "fake-image1"},
            {"name": "fake-container2", "image": "fake-image2"},
        ]
    }
}


def test_deployment_row() -> None:
    d = {
        "metadata": {"name": "test1", "creationTimestamp": (NOW + 1.9 * S).strftime("%Y-%m-%dT%H:%M:%S.%fZ")},
        "spec": {"replicas": 5, "template": TEMPLATE, "selector": {"matchLabels": {"foo": "bar"}}},
        "status": {"replicas": 10, "updatedReplicas": 2, "availableReplicas": 1, "unavailableReplicas": 4},
    }
    assert cells("deployments", d) == [
        "test1",
        "0/5",
        2,
        1,
        "0s",
        "fake-container1,fake-container2",
        "fake-image1,fake-image2",
        "foo=bar",
    ]


def test_daemonset_row() -> None:
    ds = {
        "metadata": {"name": "test1", "creationTimestamp": ago(seconds=0)},
        "spec": {"template": TEMPLATE, "selector": {"matchLabels": {"foo": "bar"}}},
        "status": {
            "currentNumberScheduled": 2,
            "desiredNumberScheduled": 3,
            "numberReady": 1,
            "updatedNumberScheduled": 2,
            "numberAvailable": 0,
        },
    }
    assert cells("daemonsets.apps", ds) == [
        "test1",
        3,
        2,
        1,
        2,
        0,
        "<none>",
        "0s",
        "fake-container1,fake-container2",
        "fake-image1,fake-image2",
        "foo=bar",
    ]


@pytest.mark.parametrize(
    ("selector", "want", "formatted"),
    [
        pytest.param(None, "", "<none>", id="nil"),
        pytest.param({}, "", "<none>", id="empty"),
        pytest.param({"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2", "a=1,b=2", id="labels-sorted"),
        pytest.param(
            {
                "matchExpressions": [
                    {"key": "env", "operator": "In", "values": ["prod", "dev"]},
                    {"key": "canary", "operator": "DoesNotExist"},
                    {"key": "tier", "operator": "NotIn", "values": ["x"]},
                ]
            },
            "!canary,env in (dev,prod),tier notin (x)",
            "!canary,env in (dev,prod),tier notin (x)",
            id="expressions",
        ),
    ],
)
def test_label_selector_strings(selector: dict[str, Any] | None, want: str, formatted: str) -> None:
    assert label_selector_string(selector) == want
    assert format_label_selector(selector) == formatted


def test_invalid_selector() -> None:
    bad = {"matchExpressions": [{"key": "k", "operator": "In", "values": []}]}
    assert format_label_selector(bad) == "<error>"
    assert cells("deployments", {"metadata": {"name": "d"}, "spec": {"selector": bad}})[-1] == "<invalid>"


@pytest.mark.parametrize(
    ("spec", "status", "meta", "want"),
    [
        pytest.param(
            {"completions": 3},
            {"succeeded": 1, "startTime": ago(minutes=5)},
            {},
            ["Running", "1/3", "5m"],
            id="running",
        ),
        pytest.param(
            {"completions": 1},
            {
                "succeeded": 1,
                "startTime": ago(minutes=5),
                "completionTime": ago(minutes=2),
                "conditions": [{"type": "Complete", "status": "True"}],
            },
            {},
            ["Complete", "1/1", "3m"],
            id="complete",
        ),
        pytest.param(
            {"parallelism": 2},
            {"conditions": [{"type": "Failed", "status": "True"}]},
            {},
            ["Failed", "0/1 of 2", ""],
            id="failed-parallel",
        ),
        pytest.param(
            {},
            {"conditions": [{"type": "Suspended", "status": "True"}]},
            {},
            ["Suspended", "0/1", ""],
            id="suspended",
        ),
        pytest.param(
            {},
            {"conditions": [{"type": "FailureTarget", "status": "True"}]},
            {},
            ["FailureTarget", "0/1", ""],
            id="failure-target",
        ),
        pytest.param(
            {}, {}, {"deletionTimestamp": ago(seconds=1)}, ["Terminating", "0/1", ""], id="terminating"
        ),
    ],
)
def test_job_row(spec: dict[str, Any], status: dict[str, Any], meta: dict[str, Any], want: list[Any]) -> None:
    job = {"metadata": {"name": "j", **meta}, "spec": spec, "status": status}
    assert cells("jobs", job)[1:4] == want


def test_cronjob_row() -> None:
    cj = {
        "metadata": {"name": "cj", "creationTimestamp": ago(hours=1)},
        "spec": {
            "schedule": "*/5 * * * *",
            "suspend": False,
            "jobTemplate": {"spec": {"template": TEMPLATE}},
        },
        "status": {"active": [{"name": "cj-1"}], "lastScheduleTime": ago(minutes=3)},
    }
    assert cells("cronjobs", cj) == [
        "cj",
        "*/5 * * * *",
        "<none>",
        "False",
        1,
        "3m",
        "60m",
        "fake-container1,fake-container2",
        "fake-image1,fake-image2",
        "<none>",
    ]


@pytest.mark.parametrize(
    ("resource", "obj", "want"),
    [
        pytest.param(
            "namespaces",
            {"metadata": {"name": "default"}, "status": {"phase": "Active"}},
            ["default", "Active", "<unknown>"],
            id="namespace",
        ),
        pytest.param(
            "configmaps",
            {"metadata": {"name": "c"}, "data": {"a": "1"}, "binaryData": {"b": "AA=="}},
            ["c", 2, "<unknown>"],
            id="configmap",
        ),
        pytest.param(
            "secrets",
            {"metadata": {"name": "s"}, "type": "Opaque", "data": {"a": "MQ=="}},
            ["s", "Opaque", 1, "<unknown>"],
            id="secret",
        ),
        pytest.param(
            "serviceaccounts",
            {"metadata": {"name": "default"}},
            ["default", 0, "<unknown>"],
            id="serviceaccount",
        ),
        pytest.param(
            "leases",
            {"metadata": {"name": "l"}, "spec": {"holderIdentity": "node1"}},
            ["l", "node1", "<unknown>"],
            id="lease",
        ),
        pytest.param(
            "statefulsets",
            {
                "metadata": {"name": "db"},
                "spec": {"replicas": 3, "template": TEMPLATE},
                "status": {"readyReplicas": 2},
            },
            ["db", "2/3", "<unknown>", "fake-container1,fake-container2", "fake-image1,fake-image2"],
            id="statefulset",
        ),
        pytest.param(
            "replicasets",
            {
                "metadata": {"name": "rs"},
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "a"}}},
                "status": {"replicas": 3, "readyReplicas": 1},
            },
            ["rs", 3, 3, 1, "<unknown>", "", "", "app=a"],
            id="replicaset",
        ),
        pytest.param(
            "replicationcontrollers",
            {"metadata": {"name": "rc"}, "spec": {"selector": {"app": "a"}}},
            ["rc", 1, 0, 0, "<unknown>", "", "", "app=a"],
            id="replicationcontroller",
        ),
        pytest.param(
            "podtemplates",
            {
                "metadata": {"name": "pt"},
                "template": {"metadata": {"labels": {"foo": "bar"}}, "spec": {"containers": []}},
            },
            ["pt", "", "", "foo=bar"],
            id="podtemplate",
        ),
        pytest.param(
            "poddisruptionbudgets",
            {
                "metadata": {"name": "pdb"},
                "spec": {"minAvailable": "50%"},
                "status": {"disruptionsAllowed": 1},
            },
            ["pdb", "50%", "N/A", 1, "<unknown>"],
            id="pdb",
        ),
        pytest.param(
            "controllerrevisions",
            {
                "metadata": {
                    "name": "web-1",
                    "ownerReferences": [
                        {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "web", "controller": True}
                    ],
                },
                "revision": 2,
            },
            ["web-1", "daemonset.apps/web", 2, "<unknown>"],
            id="controllerrevision",
        ),
        pytest.param(
            "controllerrevisions",
            {"metadata": {"name": "orphan"}, "revision": 1},
            ["orphan", "<none>", 1, "<unknown>"],
            id="controllerrevision-orphan",
        ),
        pytest.param(
            "resourcequotas",
            {
                "metadata": {"name": "q"},
                "status": {
                    "hard": {"pods": "10", "limits.cpu": "2", "requests.cpu": "1"},
                    "used": {"pods": "3", "limits.cpu": "500m"},
                },
            },
            ["q", "pods: 3/10, requests.cpu: 0/1", "limits.cpu: 500m/2", "<unknown>"],
            id="resourcequota",
        ),
        pytest.param(
            "endpointslices",
            {
                "metadata": {"name": "es"},
                "addressType": "IPv4",
                "ports": [{"port": 80}, {"name": "http"}, {}, {"port": 8080}],
                "endpoints": [{"addresses": ["10.0.0.1"]}],
            },
            ["es", "IPv4", "80,http,* + 1 more...", "10.0.0.1", "<unknown>"],
            id="endpointslice",
        ),
        pytest.param(
            "endpointslices",
            {"metadata": {"name": "empty"}, "addressType": "IPv4"},
            ["empty", "IPv4", "<unset>", "<unset>", "<unknown>"],
            id="endpointslice-empty",
        ),
    ],
)
def test_simple_rows(resource: str, obj: dict[str, Any], want: list[Any]) -> None:
    assert cells(resource, obj) == want


# --- events ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "want"),
    [
        pytest.param(
            {
                "metadata": {"name": "web.1"},
                "type": "Normal",
                "reason": "Scheduled",
                "message": " Successfully assigned \n",
                "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
                "source": {"component": "kubelet", "host": "node1"},
                "firstTimestamp": ago(minutes=10),
                "lastTimestamp": ago(minutes=1),
                "count": 4,
            },
            [
                "60s",
                "Normal",
                "Scheduled",
                "pod/web",
                "spec.containers{app}",
                "kubelet, node1",
                "Successfully assigned",
                "10m",
                4,
                "web.1",
            ],
            id="core-v1",
        ),
        pytest.param(
            {
                "metadata": {"name": "e"},
                "type": "Warning",
                "reason": "X",
                "message": "m",
                "involvedObject": {"kind": "Node"},
                "eventTime": ago(seconds=30),
                "reportingComponent": "ctrl",
                "reportingInstance": "",
            },
            ["30s", "Warning", "X", "node", "", "ctrl", "m", "30s", 1, "e"],
            id="singleton-new-style",
        ),
        pytest.param(
            {
                "apiVersion": "events.k8s.io/v1",
                "metadata": {"name": "e2"},
                "type": "Normal",
                "reason": "Pulled",
                "note": "pulled",
                "regarding": {"kind": "Pod", "name": "p"},
                "eventTime": ago(minutes=5),
                "series": {"count": 7, "lastObservedTime": ago(seconds=5)},
                "reportingController": "kubelet",
                "reportingInstance": "node2",
            },
            ["5s", "Normal", "Pulled", "pod/p", "", "kubelet, node2", "pulled", "5m", 7, "e2"],
            id="events-k8s-io-series",
        ),
    ],
)
def test_event_rows(event: dict[str, Any], want: list[Any]) -> None:
    assert cells("events", event) == want


# --- the Table envelope ------------------------------------------------------------------------


def test_table_shape_for_pods() -> None:
    p = pod(1, phase="Running")
    p["metadata"].update(namespace="default", labels={"app": "web"}, resourceVersion="103")
    table = to_table("pods", [p], list_meta={"resourceVersion": "200", "continue": "tok"}, now=NOW)
    assert list(table) == ["kind", "apiVersion", "metadata", "columnDefinitions", "rows"]
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "200", "continue": "tok"}
    assert [(c["name"], c["priority"]) for c in table["columnDefinitions"]] == [
        ("Name", 0),
        ("Ready", 0),
        ("Status", 0),
        ("Restarts", 0),
        ("Age", 0),
        ("IP", 1),
        ("Node", 1),
        ("Nominated Node", 1),
        ("Readiness Gates", 1),
    ]
    name = table["columnDefinitions"][0]
    assert list(name) == ["name", "type", "format", "description", "priority"]
    assert name["format"] == "name" and name["description"].startswith(
        "Name must be unique within a namespace."
    )
    assert table["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": p["metadata"],
    }
    assert all(len(r["cells"]) == len(table["columnDefinitions"]) for r in table["rows"])


@pytest.mark.parametrize(
    ("include", "want"),
    [
        pytest.param("None", None, id="none"),
        pytest.param(
            "Metadata",
            {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "c"}},
            id="metadata",
        ),
        pytest.param(
            "",
            {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {"name": "c"}},
            id="empty-is-metadata",
        ),
        pytest.param("Object", {"kind": "ConfigMap", "metadata": {"name": "c"}}, id="object"),
    ],
)
def test_include_object(include: str, want: Any) -> None:
    table = to_table(
        "configmaps", [{"kind": "ConfigMap", "metadata": {"name": "c"}}], include_object=include, now=NOW
    )
    assert table["rows"][0]["object"] == want


def test_include_object_invalid() -> None:
    with pytest.raises(ValueError, match='unrecognized includeObject value: "x"'):
        to_table("pods", [], include_object="x")


def test_empty_list_keeps_headers_and_rows() -> None:
    table = to_table("configmaps", [], now=NOW)
    assert table["rows"] == [] and len(table["columnDefinitions"]) == 3 and table["metadata"] == {}


@pytest.mark.parametrize(
    ("kind_or_resource", "first_columns"),
    [
        pytest.param("Pod", ["Name", "Ready"], id="kind"),
        pytest.param("deployments.apps", ["Name", "Ready", "Up-to-date"], id="qualified"),
        pytest.param("events.events.k8s.io", ["Last Seen", "Type"], id="events-group"),
        pytest.param("limitranges", ["Name", "Created At"], id="limitranges-default"),
        pytest.param("widgets.example.com", ["Name", "Created At"], id="unknown-default"),
    ],
)
def test_printer_lookup(kind_or_resource: str, first_columns: list[str]) -> None:
    names = [c["name"] for c in column_definitions(kind_or_resource)]
    assert names[: len(first_columns)] == first_columns


def test_default_convertor_row() -> None:
    table = to_table(
        "widgets.example.com", [{"metadata": {"name": "w", "creationTimestamp": "2024-12-11T10:00:00+01:00"}}]
    )
    assert table["columnDefinitions"][1]["type"] == "date"
    assert table["rows"][0]["cells"] == ["w", "2024-12-11T09:00:00Z"]


@pytest.mark.parametrize(
    ("resource", "headers"),
    [
        (
            "nodes",
            [
                "Name",
                "Status",
                "Roles",
                "Age",
                "Version",
                "Internal-IP",
                "External-IP",
                "OS-Image",
                "Kernel-Version",
                "Container-Runtime",
            ],
        ),
        ("namespaces", ["Name", "Status", "Age"]),
        ("services", ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"]),
        ("endpoints", ["Name", "Endpoints", "Age"]),
        ("configmaps", ["Name", "Data", "Age"]),
        ("secrets", ["Name", "Type", "Data", "Age"]),
        ("serviceaccounts", ["Name", "Secrets", "Age"]),
        (
            "events",
            [
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject",
                "Source",
                "Message",
                "First Seen",
                "Count",
                "Name",
            ],
        ),
        (
            "replicationcontrollers",
            ["Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"],
        ),
        ("podtemplates", ["Name", "Containers", "Images", "Pod Labels"]),
        ("resourcequotas", ["Name", "Request", "Limit", "Age"]),
        (
            "deployments",
            ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"],
        ),
        ("replicasets", ["Name", "Desired", "Current", "Ready", "Age", "Containers", "Images", "Selector"]),
        ("statefulsets", ["Name", "Ready", "Age", "Containers", "Images"]),
        (
            "daemonsets",
            [
                "Name",
                "Desired",
                "Current",
                "Ready",
                "Up-to-date",
                "Available",
                "Node Selector",
                "Age",
                "Containers",
                "Images",
                "Selector",
            ],
        ),
        ("controllerrevisions", ["Name", "Controller", "Revision", "Age"]),
        ("jobs", ["Name", "Status", "Completions", "Duration", "Age", "Containers", "Images", "Selector"]),
        (
            "cronjobs",
            [
                "Name",
                "Schedule",
                "Timezone",
                "Suspend",
                "Active",
                "Last Schedule",
                "Age",
                "Containers",
                "Images",
                "Selector",
            ],
        ),
        ("leases", ["Name", "Holder", "Age"]),
        ("endpointslices", ["Name", "AddressType", "Ports", "Endpoints", "Age"]),
        ("poddisruptionbudgets", ["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"]),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_column_headers(resource: str, headers: list[str]) -> None:
    cols = column_definitions(resource)
    assert [c["name"] for c in cols] == headers
    # Cells line up 1:1 with columns even for an empty object.
    assert len(cells(resource, {"metadata": {"name": "x"}})) == len(cols)


# --- watch events in Table form ------------------------------------------------------------------


def test_table_row_event_headers_only_first() -> None:
    cm = {"kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "7"}}
    first = table_row_event("ADDED", "configmaps", cm, include_headers=True, now=NOW)
    later = table_row_event("MODIFIED", "configmaps", cm, include_headers=False, now=NOW)
    assert first["type"] == "ADDED" and first["object"]["kind"] == "Table"
    assert first["object"]["metadata"] == {"resourceVersion": "7"}
    assert len(first["object"]["columnDefinitions"]) == 3 and len(first["object"]["rows"]) == 1
    assert later["object"]["columnDefinitions"] is None
    assert later["object"]["rows"][0]["cells"] == ["c", 0, "<unknown>"]


def test_table_row_event_passes_status_through() -> None:
    status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired", "code": 410}
    assert table_row_event("ERROR", "pods", status, include_headers=True) == {
        "type": "ERROR",
        "object": status,
    }


def test_objects_are_not_mutated() -> None:
    p = pod(1, deleting=True, phase="Running", containerStatuses=[running()])
    before = repr(p)
    to_table("pods", [p], include_object="Object", now=NOW)
    assert repr(p) == before
