"""A real API server process for end-to-end tests, on each storage backend.

``server`` starts ``python -m apiserver`` on a free port over TLS with its generated
certificates and admin kubeconfig, once per test module and backend (the embedded
store, and a real etcd from tests/etcd_server.py). Tests drive it only as users do:
``kubectl`` (the image's, with a scratch HOME and KUBECACHEDIR so nothing is cached
between runs) and the official ``kubernetes`` Python client.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    port: int
    data_dir: Path
    kubeconfig: Path
    home: Path
    process: subprocess.Popen[bytes]
    storage: str

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            HOME=str(self.home), KUBECACHEDIR=str(self.home / "cache"), KUBECONFIG=str(self.kubeconfig)
        )
        return env

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run the real kubectl; ``check`` raises with its stderr on a non-zero exit."""
        result = subprocess.run(
            ["kubectl", *args], capture_output=True, text=True, env=self.env(), input=input, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    def kubectl_json(self, *args: str) -> Any:
        return json.loads(self.kubectl(*args, "-o", "json").stdout)

    def http(self) -> Any:
        """An httpx client authenticated with the admin certificate, for raw requests."""
        import base64

        import httpx
        import yaml

        cfg = yaml.safe_load(self.kubeconfig.read_text())
        user = cfg["users"][0]["user"]
        pem = self.home / "admin.pem"
        pem.write_bytes(
            base64.b64decode(user["client-certificate-data"]) + base64.b64decode(user["client-key-data"])
        )
        ca = self.home / "ca.pem"
        ca.write_bytes(base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"]))
        tls = ssl.create_default_context(cafile=str(ca))
        tls.load_cert_chain(str(pem))
        return httpx.Client(base_url=f"https://127.0.0.1:{self.port}", verify=tls, timeout=30)

    def api_client(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self.api_client())


def start_server(tmp: Path, storage: str) -> Server:
    port = free_port()
    data_dir = tmp / "data"
    kubeconfig = tmp / "kubeconfig"
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    log = open(tmp / "apiserver.log", "wb")
    cmd = [sys.executable, "-m", "apiserver", "--data-dir", str(data_dir), "--port", str(port)]
    cmd += ["--admin-kubeconfig", str(kubeconfig), "--storage", storage]
    # The real default watch cache size, so "too old resourceVersion" is reachable in tests.
    cmd += ["--watch-cache-size", "100"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    server = Server(port, data_dir, kubeconfig, home, proc, storage)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"apiserver exited {proc.returncode}: {(tmp / 'apiserver.log').read_text()[-3000:]}"
            )
        if kubeconfig.exists():
            r = server.kubectl("get", "--raw", "/readyz", check=False, timeout=10)
            if r.returncode == 0 and r.stdout.strip() == "ok":
                return server
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"apiserver not ready in 30 s: {(tmp / 'apiserver.log').read_text()[-3000:]}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("etcd", marks=pytest.mark.etcd)])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    storage = "sqlite"
    if request.param == "etcd":
        etcd = request.getfixturevalue("etcd_server")
        etcd.ctl("del", "--prefix", "/registry/")
        storage = f"etcd://{etcd.endpoint}"
    s = start_server(tmp_path_factory.mktemp(f"apiserver-{request.param}"), storage)
    try:
        yield s
    finally:
        stop_server(s)


_counter = iter(range(1_000_000))


@pytest.fixture
def ns(server: Server) -> Iterator[str]:
    """A fresh namespace per test (deleting it needs the namespace controller, so it is left)."""
    name = f"t{next(_counter)}-{os.getpid() % 1000}"
    server.kubectl(
        "apply",
        "-f",
        "-",
        input=json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
    )
    yield name
