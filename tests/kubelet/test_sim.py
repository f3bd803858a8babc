"""``python -m kubelet.sim``: nodes 2..N of ``cluster up --nodes N`` serve logs and exec too.

The real API server and ``kubelet.sim --prefix node- --start 2 --nodes 2`` as their own
processes, as ``cluster up --nodes 3`` runs them; pods are bound with ``spec.nodeName``
(no scheduler needed), then driven with the real kubectl through the API server's proxy.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.apiserver.e2e.conftest import ROOT, Server
from tests.kubelet.kubelet_thread import wait_for

NODES = ("node-2", "node-3")


@pytest.fixture(scope="module")
def sim(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("sim")
    args = ["-m", "kubelet.sim", "--kubeconfig", str(server.kubeconfig), "--nodes", "2", "--prefix", "node-",
            "--start", "2", "--root-dir", str(root), "--sync-period", "0.5"]  # fmt: skip
    with (root / "sim.log").open("wb") as out:
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        for node in NODES:
            wait_for(node, lambda n=node: server.kubectl("get", "node", n, check=False).returncode == 0)  # type: ignore[misc]
        yield root
    finally:
        proc.terminate()
        proc.wait(20)


def run(server: Server, name: str, node: str, annotations: dict[str, str], command: list[str]) -> None:
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "c", "image": "busybox:1.36", "command": command}],
        },
    }
    server.kubectl("apply", "-f", "-", input=json.dumps(pod))


def test_every_simulated_node_reports_a_reachable_kubelet_endpoint(server: Server, sim: Path) -> None:
    ports = set()
    for name in NODES:
        node = server.kubectl_json("get", "node", name)
        assert {"type": "InternalIP", "address": "127.0.0.1"} in node["status"]["addresses"]
        ports.add(node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"])
    assert len(ports) == 2 and 10250 not in ports  # one port per node


def test_logs_and_exec_on_a_second_simulated_node(server: Server, sim: Path) -> None:
    run(server, "talker", "node-2", {"sim.pykube.io/logs": "hello\nfrom node-2"}, ["sleep", "3600"])
    wait_for("Running", lambda: server.kubectl_json("get", "pod", "talker")["status"]["phase"] == "Running")
    assert server.kubectl("logs", "talker").stdout == "hello\nfrom node-2\n"
    assert server.kubectl("exec", "talker", "--", "echo", "hi", "there").stdout == "hi there\n"
    assert server.kubectl("exec", "-i", "talker", "--", "cat", input="ping\n").stdout == "ping\n"
    failed = server.kubectl("exec", "talker", "--", "false", check=False)
    assert failed.returncode == 1 and "command terminated with exit code 1" in failed.stderr


def test_logs_of_the_previous_container_on_a_third_simulated_node(server: Server, sim: Path) -> None:
    crash = {"sim.pykube.io/crash": "true", "sim.pykube.io/logs": "bye"}
    run(server, "crasher", "node-3", crash, ["sh", "-c", "exit 1"])

    def restarts() -> int:
        return int(
            server.kubectl_json("get", "pod", "crasher")["status"]["containerStatuses"][0]["restartCount"]
        )

    wait_for("a restart", lambda: restarts() >= 1)
    assert server.kubectl("logs", "crasher", "--previous").stdout == "bye\n"
