"""``cluster up``: start the components, wait for the API server, supervise, stop cleanly.

The life of a local cluster, in the order kubeadm init + kubelet would go through it:

1. start the API server; on first start it creates the PKI and writes the admin
   kubeconfig to DATA_DIR/kubeconfig (kubeadm's certs and kubeconfig phases),
2. wait until ``/readyz`` answers through that kubeconfig (kubeadm's wait-control-plane),
3. choose the nodes' container runtime (cluster/runtime.py) and, for containerd, start
   the private containerd; then start the other components (scheduler, controllers,
   kubelets), which read the same kubeconfig,
4. print ``export KUBECONFIG=...`` and stay in the foreground; report any component
   that exits; if the API server dies, stop everything and fail,
5. on SIGINT/SIGTERM stop every component, last started first.
"""

from __future__ import annotations

import dataclasses
import signal
import threading
import time
from types import FrameType

from cluster import readiness, supervisor
from cluster import runtime as node_runtime
from cluster.components import APISERVER, COMPONENTS, ClusterConfig, Component
from cluster.supervisor import Child

#: How long the API server gets to become ready (first start includes key generation).
READY_TIMEOUT = 60.0
POLL_INTERVAL = 0.2


def say(message: str) -> None:
    print(f"[cluster] {message}", flush=True)


def _report_exits(children: list[Child]) -> bool:
    """Report newly exited children; True when a critical one is among them."""
    critical = False
    for child in children:
        code = child.process.poll()
        if code is None or child.reported:
            continue
        child.reported = True
        say(f"{child.name} (pid {child.pid}) exited with code {code}; it is not restarted.")
        tail = supervisor.log_tail(child)
        if tail:
            say(f"last lines of {child.log_path}:\n{tail}")
        critical = critical or child.component.critical
    return critical


def _wait_ready(config: ClusterConfig, apiserver: Child, stopping: threading.Event) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    while not stopping.is_set() and apiserver.process.poll() is None:
        if config.kubeconfig.exists() and readiness.is_ready(config.kubeconfig):
            return True
        if time.monotonic() > deadline:
            say(f"the API server was not ready within {READY_TIMEOUT:g}s (see {apiserver.log_path})")
            return False
        stopping.wait(POLL_INTERVAL)
    return False


def _is_node(component: Component) -> bool:
    return component.module.split(".")[0] == "kubelet"


def up(config: ClusterConfig) -> int:
    """Run the cluster in the foreground until a signal; the process exit code."""
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        say(f"{signal.Signals(signum).name} received, stopping")
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    config.data_dir.mkdir(parents=True, exist_ok=True)
    # A kubeconfig left by an earlier run may name another port: wait for the new one.
    config.kubeconfig.unlink(missing_ok=True)

    children: list[Child] = []
    containerd: node_runtime.PrivateContainerd | None = None
    failed = False
    try:
        apiserver = supervisor.start(APISERVER, config)
        children.append(apiserver)
        say(f"started {apiserver.name} (pid {apiserver.pid}), log: {apiserver.log_path}")
        if not _wait_ready(config, apiserver, stopping):
            failed = not stopping.is_set()
            _report_exits(children)
            return 1 if failed else 0
        say(f"{apiserver.name} is ready on port {config.port}")

        if config.nodes > 0 and any(_is_node(c) for c in COMPONENTS):
            requested = config.runtime
            chosen, why = node_runtime.choose(requested)
            say(f"node runtime: {chosen} ({why})")
            config = dataclasses.replace(config, runtime=chosen)
            if chosen == "containerd":
                containerd = node_runtime.PrivateContainerd(pod_cidr="10.244.1.0/24")
                try:
                    socket = containerd.start()
                except Exception as err:
                    containerd.stop()
                    containerd = None
                    if requested == "containerd":
                        raise SystemExit(f"[cluster] containerd could not start: {err}") from err
                    say(f"containerd could not start ({err}); node runtime: simulated")
                    config = dataclasses.replace(config, runtime="simulated")
                else:
                    say(f"started containerd (pid {containerd.pid}), socket: {socket}")
                    image = node_runtime.BUSYBOX_IMAGE
                    say(f"local image {image}: kubectl run web --image={image} -- httpd -f -p 8080")
                    config = dataclasses.replace(config, containerd_socket=socket)

        for component in COMPONENTS:
            if not component.enabled(config) or (_is_node(component) and config.nodes < 1):
                continue
            child = supervisor.start(component, config)
            children.append(child)
            say(f"started {child.name} (pid {child.pid}), log: {child.log_path}")

        print(f"export KUBECONFIG={config.kubeconfig}", flush=True)
        print("# then try: kubectl get ns", flush=True)

        while not stopping.wait(POLL_INTERVAL):
            if _report_exits(children):
                say("a critical component died; stopping the cluster")
                failed = True
                break
        return 1 if failed else 0
    finally:
        supervisor.stop_all(children)
        if containerd is not None:
            containerd.stop()
            say(f"containerd stopped (pid {containerd.pid})")
