"""Which container runtime the cluster's node runs on, and the private containerd.

``--runtime auto`` (the default) picks ``containerd`` when this process is root and
containerd, runc and the CNI plugins are installed (kubelet/runtime/install.sh installs
them), else ``simulated``, and says why. With containerd the launcher starts a private
containerd (kubelet/runtime/containerd.py: its own config, state and socket under a
short directory in /tmp, since a unix socket path must fit in 108 bytes), imports the
locally built busybox and pause images, and stops it by PID when the cluster stops.
Only node-1 runs on containerd; extra nodes (``--nodes N``) are simulated.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from kubelet.runtime.containerd import Containerd
from kubelet.runtime.images import BUSYBOX_IMAGE, ensure_images

IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
BRIDGE = "pykube0"


def choose(requested: str) -> tuple[str, str]:
    """(runtime, why)."""
    if requested == "simulated":
        return "simulated", "asked for with --runtime simulated"
    missing = [tool for tool in ("containerd", "runc", "ctr") if shutil.which(tool) is None]
    if not Path("/usr/lib/cni/bridge").exists():
        missing.append("CNI plugins (/usr/lib/cni)")
    problem = "not root" if os.geteuid() != 0 else (f"{', '.join(missing)} not installed" if missing else "")
    if requested == "containerd":
        if problem:
            raise SystemExit(
                f"[cluster] --runtime containerd: {problem} (kubelet/runtime/install.sh installs them)"
            )
        return "containerd", "asked for with --runtime containerd"
    if problem:
        return "simulated", f"auto: {problem}, so containerd cannot run pods here"
    return "containerd", "auto: root, and containerd, runc and the CNI plugins are installed"


class PrivateContainerd:
    """The cluster's containerd: start, its socket, stop (by PID) and undo the bridge's changes."""

    def __init__(self, pod_cidr: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pyk-ctd-", dir="/tmp"))
        self.daemon = Containerd(self.dir, pod_cidr=pod_cidr, bridge=BRIDGE)
        self._ip_forward = IP_FORWARD.read_text() if IP_FORWARD.exists() else ""

    def start(self) -> str:
        self.daemon.start()
        ensure_images(self.daemon.socket, self.dir / "images")
        return self.daemon.socket

    @property
    def pid(self) -> int | None:
        return self.daemon.pid

    def stop(self) -> None:
        self.daemon.stop()
        self.daemon.unmount_all()
        if self._ip_forward:
            IP_FORWARD.write_text(self._ip_forward)
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


__all__ = ["BUSYBOX_IMAGE", "PrivateContainerd", "choose"]
