"""The all-in-one cluster on real containers, driven as a user drives it (issue: the kubelet).

``python -m cluster up --runtime containerd`` as root: apiserver, scheduler, controller
manager, a private containerd and the kubelet. Then, with the real kubectl: run an
httpd pod, read a completed pod's logs, exec (output and exit code), port-forward to
the pod's port, a readiness probe gating Ready and a Service's endpoints, delete. Skipped, with the reason, where containerd cannot run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from .test_launcher import Launcher

IMAGE = "pykube.local/busybox:1.36"

needs_containerd = pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(b) for b in ("containerd", "runc", "ctr")),
    reason="needs root and containerd, runc, ctr (./dev test installs them as root)",
)


def _kubectl(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    r = subprocess.run(
        ["kubectl", *args], capture_output=True, text=True, env=env, timeout=90, stdin=subprocess.DEVNULL
    )
    if check and r.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {r.stderr}")
    return r


def _wait(env: dict[str, str], *args: str, want: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        last = _kubectl(env, *args, check=False).stdout
        if want in last:
            return
        time.sleep(0.5)
    raise AssertionError(f"kubectl {' '.join(args)} never showed {want!r}; last: {last!r}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@needs_containerd
@pytest.mark.slow
def test_run_logs_exec_port_forward_delete_on_real_containers(tmp_path: Path) -> None:
    launcher = Launcher(["cluster"], tmp_path / "data", ["--runtime", "containerd"])
    try:
        launcher.wait_for(r"^export KUBECONFIG=", timeout=90)
        env = {**os.environ, "HOME": str(tmp_path), "KUBECACHEDIR": str(tmp_path / "cache"),
               "KUBECONFIG": str(tmp_path / "data" / "kubeconfig")}  # fmt: skip
        _wait(env, "get", "nodes", want=" Ready ")
        assert "containerd://" in _kubectl(env, "get", "nodes", "-o", "wide").stdout

        _kubectl(
            env,
            "run",
            "echo",
            f"--image={IMAGE}",
            "--restart=Never",
            "--",
            "sh",
            "-c",
            "echo hello from a container",
        )
        _wait(env, "get", "pod", "echo", want="Completed")
        assert _kubectl(env, "logs", "echo").stdout == "hello from a container\n"

        _kubectl(env, "run", "web", f"--image={IMAGE}", "--", "httpd", "-f", "-p", "8080")
        _wait(env, "get", "pod", "web", want="Running")
        r = _kubectl(
            env,
            "exec",
            "web",
            "--",
            "sh",
            "-c",
            "echo served > /index.html; echo in-pod; exit 3",
            check=False,
        )
        assert (r.returncode, r.stdout) == (3, "in-pod\n")

        port = _free_port()
        forward = subprocess.Popen(["kubectl", "port-forward", "pod/web", f"{port}:8080"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
        try:
            assert forward.stdout is not None and "Forwarding from" in forward.stdout.readline()
            for _ in range(2):  # one kubectl session, several connections
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=10) as resp:
                    assert resp.read() == b"served\n"
        finally:
            forward.terminate()
            forward.wait(10)

        # readiness gates Ready and the Service's endpoints: not ready until the probe's file exists
        ready_pod = json.dumps({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "gate", "labels": {"app": "gate"}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                "name": "c", "image": IMAGE, "command": ["sleep", "3600"],
                "readinessProbe": {"exec": {"command": ["cat", "/tmp/ready"]}, "periodSeconds": 1},
            }]},
        })  # fmt: skip
        subprocess.run(["kubectl", "apply", "-f", "-"], input=ready_pod, env=env, text=True, check=True,
                       capture_output=True, timeout=60)  # fmt: skip
        _kubectl(env, "expose", "pod", "gate", "--port=80")
        jsonpath = "-o=jsonpath={.subsets[*].notReadyAddresses[*].ip}/{.subsets[*].addresses[*].ip}"
        _wait(env, "get", "pod", "gate", want="0/1")
        _wait(env, "get", "endpoints", "gate", jsonpath, want="10.")  # listed, not ready
        ip = _kubectl(env, "get", "pod", "gate", "-o=jsonpath={.status.podIP}").stdout
        assert _kubectl(env, "get", "endpoints", "gate", jsonpath).stdout == f"{ip}/"
        _kubectl(env, "exec", "gate", "--", "touch", "/tmp/ready")
        _wait(env, "get", "endpoints", "gate", jsonpath, want=f"/{ip}")  # now a ready address
        assert "1/1" in _kubectl(env, "get", "pod", "gate").stdout

        assert _kubectl(env, "delete", "pod", "web").stdout.strip() == 'pod "web" deleted'
        assert _kubectl(env, "get", "pod", "web", check=False).returncode == 1
    finally:
        launcher.proc.terminate()
        launcher.wait(60)
