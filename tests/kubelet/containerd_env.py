"""A private containerd for tests, with everything it changes on the host put back.

Skips (with the reason printed) where containerd cannot run: not root, a tool missing,
no CNI plugins, or a daemon that will not start. Otherwise: start it under a short
/tmp path (the socket must fit sockaddr_un), import the local busybox and pause images,
and afterwards stop it by PID, unmount, restore ``ip_forward`` (the bridge plugin turns
it on, isGateway) and delete the bridge it created.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelet.runtime.containerd import Containerd, ContainerdError
from kubelet.runtime.images import ensure_images

IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")


@contextlib.contextmanager
def private_containerd(*, prefix: str, pod_cidr: str, bridge: str) -> Iterator[Containerd]:
    if os.geteuid() != 0:
        pytest.skip("containerd tests need root (namespaces, cgroups, mounts)")
    for tool in ("containerd", "runc", "ctr"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed: run kubelet/runtime/install.sh (./dev test does, as root)")
    if not Path("/usr/lib/cni/bridge").exists():
        pytest.skip("CNI plugins missing in /usr/lib/cni: apt-get install containernetworking-plugins")
    ip_forward = IP_FORWARD.read_text()
    base = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    daemon = Containerd(base, pod_cidr=pod_cidr, bridge=bridge)
    try:
        began = time.monotonic()
        daemon.start()
        ensure_images(daemon.socket, Path(base) / "images")
        print(f"\ncontainerd up and 2 images imported in {time.monotonic() - began:.2f}s")
    except (ContainerdError, subprocess.CalledProcessError, OSError) as err:
        daemon.stop()
        pytest.skip(f"containerd could not start: {err}")
    try:
        yield daemon
    finally:
        daemon.stop()
        daemon.unmount_all()
        IP_FORWARD.write_text(ip_forward)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
