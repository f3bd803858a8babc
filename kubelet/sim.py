"""``python -m kubelet.sim``: many simulated nodes in one process (the KWOK idea).

    python -m kubelet.sim --kubeconfig K --nodes 100 [--prefix sim-] [--start 0] [--cpu 32 --memory 256Gi --pods 110]
                          [--address 127.0.0.1 | --no-serve]

KWOK (kubernetes-sigs/kwok) fakes thousands of nodes by patching pod status from rules.
Here every node is a *real* kubelet (``kubelet.kubelet.Kubelet``: pod workers, status
manager, probes, back-off, Lease) over its own :class:`SimulatedRuntime`; only the
containers are imaginary. What the nodes share, so that 100 of them are cheap:

* one REST client (one connection pool, at most 64 requests in flight) and **one pod
  informer** for all pods, indexed by
  ``spec.nodeName``; a single router hands each event to the kubelet of that node
  (100 informers would be 100 watches, and 100 handlers would each see every event);
* one event loop: a node costs a few tasks (Lease, status, housekeeping) plus one task
  per pod;
* one HTTPS server (kubelet/server.py) for ``kubectl logs``/``exec``/``attach``/
  ``port-forward``, listening on **one port per node**: every node reports
  ``--address`` as its InternalIP and its own port as
  ``status.daemonEndpoints.kubeletEndpoint.Port``, so the API server's proxy reaches
  it exactly as it reaches a real kubelet, and the connection's local port picks the
  node (``server.by_local_port``). The nodes share one self-signed serving certificate
  (``<root-dir>/pki``) and accept only clients signed by the kubeconfig's CA.

Node ``i`` gets pod CIDR ``10.(128 + i // 256).(i % 256).0/24``. With ``--no-serve``
(no listeners: a thousand nodes would want a thousand sockets) its InternalIP is
``172.30.(i // 256).(i % 256 + 1)``, made up: nothing listens there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from client.cache import final_state, index_by_node_name
from client.informer import SharedInformer
from client.kubeconfig import load_kubeconfig
from client.rest import PODS, RESTClient
from kubelet import server, serving
from kubelet.kubelet import NODE_INDEX, Kubelet, KubeletConfig
from kubelet.node import NodeConfig
from kubelet.runtime.simulated import SimulatedRuntime


def node_addresses(i: int) -> tuple[str, str]:
    """(pod CIDR, node IP) of simulated node ``i``."""
    return f"10.{128 + i // 256}.{i % 256}.0/24", f"172.30.{i // 256}.{i % 256 + 1}"


class LimitedRESTClient(RESTClient):
    """A REST client with at most ``limit`` requests in flight (watches not counted).

    1,000 pods' status writes and events arrive at once. This limit came in when the
    client was httpx, whose pool scanned its whole queue of waiting requests for each
    free connection (quadratic CPU, then PoolTimeout); client/transport.py's waiters
    are a FIFO queue, so today it only keeps the requests in flight, and the
    connections, at 64 instead of the transport's 100.
    """

    def __init__(self, *args: Any, limit: int = 64, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._limit = asyncio.Semaphore(limit)

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        async with self._limit:
            return await super().request(*args, **kwargs)


class SimulatedNodes:
    """``count`` kubelets sharing one REST client and one pod informer."""

    def __init__(
        self,
        rest: RESTClient,
        count: int,
        *,
        prefix: str = "sim-",
        start: int = 0,
        root_dir: Path | None = None,
        capacity: dict[str, str] | None = None,
        sync_period: float = 1.0,
        backoff: tuple[float, float] = (10.0, 300.0),
        events: bool = True,
        lease_renew: float = 10.0,
        serving: server.ServingOptions | None = None,
    ) -> None:
        self.rest, self.serving = rest, serving
        self.pods = SharedInformer.for_resource(
            rest, PODS, name="pods@sim", indexers={NODE_INDEX: index_by_node_name}
        )
        root = root_dir or Path(tempfile.mkdtemp(prefix="pykube-sim-"))
        self.kubelets: dict[str, Kubelet] = {}
        self.sockets: dict[int, socket.socket] = {}  # kubelet port -> its listening socket
        self.apps: dict[int, server.ASGIApp] = {}  # kubelet port -> that node's server app
        self._stop_serving = asyncio.Event()
        self._server: asyncio.Task[None] | None = None
        events_limit = asyncio.Semaphore(8)  # events trickle out; pod status writes come first
        for i in range(start, start + count):
            name = f"{prefix}{i}"
            cidr, ip = node_addresses(i)
            port = 10250  # with no server: reported, but nothing listens
            if serving is not None:
                ip, port = serving.address, self._listen(serving.address)
            node = NodeConfig(name, ip, cidr, dict(capacity or {"cpu": "32", "memory": "256Gi", "pods": "110"}),
                              simulated=True, lease_renew=lease_renew, kubelet_port=port)  # fmt: skip
            config = KubeletConfig(node, root / name, sync_period=sync_period, backoff_initial=backoff[0],
                                   backoff_max=backoff[1], real_network=False, events=events)  # fmt: skip
            runtime = SimulatedRuntime(name, pod_cidr=cidr)
            kubelet = Kubelet(rest, config, runtime, runtime, "simulated", pods=self.pods, routed=True)
            kubelet.broadcaster.limiter = events_limit
            self.kubelets[name] = kubelet
            if serving is not None:
                self.apps[port] = server.create_app(runtime)
        self.pods.add_event_handler(self._add, self._update, self._delete)

    def _listen(self, address: str) -> int:
        """A socket bound to a free port on ``address`` (the server listens on it later)."""
        sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, 0))
        port = int(sock.getsockname()[1])
        self.sockets[port] = sock
        return port

    def _kubelet(self, pod: dict[str, Any]) -> Kubelet | None:
        return self.kubelets.get((pod.get("spec") or {}).get("nodeName") or "")

    def _add(self, pod: dict[str, Any]) -> None:
        if (k := self._kubelet(pod)) is not None:
            k.on_add(pod)

    def _update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        if (k := self._kubelet(new) or self._kubelet(old)) is not None:
            k.on_update(old, new)

    def _delete(self, obj: Any) -> None:
        if (k := self._kubelet(final_state(obj))) is not None:
            k.on_delete(obj)

    async def start(self) -> None:
        self.pods.start()
        await self.pods.wait_for_sync()
        await asyncio.gather(*(k.start() for k in self.kubelets.values()))
        if self.serving is not None and self.sockets:
            sockets, self.sockets = list(self.sockets.values()), {}
            app = server.by_local_port(self.apps)
            self._server = asyncio.create_task(
                server.serve(app, self.serving, self._stop_serving.wait, sockets), name="kubelet-sim server"
            )

    async def stop(self) -> None:
        self._stop_serving.set()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server, 5)
        for sock in self.sockets.values():  # never served (start() was not reached)
            sock.close()
        await asyncio.gather(*(k.stop() for k in self.kubelets.values()))
        await self.pods.stop()


async def amain(a: argparse.Namespace) -> int:
    rest = LimitedRESTClient(load_kubeconfig(a.kubeconfig), user_agent="kubelet-sim/v1.32.0")
    capacity = {"cpu": a.cpu, "memory": a.memory, "pods": str(a.pods)}
    root = a.root_dir or Path(tempfile.mkdtemp(prefix="pykube-sim-"))
    names = [f"{a.prefix}{i}" for i in range(a.start, a.start + a.nodes)]
    options = None if a.no_serve else serving_options(Path(a.kubeconfig), root / "pki", a.address, names)
    nodes = SimulatedNodes(rest, a.nodes, prefix=a.prefix, start=a.start, root_dir=root, capacity=capacity,
                           sync_period=a.sync_period, events=not a.no_events, serving=options)  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await nodes.start()
        last = a.start + a.nodes - 1
        logging.info("%d simulated nodes running (%s%d .. %s%d)", a.nodes, a.prefix, a.start, a.prefix, last)
        if options is not None:
            ports = sorted(k.config.node.kubelet_port for k in nodes.kubelets.values())
            logging.info(
                "their kubelet endpoints: https://%s on ports %s", a.address, ", ".join(map(str, ports))
            )
        await stop.wait()
    finally:
        await nodes.stop()
        await rest.aclose()
    return 0


def serving_options(kubeconfig: Path, pki: Path, address: str, names: list[str]) -> server.ServingOptions:
    """One self-signed serving certificate for all the nodes; clients must hold one the cluster CA signed."""
    cert, key = serving.self_signed(pki, "kubelet-sim", [address, *names])
    client_ca = serving.client_ca_from_kubeconfig(kubeconfig, pki / "client-ca.crt")
    return server.ServingOptions(cert, key, client_ca, address=address, port=0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kubelet.sim", description="Run many simulated nodes.")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--nodes", type=int, default=10)
    p.add_argument("--prefix", default="sim-")
    p.add_argument("--start", type=int, default=0, help="index of the first node (names are PREFIX<index>)")
    p.add_argument("--root-dir", type=Path, default=None)
    p.add_argument("--cpu", default="32")
    p.add_argument("--memory", default="256Gi")
    p.add_argument("--pods", type=int, default=110)
    p.add_argument("--sync-period", type=float, default=1.0)
    p.add_argument("--no-events", action="store_true", help="record no Events (less API load at scale)")
    p.add_argument(
        "--address",
        default="127.0.0.1",
        help="the nodes' InternalIP; each serves logs/exec on its own port there",
    )
    p.add_argument("--no-serve", action="store_true", help="no logs/exec/port-forward endpoints (no sockets)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("hypercorn.error").setLevel(logging.WARNING)  # not one "Running on" line per node
    return asyncio.run(amain(a))


if __name__ == "__main__":
    sys.exit(main())
