"""``python -m controllers --metrics-port P``: each controller's workqueue on /metrics, and /healthz."""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apiserver.e2e.conftest import start_server, stop_server
from tests.controllers.conftest import Cluster, eventually


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def metrics(tmp_path: Path) -> Iterator[tuple[Cluster, int]]:
    cluster = Cluster(start_server(tmp_path, "sqlite"), tmp_path)
    port = _free_port()
    cluster.start_controllers(
        "controllers", "--controllers=deployment,replicaset", "--metrics-port", str(port)
    )
    try:
        yield cluster, port
    finally:
        cluster.stop("controllers")
        stop_server(cluster.server)


def _scrape(port: int, path: str = "/metrics") -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return str(r.read().decode())
    except OSError:
        return ""  # not listening yet


def test_workqueue_metrics_count_a_deployments_work(metrics: tuple[Cluster, int]) -> None:
    cluster, port = metrics
    assert eventually(lambda: _scrape(port, "/healthz"), what="/healthz") == "ok"
    cluster.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=3")

    def adds(name: str) -> int:
        for line in _scrape(port).splitlines():
            if line.startswith(f'workqueue_adds_total{{name="{name}"}} '):
                return int(line.split()[-1])
        return 0

    eventually(lambda: adds("deployment") >= 1 and adds("replicaset") >= 1, what="adds on both queues")
    text = _scrape(port)
    assert "# TYPE workqueue_depth gauge" in text
    assert 'workqueue_retries_total{name="replicaset"}' in text
