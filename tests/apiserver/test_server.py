"""apiserver/server.py with real clients: kubectl and the Python client through the admin
kubeconfig, and the process stopping cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client, config

from apiserver.kubeconfig import admin_kubeconfig, write_kubeconfig
from apiserver.options import ServerOptions
from apiserver.pki import PKI
from tests.apiserver.tls_server import VERSION, free_port, running_server

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = shutil.which("kubectl")


def kubectl_env(tmp_path: Path) -> dict[str, str]:
    """Keep the kubectl dispatcher's caches out of the real home directory."""
    return {**os.environ, "HOME": str(tmp_path / "home"), "KUBECACHEDIR": str(tmp_path / "kubecache")}


@pytest.fixture
async def kubeconfig(tmp_path: Path):  # type: ignore[no-untyped-def]
    options = ServerOptions(data_dir=tmp_path / "data", port=free_port())
    async with running_server(options) as url:
        path = tmp_path / "kubeconfig"
        write_kubeconfig(path, admin_kubeconfig(PKI(options.pki), url))
        yield path


@pytest.mark.skipif(KUBECTL is None, reason="no kubectl on PATH")
async def test_kubectl_reaches_the_server_with_the_admin_certificate(
    kubeconfig: Path, tmp_path: Path
) -> None:
    async def kubectl(*args: str) -> str:
        assert KUBECTL is not None
        proc = await asyncio.create_subprocess_exec(
            KUBECTL,
            "--kubeconfig",
            str(kubeconfig),
            *args,
            env=kubectl_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        return out.decode()

    version = json.loads(await kubectl("version", "-o", "json"))
    assert version["serverVersion"] == VERSION
    # kubectl negotiates HTTP/2 and presents the client certificate from the kubeconfig.
    whoami = json.loads(await kubectl("get", "--raw", "/whoami"))
    assert whoami == {
        "user": {"name": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]},
        "httpVersion": "2",
    }


async def test_python_client_reaches_the_server(kubeconfig: Path) -> None:
    def get_version() -> str:
        api = config.new_client_from_config(config_file=str(kubeconfig))
        try:
            return str(client.VersionApi(api).get_code().git_version)
        finally:
            api.close()

    assert await asyncio.to_thread(get_version) == VERSION["gitVersion"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_process_stops_cleanly_on_signal(tmp_path: Path, sig: signal.Signals) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    port = free_port()
    argv = ["--data-dir", str(tmp_path), "--port", str(port), "--admin-kubeconfig", str(kubeconfig)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.apiserver.stub_apiserver", *argv],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while not _ready(kubeconfig):
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.05)
        proc.send_signal(sig)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.wait()


def _ready(kubeconfig: Path) -> bool:
    if not kubeconfig.exists():
        return False
    try:
        api = config.new_client_from_config(config_file=str(kubeconfig))
        try:
            client.VersionApi(api).get_code(_request_timeout=1)
        finally:
            api.close()
    except Exception:
        return False
    return True
