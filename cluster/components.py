"""The cluster's components: which processes ``python -m cluster up`` runs, and how.

What kubeadm expresses as static pod manifests (cmd/kubeadm/app/phases/controlplane/
manifests.go: one manifest per control-plane component, each a command line) is here a
small table: one row per component, each a Python module run as its own process with
its flags. The API server comes first and the others wait for it to be ready; they find
it the way any client does, through the kubeconfig it wrote.

Later components are new rows in ``COMPONENTS``. The nodes: ``kubelet`` runs node-1 on the
runtime chosen by ``--runtime`` (cluster/runtime.py); with ``--nodes N`` the other N-1
nodes are simulated kubelets in one ``python -m kubelet.sim`` process.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ClusterConfig:
    """What ``cluster up`` was asked for: the flags every component's flags derive from."""

    data_dir: Path  # absolute
    port: int
    storage: str
    #: How many nodes (kubelets): node-1 .. node-N.
    nodes: int = 1
    #: The container runtime: "auto" until the launcher resolves it (cluster/runtime.py)
    #: to "containerd" or "simulated".
    runtime: str = "auto"
    #: The private containerd's socket, once the launcher has started it.
    containerd_socket: str = ""

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


@dataclass(frozen=True)
class Component:
    name: str
    #: Run as ``python -m <module> <args(config)...>``.
    module: str
    args: Callable[[ClusterConfig], list[str]]
    #: The cluster cannot run without it: if it dies, ``cluster up`` stops everything and fails.
    critical: bool = False
    #: Seconds between SIGTERM and SIGKILL when stopping it (a pod's
    #: terminationGracePeriodSeconds). The API server drains requests for 5 s.
    stop_timeout: float = 10.0
    #: Whether this cluster runs it at all (the extra simulated nodes only when --nodes > 1).
    enabled: Callable[[ClusterConfig], bool] = lambda c: True


APISERVER = Component(
    name="apiserver",
    module="apiserver",
    args=lambda c: [
        "--data-dir",
        str(c.data_dir),
        "--port",
        str(c.port),
        "--storage",
        c.storage,
        # The API server writes the admin kubeconfig once its certificates exist.
        "--admin-kubeconfig",
        str(c.kubeconfig),
    ],
    critical=True,
)

SCHEDULER = Component(
    name="scheduler",
    module="scheduler",
    # One scheduler per cluster here, but it still takes the kube-system/kube-scheduler
    # Lease, as kube-scheduler does under kubeadm (--leader-elect=true).
    args=lambda c: ["--kubeconfig", str(c.kubeconfig), "--leader-elect=true"],
)

CONTROLLER_MANAGER = Component(
    name="controller-manager",
    module="controllers",
    # Like kube-controller-manager under kubeadm: every controller, holding the
    # kube-system/kube-controller-manager Lease (--leader-elect=true).
    args=lambda c: ["--kubeconfig", str(c.kubeconfig), "--leader-elect=true"],
)

POD_CIDR = "10.244.{}.0/24"  # node-i gets 10.244.i.0/24


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kubelet_args(c: ClusterConfig) -> list[str]:
    """node-1: on containerd (the private one the launcher started) or simulated.

    Its HTTPS port (logs, exec, port-forward) is a free one rather than 10250, so
    several clusters, or a real kubelet, can share the machine.
    """
    args = ["--kubeconfig", str(c.kubeconfig), "--node-name", "node-1", "--runtime", c.runtime,
            "--root-dir", str(c.data_dir / "kubelet" / "node-1"), "--pod-cidr", POD_CIDR.format(1),
            "--port", str(_free_port())]  # fmt: skip
    if c.runtime == "containerd":
        args += ["--containerd-socket", c.containerd_socket]
    return args


KUBELET = Component(name="kubelet", module="kubelet", args=_kubelet_args, stop_timeout=15.0)

SIMULATED_NODES = Component(
    name="kubelet-sim",
    module="kubelet.sim",
    # node-2 .. node-N: simulated kubelets sharing one process (kubelet/sim.py).
    args=lambda c: [
        *("--kubeconfig", str(c.kubeconfig), "--nodes", str(c.nodes - 1), "--prefix", "node-"),
        *("--start", "2", "--root-dir", str(c.data_dir / "kubelet")),
    ],
    enabled=lambda c: c.nodes > 1,
    stop_timeout=15.0,
)

#: Started in this order once the API server is ready; stopped in reverse.
COMPONENTS: list[Component] = [SCHEDULER, CONTROLLER_MANAGER, KUBELET, SIMULATED_NODES]
