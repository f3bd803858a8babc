"""The kubelet on the simulated runtime against the real API server, driven by kubectl.

One API server process and one kubelet (in a thread of this process, so a test can
restart it while its runtime keeps the containers) per module. Back-off is shortened
to 1 s doubling to 4 s, the Lease is renewed every second, the sync period is 0.5 s.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubelet.runtime.simulated import SimulatedRuntime
from tests.apiserver.e2e.conftest import Server
from tests.kubelet.kubelet_thread import KubeletThread, wait_for

NODE = "sim-node-1"


@pytest.fixture(scope="module")
def kubelet(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeletThread]:
    k = KubeletThread(
        server.kubeconfig,
        NODE,
        tmp_path_factory.mktemp("kubelet"),
        lambda: SimulatedRuntime(NODE),
        "simulated",
    )
    k.start()
    try:
        yield k
    finally:
        k.close()


_counter = iter(range(1_000_000))


@pytest.fixture
def ns(server: Server, kubelet: KubeletThread) -> str:
    name = f"k{next(_counter)}-{os.getpid() % 1000}"
    server.kubectl("create", "namespace", name)
    return name


def make_pod(
    name: str, *, node: str | None = NODE, command: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    container = {"name": "c", "image": "busybox:1.36", "command": command or ["sleep", "3600"]}
    container.update(extra.pop("container", {}))
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": extra.pop("annotations", {})},
        "spec": {"containers": [container], **extra},
    }
    if node:
        pod["spec"]["nodeName"] = node
    return pod


def apply(server: Server, ns: str, pod: dict[str, Any]) -> None:
    server.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(pod))


def get(server: Server, ns: str, name: str) -> dict[str, Any]:
    return dict(server.kubectl_json("get", "pod", "-n", ns, name))


def row(server: Server, ns: str, name: str) -> list[str]:
    """``kubectl get pod`` columns: NAME READY STATUS RESTARTS AGE."""
    return server.kubectl("get", "pod", "-n", ns, name, "--no-headers").stdout.split()


def container_state(pod: dict[str, Any]) -> dict[str, Any]:
    return dict(pod["status"]["containerStatuses"][0]["state"])


def condition(pod: dict[str, Any], type_: str) -> str:
    return next(c["status"] for c in pod["status"]["conditions"] if c["type"] == type_)


def test_node_registers_ready_with_node_info_and_renews_its_lease(
    server: Server, kubelet: KubeletThread
) -> None:
    node = wait_for("node", lambda: server.kubectl_json("get", "node", NODE))
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "True",
        "KubeletReady",
        "kubelet is posting ready status",
    )
    reasons = {c["type"]: c["reason"] for c in node["status"]["conditions"]}
    assert reasons["MemoryPressure"] == "KubeletHasSufficientMemory"
    assert (
        reasons["DiskPressure"] == "KubeletHasNoDiskPressure"
        and reasons["PIDPressure"] == "KubeletHasSufficientPID"
    )
    info = node["status"]["nodeInfo"]
    assert set(info) >= {"architecture", "bootID", "containerRuntimeVersion", "kernelVersion", "kubeProxyVersion",
                         "kubeletVersion", "machineID", "operatingSystem", "osImage", "systemUUID"}  # fmt: skip
    assert info["containerRuntimeVersion"] == "simulated://0.1.0" and info["kubeletVersion"].startswith(
        "v1.32."
    )
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == NODE
    assert {a["type"] for a in node["status"]["addresses"]} == {"InternalIP", "Hostname"}
    assert node["status"]["capacity"]["pods"] == "110"
    assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == 10250
    assert server.kubectl("get", "nodes", "--no-headers").stdout.split()[:2] == [NODE, "Ready"]
    lease = server.kubectl_json("get", "lease", "-n", "kube-node-lease", NODE)
    assert lease["spec"]["holderIdentity"] == NODE and lease["spec"]["leaseDurationSeconds"] == 40
    assert lease["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]
    renewed = wait_for("a renewal", lambda: server.kubectl_json("get", "lease", "-n", "kube-node-lease", NODE)
                       ["spec"]["renewTime"] != lease["spec"]["renewTime"])  # fmt: skip
    assert renewed
    server.core().read_node(NODE)  # the Python client's strict models accept it


def test_pod_runs_and_is_ready(server: Server, ns: str) -> None:
    apply(
        server,
        ns,
        make_pod(
            "web",
            container={"env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]},
        ),
    )
    assert wait_for("1/1 Running", lambda: row(server, ns, "web")[1:3] == ["1/1", "Running"])
    pod = get(server, ns, "web")
    assert pod["status"]["phase"] == "Running" and pod["status"]["podIP"].startswith("10.244.0.")
    assert [condition(pod, t) for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")] == [
        "True"
    ] * 4
    server.core().read_namespaced_pod("web", ns)  # strict client models
    events = server.kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.name=web").stdout
    for reason in ("Pulling", "Pulled", "Created", "Started"):
        assert reason in events


def test_pod_bound_through_the_binding_subresource(server: Server, ns: str) -> None:
    apply(server, ns, make_pod("bound", node=None))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "bound"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": NODE}}  # fmt: skip
    with server.http() as http:
        r = http.post(f"/api/v1/namespaces/{ns}/pods/bound/binding", json=binding)
        assert r.status_code == 201, r.text
    assert wait_for("Running", lambda: row(server, ns, "bound")[2] == "Running")


def test_crash_loop_back_off_grows(server: Server, ns: str) -> None:
    apply(
        server,
        ns,
        make_pod("crash", command=["sh", "-c", "exit 1"], annotations={"sim.pykube.io/crash": "true"}),
    )
    messages: list[str] = []

    def backoff_message() -> str | None:
        state = container_state(get(server, ns, "crash"))
        message = state.get("waiting", {}).get("message", "")
        if message and (not messages or messages[-1] != message):
            messages.append(message)
        return message if "back-off 4s" in message else None

    wait_for("back-off to reach 4s", backoff_message, timeout=40, interval=0.1)
    delays = [m.split()[1] for m in messages]
    assert delays[:3] == ["1s", "2s", "4s"], messages
    pod = get(server, ns, "crash")
    assert pod["status"]["containerStatuses"][0]["restartCount"] >= 3
    assert pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 1
    assert f"container=c pod=crash_{ns}({pod['metadata']['uid']})" in messages[-1]
    assert row(server, ns, "crash")[2] == "CrashLoopBackOff"


@pytest.mark.parametrize(
    ("command", "phase", "shown"),
    [(["echo", "done"], "Succeeded", "Completed"), (["false"], "Failed", "Error")],
    ids=["succeeds", "fails"],
)
def test_restart_never_ends_in_a_terminal_phase(
    server: Server, ns: str, command: list[str], phase: str, shown: str
) -> None:
    apply(server, ns, make_pod("once", command=command, restartPolicy="Never"))
    assert wait_for(phase, lambda: get(server, ns, "once")["status"]["phase"] == phase)
    assert row(server, ns, "once")[1:3] == ["0/1", shown]
    assert condition(get(server, ns, "once"), "Ready") == "False"


def test_graceful_delete_waits_for_the_grace_period(server: Server, ns: str) -> None:
    pod = make_pod(
        "slow", annotations={"sim.pykube.io/ignore-sigterm": "true"}, terminationGracePeriodSeconds=2
    )
    apply(server, ns, pod)
    wait_for("Running", lambda: row(server, ns, "slow")[2] == "Running")
    began = time.monotonic()
    server.kubectl("delete", "pod", "-n", ns, "slow", timeout=30)
    took = time.monotonic() - began
    assert 1.8 <= took < 10, took
    assert server.kubectl("get", "pod", "-n", ns, "slow", check=False).returncode != 0
    events = server.kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.name=slow").stdout
    assert "Stopping container c" in events


def test_quick_delete_returns_promptly(server: Server, ns: str) -> None:
    apply(server, ns, make_pod("quick"))
    wait_for("Running", lambda: row(server, ns, "quick")[2] == "Running")
    began = time.monotonic()
    server.kubectl("delete", "pod", "-n", ns, "quick", timeout=30)
    assert time.monotonic() - began < 5


def test_liveness_failure_restarts_the_container(server: Server, ns: str) -> None:
    probe = {"exec": {"command": ["check"]}, "periodSeconds": 1, "failureThreshold": 2}
    pod = make_pod("sick", annotations={"sim.pykube.io/exec-exit-code": "1", "sim.pykube.io/exec-output": "not ok"},
                   container={"livenessProbe": probe})  # fmt: skip
    apply(server, ns, pod)
    assert wait_for(
        "a restart", lambda: get(server, ns, "sick")["status"]["containerStatuses"][0]["restartCount"] >= 1
    )
    events = server.kubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.name=sick").stdout
    assert "Liveness probe failed: not ok" in events
    assert "Container c failed liveness probe, will be restarted" in events


def test_readiness_gates_ready(server: Server, ns: str) -> None:
    probe = {"exec": {"command": ["check"]}, "periodSeconds": 1}
    apply(
        server,
        ns,
        make_pod(
            "unready", annotations={"sim.pykube.io/exec-exit-code": "1"}, container={"readinessProbe": probe}
        ),
    )
    apply(server, ns, make_pod("ready", container={"readinessProbe": probe}))
    assert wait_for("ready", lambda: row(server, ns, "ready")[1] == "1/1")
    pod = get(server, ns, "unready")
    assert row(server, ns, "unready")[1:3] == ["0/1", "Running"]
    assert condition(pod, "Ready") == "False" and condition(pod, "ContainersReady") == "False"
    assert pod["status"]["containerStatuses"][0]["ready"] is False


def test_kubelet_restart_keeps_containers(server: Server, ns: str, kubelet: KubeletThread) -> None:
    apply(server, ns, make_pod("steady"))
    wait_for("Running", lambda: row(server, ns, "steady")[1:3] == ["1/1", "Running"])
    before = get(server, ns, "steady")["status"]["containerStatuses"][0]
    kubelet.stop()
    kubelet.start()
    time.sleep(2)  # a few sync periods
    after = get(server, ns, "steady")["status"]["containerStatuses"][0]
    assert after["containerID"] == before["containerID"] and after["restartCount"] == 0
    assert after["state"] == before["state"]


def test_pod_deleted_while_the_kubelet_was_down_is_cleaned_up(
    server: Server, ns: str, kubelet: KubeletThread
) -> None:
    apply(server, ns, make_pod("gone"))
    wait_for("Running", lambda: row(server, ns, "gone")[2] == "Running")
    uid = get(server, ns, "gone")["metadata"]["uid"]
    kubelet.stop()
    server.kubectl("delete", "pod", "-n", ns, "gone", "--grace-period=0", "--force")
    kubelet.start()
    sim: SimulatedRuntime = kubelet.runtime
    left = [s for s in sim.sandboxes.values() if s.config.metadata.uid == uid]
    assert not left
    assert not (Path(kubelet.root_dir) / "pods" / uid).exists()


def test_a_readiness_gate_holds_ready_until_its_condition_is_true(server: Server, ns: str) -> None:
    gate = "example.com/load-balancer"
    apply(server, ns, make_pod("gated", readinessGates=[{"conditionType": gate}]))
    wait_for("ContainersReady", lambda: condition(get(server, ns, "gated"), "ContainersReady") == "True")
    ready = next(c for c in get(server, ns, "gated")["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False", "ReadinessGatesNotReady", f'corresponding condition of pod readiness gate "{gate}" does not exist.',
    )  # fmt: skip
    assert server.kubectl("get", "pod", "-n", ns, "gated", "-o", "wide").stdout.split()[-1] == "0/1"
    patch = {"status": {"conditions": [{"type": gate, "status": "True"}]}}
    server.kubectl("patch", "pod", "-n", ns, "gated", "--subresource=status", "-p", json.dumps(patch))
    wait_for("Ready", lambda: condition(get(server, ns, "gated"), "Ready") == "True")
    time.sleep(1.5)  # a few more kubelet syncs and status writes: the gate's condition stays
    pod = get(server, ns, "gated")
    assert condition(pod, gate) == "True" and condition(pod, "Ready") == "True"
    assert "reason" not in next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")
    assert server.kubectl("get", "pod", "-n", ns, "gated", "-o", "wide").stdout.split()[-1] == "1/1"


def test_a_failed_post_start_hook_kills_the_container(server: Server, ns: str) -> None:
    hook = {"postStart": {"exec": {"command": ["false"]}}}
    apply(server, ns, make_pod("hooked", restartPolicy="Never", container={"lifecycle": hook}))
    assert wait_for("Failed", lambda: get(server, ns, "hooked")["status"]["phase"] == "Failed")
    assert container_state(get(server, ns, "hooked"))["terminated"]["exitCode"] == 143
    fields = "involvedObject.name=hooked"
    events = server.kubectl("get", "events", "-n", ns, "--field-selector", fields, "-o", "json").stdout
    seen = {(e["reason"], e["message"]) for e in json.loads(events)["items"]}
    assert {("FailedPostStartHook", "PostStartHook failed"), ("Killing", "FailedPostStartHook")} <= seen


def test_a_pod_shows_container_creating_while_its_post_start_hook_runs(server: Server, ns: str) -> None:
    # the status is written before the runtime starts anything (SyncPod's SetPodStatus),
    # so a slow start reads ContainerCreating, not a bare Pending, as on a real node
    hook = {"postStart": {"exec": {"command": ["sleep", "3"]}}}
    apply(server, ns, make_pod("slow", container={"lifecycle": hook}))
    assert wait_for("ContainerCreating", lambda: row(server, ns, "slow")[1:3] == ["0/1", "ContainerCreating"])
    assert wait_for("Running", lambda: row(server, ns, "slow")[1:3] == ["1/1", "Running"], timeout=20)
