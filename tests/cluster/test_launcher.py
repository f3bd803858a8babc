"""cluster/: ``python -m cluster up`` as a user runs it, checked from outside.

Each test starts the launcher as a subprocess on a free port with a scratch data dir,
reads its output, and at the end asserts that no component process is left. Most use
stand-in components (fake_components.py) so they run without the REST API; the last
one runs the real API server and drives it with the real kubectl.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.apiserver.tls_server import free_port

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = shutil.which("kubectl")
HAVE_APP = importlib.util.find_spec("apiserver.app") is not None


class Launcher:
    """A running ``cluster up``, its output collected line by line."""

    def __init__(self, argv: list[str], data_dir: Path, extra: list[str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                *argv,
                "up",
                "--data-dir",
                str(data_dir),
                "--port",
                str(self.port),
                *(extra or []),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no line matching {pattern!r} within {timeout}s:\n" + "\n".join(self.output))
            if line is None:
                pytest.fail(f"launcher exited before {pattern!r}:\n" + "\n".join(self.output))
            self.output.append(line)
            if m := re.search(pattern, line):
                return m

    def pids(self) -> dict[str, int]:
        found = (re.search(r"started (\S+) \(pid (\d+)\)", line) for line in self.output)
        return {m[1]: int(m[2]) for m in found if m}

    def wait(self, timeout: float = 30) -> int:
        code = self.proc.wait(timeout)
        while (line := self._lines.get(timeout=5)) is not None:
            self.output.append(line)
        return code


def wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def assert_all_gone(pids: dict[str, int]) -> None:
    """Each component ran in its own process group (pgid == pid): the group must empty.

    Polled briefly: a grandchild killed with its group is reaped by init, not at once.
    """
    assert pids, "no component was started"

    def group_empty(pgid: int) -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        return False

    for name, pid in pids.items():
        deadline = time.monotonic() + 5
        while not group_empty(pid):
            assert time.monotonic() < deadline, f"{name}: process group {pid} still has processes"
            time.sleep(0.05)


@pytest.fixture
def launchers(tmp_path: Path) -> Iterator[list[Launcher]]:
    started: list[Launcher] = []
    yield started
    for launcher in started:  # a failed test must not leave a cluster running
        if launcher.proc.poll() is None:
            launcher.proc.send_signal(signal.SIGTERM)
            launcher.proc.wait(30)


def launch(launchers: list[Launcher], argv: list[str], data_dir: Path) -> Launcher:
    launchers.append(Launcher(argv, data_dir))
    return launchers[-1]


def test_up_announces_kubeconfig_then_stops_everything_on_sigterm(
    launchers: list[Launcher], tmp_path: Path
) -> None:
    cluster = launch(launchers, ["tests.cluster.fake_components", "launch", "stub"], tmp_path / "data")
    m = cluster.wait_for(r"^export KUBECONFIG=(.*)$")
    assert m[1] == str((tmp_path / "data" / "kubeconfig").resolve())
    assert Path(m[1]).exists()
    cluster.wait_for(r"kubectl get ns")
    stubborn_log = tmp_path / "data" / "logs" / "stubborn.log"
    wait_until(lambda: "ignoring SIGTERM" in stubborn_log.read_text())

    cluster.proc.send_signal(signal.SIGTERM)
    assert cluster.wait() == 0
    text = "\n".join(cluster.output)
    assert "stubborn did not stop within 1s; killing it" in text
    assert "apiserver stopped (exit code 0)" in text
    # Reverse order: the component started last is stopped first.
    assert text.index("stubborn stopped") < text.index("apiserver stopped")
    assert_all_gone(cluster.pids())


def test_a_dying_component_is_reported_not_restarted(launchers: list[Launcher], tmp_path: Path) -> None:
    cluster = launch(launchers, ["tests.cluster.fake_components", "launch", "crashing-component"], tmp_path)
    cluster.wait_for(r"crash \(pid \d+\) exited with code 3; it is not restarted")
    cluster.wait_for(r"crash: something went wrong")  # the end of its log
    assert cluster.proc.poll() is None, "the cluster keeps running without a non-critical component"
    cluster.proc.send_signal(signal.SIGINT)
    assert cluster.wait() == 0
    assert_all_gone(cluster.pids())


def test_a_dying_apiserver_fails_the_launcher(launchers: list[Launcher], tmp_path: Path) -> None:
    cluster = launch(launchers, ["tests.cluster.fake_components", "launch", "crashing-apiserver"], tmp_path)
    assert cluster.wait() == 1
    assert not any(line.startswith("export KUBECONFIG") for line in cluster.output)
    assert "apiserver" in "\n".join(cluster.output) and "exited with code 3" in "\n".join(cluster.output)
    assert_all_gone(cluster.pids())


def test_an_apiserver_dying_later_fails_the_launcher(launchers: list[Launcher], tmp_path: Path) -> None:
    cluster = launch(launchers, ["tests.cluster.fake_components", "launch", "stub"], tmp_path)
    cluster.wait_for(r"^export KUBECONFIG=")
    os.kill(cluster.pids()["apiserver"], signal.SIGKILL)
    assert cluster.wait() == 1
    assert "a critical component died; stopping the cluster" in "\n".join(cluster.output)
    assert_all_gone(cluster.pids())


@pytest.mark.skipif(not HAVE_APP, reason="apiserver.app not available yet")
@pytest.mark.skipif(KUBECTL is None, reason="no kubectl on PATH")
def test_real_cluster_up_with_kubectl(launchers: list[Launcher], tmp_path: Path) -> None:
    cluster = launch(launchers, ["cluster"], tmp_path / "data")
    kubeconfig = cluster.wait_for(r"^export KUBECONFIG=(.*)$", timeout=60)[1]

    assert KUBECTL is not None
    env = {**os.environ, "HOME": str(tmp_path / "home"), "KUBECACHEDIR": str(tmp_path / "kubecache")}
    result = subprocess.run(
        [KUBECTL, "--kubeconfig", kubeconfig, "version", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    server = json.loads(result.stdout)["serverVersion"]
    assert (server["major"], server["minor"]) == ("1", "32")

    cluster.proc.send_signal(signal.SIGTERM)
    assert cluster.wait() == 0, "\n".join(cluster.output)
    assert_all_gone(cluster.pids())
