"""The components survive an API server that dies and comes back (kill -9, same port and data).

The scheduler, the controller manager and simulated kubelets run as their own processes,
as ``cluster up`` runs them. The API server is killed without warning mid-life and
started again on the same port over the same embedded store. Nothing is restarted
but the server: every informer must notice its watch ended, re-list or re-watch from
where it was, and every component carry on. Proof: a Deployment created *after* the
restart is scheduled, run and Available; one created before has kept its pods.

Mirrors what client-go's reflector promises (ListAndWatch retried with back-off,
tools/cache/reflector.go) and the developers' guide's rule that long-running
processes survive a dying peer.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.apiserver.e2e.conftest import ROOT, Server, start_server, stop_server


def _component(tmp: Path, name: str, *args: str) -> subprocess.Popen[bytes]:
    log = open(tmp / f"{name}.log", "wb")
    return subprocess.Popen([sys.executable, "-m", *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def _restart(server: Server, tmp: Path) -> None:
    """Start ``python -m apiserver`` again with the same port, data dir and kubeconfig."""
    log = open(tmp / "apiserver-2.log", "wb")
    cmd = [sys.executable, "-m", "apiserver", "--data-dir", str(server.data_dir), "--port", str(server.port),
           "--admin-kubeconfig", str(server.kubeconfig), "--storage", "sqlite", "--watch-cache-size", "100"]  # fmt: skip
    server.process = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.kubectl("get", "--raw", "/readyz", check=False, timeout=10).stdout.strip() == "ok":
            return
        time.sleep(0.2)
    raise AssertionError(f"apiserver did not come back: {(tmp / 'apiserver-2.log').read_text()[-2000:]}")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    server = start_server(tmp_path, "sqlite")
    kubeconfig = str(server.kubeconfig)
    procs = [
        _component(tmp_path, "scheduler", "scheduler", "--kubeconfig", kubeconfig, "--leader-elect=false"),
        _component(tmp_path, "controllers", "controllers", "--kubeconfig", kubeconfig),
        _component(
            tmp_path,
            "kubelets",
            "kubelet.sim",
            "--kubeconfig",
            kubeconfig,
            "--nodes",
            "2",
            "--root-dir",
            str(tmp_path / "kubelets"),
            "--no-serve",
        ),
    ]
    try:
        yield server, tmp_path
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        stop_server(server)
        for name in ("scheduler", "controllers", "kubelets"):
            print(
                f"--- {name}.log (tail) ---\n{(tmp_path / f'{name}.log').read_text(errors='replace')[-3000:]}"
            )


def _rollout(server: Server, name: str) -> None:
    server.kubectl(
        "create", "deployment", name, "--image=busybox:1.36", "--replicas=2", "--", "sleep", "3600"
    )
    out = server.kubectl("rollout", "status", f"deployment/{name}", "--timeout=60s", timeout=90).stdout
    assert f'deployment "{name}" successfully rolled out' in out


@pytest.mark.slow
def test_scheduler_controllers_and_kubelets_carry_on_after_the_api_server_is_killed(
    cluster: tuple[Server, Path],
) -> None:
    server, tmp = cluster
    _rollout(server, "before")
    pods_before = server.kubectl("get", "pods", "-l", "app=before", "-o", "name").stdout.split()
    assert len(pods_before) == 2

    server.process.kill()  # no graceful shutdown: every watch and keep-alive connection just ends
    server.process.wait()
    time.sleep(2)  # long enough for every component to see the connection refused
    _restart(server, tmp)

    _rollout(server, "after")  # a new object: informers, scheduler, kubelets all back
    pods = server.kubectl("get", "pods", "-o", "wide").stdout
    assert pods.count("Running") == 4, pods
    assert server.kubectl("get", "pods", "-l", "app=before", "-o", "name").stdout.split() == pods_before
