"""``python -m kubelet``: run one node agent (pkg/kubelet's cmd/kubelet/app/server.go).

    python -m kubelet --kubeconfig K --node-name N --runtime containerd|simulated
                      [--containerd-socket S] [--root-dir D] [--pod-cidr C] [--node-ip IP]
                      [--cpu 4 --memory 8Gi --pods 110]   (capacity: the host's unless given)
                      [--backoff-initial 10 --backoff-max 300] [--sync-period 1]

With ``--runtime containerd`` and no ``--containerd-socket``, a private containerd is
started under ``ROOT_DIR/containerd`` (kubelet/runtime/containerd.py) with the local
busybox and pause images, and stopped (by PID) when the kubelet exits.
Many simulated nodes in one process: ``python -m kubelet.sim``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from client.rest import RESTClient
from kubelet import server, serving
from kubelet.kubelet import Kubelet, KubeletConfig
from kubelet.node import NodeConfig, host_capacity, host_ip
from kubelet.runtime import interface as rt


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m kubelet", description="Run a node agent.")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--node-name", required=True)
    p.add_argument("--runtime", choices=["containerd", "simulated"], default="simulated")
    p.add_argument("--containerd-socket", default="", help="an already running containerd (else start one)")
    p.add_argument("--root-dir", type=Path, default=Path("/var/lib/pykube-kubelet"))
    p.add_argument("--pod-cidr", default="10.244.0.0/24")
    p.add_argument("--node-ip", default="")
    p.add_argument("--cpu", default="")
    p.add_argument("--memory", default="")
    p.add_argument("--pods", type=int, default=110)
    p.add_argument("--backoff-initial", type=float, default=10.0, help="CrashLoopBackOff first delay (s)")
    p.add_argument("--backoff-max", type=float, default=300.0, help="CrashLoopBackOff cap (s)")
    p.add_argument(
        "--sync-period", type=float, default=1.0, help="how often each pod re-reads the runtime (s)"
    )
    p.add_argument("--lease-renew", type=float, default=10.0)
    p.add_argument(
        "--port", type=int, default=10250, help="the kubelet's HTTPS port (logs, exec, port-forward)"
    )
    p.add_argument("--address", default="0.0.0.0", help="the address the kubelet serves on")
    p.add_argument("--tls-cert-file", type=Path, help="serving certificate (default: self-signed, made once)")
    p.add_argument("--tls-private-key-file", type=Path)
    p.add_argument("--client-ca-file", type=Path, help="CA of allowed clients (default: the kubeconfig's CA)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


async def amain(a: argparse.Namespace) -> int:
    root = a.root_dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    capacity = host_capacity(root, a.pods)
    capacity.update({k: v for k, v in (("cpu", a.cpu), ("memory", a.memory)) if v})
    daemon = None
    runtime: rt.RuntimeService
    images: rt.ImageService
    if a.runtime == "containerd":
        from kubelet.runtime.cri import CRIRuntime

        socket = a.containerd_socket
        if not socket:
            from kubelet.runtime.containerd import Containerd
            from kubelet.runtime.images import ensure_images

            daemon = Containerd(root / "containerd", pod_cidr=a.pod_cidr)
            daemon.start()
            ensure_images(daemon.socket, root / "images")
            socket = daemon.socket
        cri = CRIRuntime(socket if socket.startswith("unix://") else f"unix://{socket}")
        runtime, images, prefix = cri, cri, "containerd"
    else:
        from kubelet.runtime.simulated import SimulatedRuntime

        sim = SimulatedRuntime(a.node_name, pod_cidr=a.pod_cidr)
        runtime, images, prefix = sim, sim, "simulated"
    node = NodeConfig(
        a.node_name, a.node_ip or host_ip(), a.pod_cidr, capacity,
        simulated=a.runtime == "simulated", lease_renew=a.lease_renew, kubelet_port=a.port,
    )  # fmt: skip
    serving = _serving_options(a, root, node.host_ip)
    config = KubeletConfig(
        node, root, sync_period=a.sync_period, backoff_initial=a.backoff_initial, backoff_max=a.backoff_max,
        real_network=a.runtime == "containerd", manage_cgroups=a.runtime == "containerd",
    )  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    rest = RESTClient.from_kubeconfig(a.kubeconfig, user_agent=f"kubelet/v1.32.0 ({a.node_name})")
    kubelet = Kubelet(rest, config, runtime, images, prefix)
    server_task: asyncio.Task[None] | None = None
    try:
        await kubelet.start()
        # The kubelet's own HTTPS endpoint: what the API server proxies logs/exec/port-forward to.
        server_task = asyncio.create_task(server.serve(server.create_app(runtime), serving, stop.wait))
        logging.info(
            "kubelet %s running (%s runtime), serving on %s:%d", a.node_name, a.runtime, a.address, a.port
        )
        await stop.wait()
    finally:
        if server_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server_task, 5)
        await kubelet.stop()
        await runtime.close()
        await rest.aclose()
        if daemon is not None:
            with contextlib.suppress(Exception):
                daemon.stop()
    return 0


def _serving_options(a: argparse.Namespace, root: Path, node_ip: str) -> server.ServingOptions:
    """``--tls-*`` and ``--client-ca-file``, or the kubelet's defaults (kubelet/serving.py)."""
    if a.tls_cert_file and a.tls_private_key_file:
        cert, key = a.tls_cert_file, a.tls_private_key_file
    else:
        cert, key = serving.self_signed(root / "pki", a.node_name, [node_ip])
    client_ca = a.client_ca_file or serving.client_ca_from_kubeconfig(
        Path(a.kubeconfig), root / "pki" / "client-ca.crt"
    )
    return server.ServingOptions(cert, key, client_ca, address=a.address, port=a.port)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if a.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return asyncio.run(amain(a))


if __name__ == "__main__":
    sys.exit(main())
