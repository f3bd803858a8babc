"""End to end: the real API server process, a real scheduler process, kubectl.

There is no kubelet: nodes are simulated, Node objects created through the API with
their capacity, labels and taints (status written through ``nodes/{name}/status``, as
a kubelet would). Each test waits on the API (polling kubectl, at most a few
seconds), never on fixed sleeps.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.apiserver.e2e.conftest import ROOT, Server, start_server, stop_server

pytestmark = pytest.mark.slow

CONTROL_PLANE = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def wait_for(what: str, check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def create_node(
    server: Server,
    name: str,
    cpu: str = "2",
    memory: str = "4Gi",
    labels: dict[str, str] | None = None,
    taints: list[dict[str, str]] | None = None,
) -> None:
    node = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": taints} if taints else {},
    }
    server.kubectl("create", "-f", "-", input=json.dumps(node))
    resources = {"cpu": cpu, "memory": memory, "pods": "110"}
    status = {
        "status": {
            "capacity": resources,
            "allocatable": resources,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
        }
    }
    server.kubectl("patch", "node", name, "--subresource=status", "--type=merge", "-p", json.dumps(status))


def run_pod(server: Server, ns: str, name: str, cpu: str = "100m", **spec: Any) -> None:
    container = {"name": name, "image": "nginx", "resources": {"requests": {"cpu": cpu}}}
    overrides = {"spec": {"containers": [container], **spec}}
    server.kubectl(
        "run", name, "-n", ns, "--image=nginx", "--restart=Never", f"--overrides={json.dumps(overrides)}"
    )


def pod(server: Server, ns: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = server.kubectl_json("get", "pod", name, "-n", ns)
    return body


def node_of(server: Server, ns: str, name: str) -> str:
    return pod(server, ns, name)["spec"].get("nodeName", "")


def pod_scheduled(server: Server, ns: str, name: str) -> dict[str, Any] | None:
    for c in pod(server, ns, name).get("status", {}).get("conditions") or []:
        if c["type"] == "PodScheduled":
            condition: dict[str, Any] = c
            return condition
    return None


def start_scheduler(server: Server, log: Path, *args: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "scheduler", "--kubeconfig", str(server.kubeconfig), *args]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=open(log, "ab"), stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("scheduler-e2e")
    server = start_server(tmp, "sqlite")
    create_node(server, "control-plane", cpu="4", taints=[CONTROL_PLANE])
    create_node(server, "node-1", cpu="1")
    create_node(server, "node-2", cpu="1")
    scheduler = start_scheduler(server, tmp / "scheduler.log", "--leader-elect=false")
    try:
        yield server
    finally:
        stop(scheduler)
        stop_server(server)


_counter = iter(range(1000))


@pytest.fixture
def ns(cluster: Server) -> str:
    name = f"s{next(_counter)}-{os.getpid() % 1000}"
    cluster.kubectl("create", "namespace", name)
    return name


def test_unschedulable_pod_says_why_and_binds_when_a_node_appears(cluster: Server, ns: str) -> None:
    run_pod(cluster, ns, "big", cpu="2")
    condition = wait_for("PodScheduled=False", lambda: pod_scheduled(cluster, ns, "big"))
    message = (
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    )
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "False",
        "Unschedulable",
        message,
    )
    describe = wait_for(
        "the event",
        lambda: (
            (d := cluster.kubectl("describe", "pod", "big", "-n", ns).stdout)
            and "FailedScheduling" in d
            and d
        ),
    )
    assert "Warning  FailedScheduling" in describe
    assert "default-scheduler  " + message in describe
    assert "PodScheduled   False" in describe

    create_node(cluster, "node-3", cpu="4")  # a bigger node joins: the pod is retried at once
    assert wait_for("binding", lambda: node_of(cluster, ns, "big")) == "node-3"
    describe = wait_for(
        "Scheduled event",
        lambda: (d := cluster.kubectl("describe", "pod", "big", "-n", ns).stdout) and "Scheduled " in d and d,
    )
    assert "Normal   Scheduled         " in describe
    assert f"Successfully assigned {ns}/big to node-3" in describe
    events = cluster.kubectl_json("get", "events", "-n", ns)["items"]
    scheduled = next(e for e in events if e["reason"] == "Scheduled")
    assert scheduled["source"] == {"component": "default-scheduler"}
    assert scheduled["reportingComponent"] == "default-scheduler"
    assert scheduled["involvedObject"]["kind"] == "Pod"
    assert scheduled["type"] == "Normal"


def test_identical_pods_spread_across_nodes(cluster: Server, ns: str) -> None:
    for name in ("spread-a", "spread-b"):
        create_node(cluster, name, cpu="4", labels={"pool": "spread"})
    for i in range(4):
        run_pod(cluster, ns, f"web-{i}", cpu="500m", nodeSelector={"pool": "spread"})
    nodes = [wait_for("binding", functools.partial(node_of, cluster, ns, f"web-{i}")) for i in range(4)]
    assert sorted(nodes) == ["spread-a", "spread-a", "spread-b", "spread-b"]


def test_taints_and_tolerations(cluster: Server, ns: str) -> None:
    create_node(
        cluster,
        "gpu-1",
        labels={"pool": "gpu"},
        taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
    )
    run_pod(cluster, ns, "plain", nodeSelector={"pool": "gpu"})
    condition = wait_for("PodScheduled=False", lambda: pod_scheduled(cluster, ns, "plain"))
    assert "1 node(s) had untolerated taint {dedicated: gpu}" in condition["message"]
    tolerating = [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]
    run_pod(cluster, ns, "tolerant", nodeSelector={"pool": "gpu"}, tolerations=tolerating)
    assert wait_for("binding", lambda: node_of(cluster, ns, "tolerant")) == "gpu-1"
    cluster.kubectl("taint", "node", "gpu-1", "dedicated-")  # the node update re-queues "plain"
    assert wait_for("binding", lambda: node_of(cluster, ns, "plain")) == "gpu-1"


def test_preemption(cluster: Server, ns: str) -> None:
    create_node(cluster, "small-1", cpu="1", labels={"pool": "prio"})
    run_pod(cluster, ns, "low", cpu="800m", nodeSelector={"pool": "prio"}, priority=1)
    assert wait_for("low binds", lambda: node_of(cluster, ns, "low")) == "small-1"
    run_pod(cluster, ns, "high", cpu="800m", nodeSelector={"pool": "prio"}, priority=1000)
    nominated = wait_for(
        "nomination", lambda: pod(cluster, ns, "high").get("status", {}).get("nominatedNodeName")
    )
    assert nominated == "small-1"
    assert wait_for("graceful deletion", lambda: pod(cluster, ns, "low")["metadata"].get("deletionTimestamp"))
    # No kubelet here: finish the deletion as the kubelet would once the containers stopped.
    cluster.kubectl("delete", "pod", "low", "-n", ns, "--grace-period=0", "--force")
    assert wait_for("high binds", lambda: node_of(cluster, ns, "high")) == "small-1"
    events = cluster.kubectl_json("get", "events", "-n", ns)["items"]
    assert any(e["reason"] == "Preempted" and e["involvedObject"]["name"] == "low" for e in events)


def test_leader_failover(tmp_path: Path) -> None:
    server = start_server(tmp_path, "sqlite")
    flags = [
        "--leader-elect=true",
        "--leader-elect-lease-duration=3",
        "--leader-elect-renew-deadline=2",
        "--leader-elect-retry-period=0.5",
    ]
    a = start_scheduler(server, tmp_path / "a.log", *flags, "--identity=scheduler-a")
    b: subprocess.Popen[bytes] | None = None
    try:
        create_node(server, "node-1")

        def holder() -> str:
            r = server.kubectl(
                "get", "lease", "kube-scheduler", "-n", "kube-system", "-o", "json", check=False
            )
            return json.loads(r.stdout)["spec"].get("holderIdentity", "") if r.returncode == 0 else ""

        assert wait_for("a leads", lambda: holder() == "scheduler-a")
        b = start_scheduler(server, tmp_path / "b.log", *flags, "--identity=scheduler-b")
        run_pod(server, "default", "first")
        assert wait_for("first binds", lambda: node_of(server, "default", "first")) == "node-1"
        a.send_signal(signal.SIGKILL)  # no release: b must wait for the lease to expire
        a.wait()
        assert wait_for("b takes over", lambda: holder() == "scheduler-b", timeout=15)
        run_pod(server, "default", "second")
        assert wait_for("second binds", lambda: node_of(server, "default", "second")) == "node-1"
    finally:
        stop(a)
        if b is not None:
            stop(b)
        stop_server(server)
