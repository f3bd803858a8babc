"""A private containerd: its own config, root, state and socket under one directory.

containerd is the daemon that keeps images and runs containers; its built-in CRI
plugin (``io.containerd.grpc.v1.cri``) is what the kubelet talks to. For each pod
sandbox it starts a *shim* (``containerd-shim-runc-v2``), a small process that outlives
containerd restarts, and asks ``runc`` to create the pause container with fresh
namespaces; each container is another ``runc create`` that joins those namespaces.

We never touch a system containerd. :class:`Containerd` writes a ``config.toml`` that
keeps everything under ``DIR`` (the fixes from ../shared/reference/containerd-cri.md):

* ``restrict_oom_score_adj = true``: a VM without CAP_SYS_RESOURCE cannot give the
  sandbox oom_score_adj -998, and ``runc create`` fails without it;
* ``runtime_type = "io.containerd.runc.v2"`` (required) with runc's state under ``DIR/runc``,
  and ``netns_mounts_under_state_dir`` so network namespaces are bind-mounted under ``DIR``;
* ``sandbox_image`` = our locally built pause image, so no pull is attempted;
* CNI plugins from Debian (``/usr/lib/cni``) and a config dir under ``DIR``, holding a
  ``bridge`` network whose ``host-local`` IPAM hands out the node's pod CIDR (containerd
  adds the ``loopback`` plugin for ``lo`` itself).

It is started with ``setsid`` (its own session: a Ctrl-C to the test or launcher does
not reach it) and stopped by its PID, never by name; the shims of this containerd
are found by their ``-address DIR/...`` argument and stopped by PID too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from kubelet.runtime.images import PAUSE_IMAGE

CNI_BIN_DIR = "/usr/lib/cni"

CONFIG = """\
version = 2
root = "{dir}/root"
state = "{dir}/state"
[grpc]
  address = "{dir}/run/containerd.sock"
[ttrpc]
  address = "{dir}/run/containerd.sock.ttrpc"
[debug]
  level = "warn"
[plugins."io.containerd.internal.v1.opt"]
  path = "{dir}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{sandbox_image}"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{dir}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin_dir}"
    conf_dir = "{dir}/cni/net.d"
"""


def cni_conflist(pod_cidr: str, bridge: str, ipam_dir: str) -> dict[str, object]:
    """A bridge network: every pod gets a veth pair whose host end joins ``bridge``; the
    bridge holds the gateway address (``isGateway``), so the host routes to pods."""
    return {
        "cniVersion": "0.4.0",
        "name": "pykube",
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": pod_cidr}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": ipam_dir,
                },
            }
        ],
    }


class ContainerdError(RuntimeError):
    pass


class Containerd:
    """``start()`` / ``stop()`` one containerd under ``base_dir`` (at most 100 chars: the
    socket path must fit a sockaddr_un)."""

    def __init__(
        self,
        base_dir: str | Path,
        pod_cidr: str | None = None,
        bridge: str = "pykube0",
        sandbox_image: str = PAUSE_IMAGE,
        binary: str = "containerd",
    ) -> None:
        self.dir = Path(base_dir).resolve()
        self.pod_cidr, self.bridge, self.sandbox_image, self.binary = pod_cidr, bridge, sandbox_image, binary
        self.pid: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> str:
        return str(self.dir / "run" / "containerd.sock")

    @property
    def endpoint(self) -> str:
        return f"unix://{self.socket}"

    @property
    def log_file(self) -> Path:
        return self.dir / "containerd.log"

    def write_config(self) -> Path:
        for sub in ("root", "state", "run", "opt", "runc", "cni/net.d", "cni/ipam"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        config = self.dir / "config.toml"
        config.write_text(
            CONFIG.format(dir=self.dir, sandbox_image=self.sandbox_image, cni_bin_dir=CNI_BIN_DIR)
        )
        if self.pod_cidr:
            conflist = cni_conflist(self.pod_cidr, self.bridge, str(self.dir / "cni" / "ipam"))
            (self.dir / "cni" / "net.d" / "10-pykube.conflist").write_text(json.dumps(conflist, indent=2))
        return config

    def start(self, timeout: float = 15.0) -> None:
        """Start containerd and wait until it answers on its socket."""
        if shutil.which(self.binary) is None:
            raise ContainerdError(f"{self.binary} is not installed (apt-get install containerd runc)")
        config = self.write_config()
        with open(self.log_file, "ab") as log:
            self._proc = subprocess.Popen(
                [self.binary, "--config", str(config)],
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # setsid
            )
        self.pid = self._proc.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ContainerdError(f"containerd exited with {self._proc.returncode}: {self._log_tail()}")
            if os.path.exists(self.socket) and self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise ContainerdError(f"containerd did not answer within {timeout}s: {self._log_tail()}")

    def _answers(self) -> bool:
        result = subprocess.run(["ctr", "-a", self.socket, "version"], capture_output=True, timeout=5)
        return result.returncode == 0

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text()[-2000:]
        except OSError:
            return ""

    def shim_pids(self) -> list[int]:
        """PIDs of the shims this containerd started (their ``-address`` is our socket)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"containerd-shim-runc-v2") and self.socket.encode() in argv:
                pids.append(int(entry.name))
        return pids

    def stop(self, timeout: float = 10.0, kill_shims: bool = True) -> None:
        """Stop containerd by PID (SIGTERM, then SIGKILL); then, unless told not to, the
        shims it left behind (containers survive a containerd restart: that is the point
        of shims, and here we do want them gone)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        if kill_shims:
            shims = self.shim_pids()
            for pid in shims:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 5
            while any(_alive(pid) for pid in shims) and time.monotonic() < deadline:
                time.sleep(0.02)
        self._proc = None

    def unmount_all(self) -> None:
        """Lazily unmount whatever is still mounted under our directory (rootfs
        overlays, network-namespace bind mounts), deepest first, so it can be removed."""
        prefix = str(self.dir) + "/"
        with open("/proc/self/mounts") as mounts:
            points = [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True)


def _alive(pid: int) -> bool:
    """Still running (a zombie waiting for init to reap it counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False
