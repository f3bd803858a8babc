"""The cluster's components: which processes ``python -m cluster up`` runs, and how.

What kubeadm expresses as static pod manifests (cmd/kubeadm/app/phases/controlplane/
manifests.go: one manifest per control-plane component, each a command line) is here a
small table: one row per component, each a Python module run as its own process with
its flags. The API server comes first and the others wait for it to be ready; they find
it the way any client does, through the kubeconfig it wrote.

Later components (scheduler, controller-manager, kubelet) are new rows in ``COMPONENTS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ClusterConfig:
    """What ``cluster up`` was asked for: the flags every component's flags derive from."""

    data_dir: Path  # absolute
    port: int
    storage: str

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

#: Started in this order once the API server is ready; stopped in reverse.
COMPONENTS: list[Component] = [SCHEDULER, CONTROLLER_MANAGER]
