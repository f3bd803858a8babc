"""A real API server, the controller manager and a fake kubelet, as processes.

``cluster`` (module scope) starts ``python -m apiserver`` (tests/apiserver/e2e's
``start_server``), two simulated nodes (``fake_kubelet``) and
``python -m controllers``; tests drive it with the real kubectl.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.apiserver.e2e.conftest import ROOT, Server, start_server, stop_server


@dataclass
class Cluster:
    server: Server
    tmp: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def kubectl(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        return self.server.kubectl(*args, **kw)

    def get(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json").stdout)

    def start(self, name: str, *cmd: str) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"{name}.log", "ab")
        proc = subprocess.Popen([sys.executable, *cmd], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def start_controllers(self, name: str = "controllers", *extra: str) -> subprocess.Popen[bytes]:
        return self.start(name, "-m", "controllers", "--kubeconfig", str(self.server.kubeconfig), *extra)

    def start_kubelet(
        self, nodes: str = "node1,node2", *extra: str, name: str = "kubelet"
    ) -> subprocess.Popen[bytes]:
        return self.start(
            name,
            "-m",
            "tests.controllers.fake_kubelet",
            "--kubeconfig",
            str(self.server.kubeconfig),
            "--nodes",
            nodes,
            *extra,
        )

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")


def eventually(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    """Wait until ``check()`` is truthy (kubectl has no watch for every question)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("controllers")
    server = start_server(tmp, "sqlite")
    c = Cluster(server, tmp)
    try:
        c.start_kubelet(
            "node1,node2",
            "--succeed-image",
            "busybox:done",
            "--fail-image",
            "busybox:fail",
            "--pending-image",
            "busybox:pending",
            # Renew well inside the controllers' 6 s grace period (the fake kubelet's
            # default is 10 s, which would let the nodes flap unreachable).
            "--lease-renew",
            "1",
        )
        c.start_controllers("controllers", "--node-monitor-grace-period", "6")
        yield c
    finally:
        for name in list(c.procs):
            c.stop(name)
        stop_server(server)
        for name in ("controllers", "kubelet"):
            p = tmp / f"{name}.log"
            if p.exists():
                print(f"--- {name}.log (tail) ---\n{p.read_text(errors='replace')[-4000:]}")
