"""``python -m controllers --kubeconfig K [--leader-elect] [--controllers=*]``: the controller manager.

Flags follow kube-controller-manager's: ``--controllers`` takes a comma-separated
list where ``*`` means all, ``foo`` enables and ``-foo`` disables one;
``--leader-elect`` runs the controllers only while holding the Lease
``kube-system/kube-controller-manager``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from client.metrics import serve as serve_metrics
from client.rest import RESTClient
from controllers.manager import Manager, all_controllers


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m controllers", description=__doc__.splitlines()[0])
    p.add_argument("--kubeconfig", required=True, help="kubeconfig to reach the API server")
    p.add_argument("--controllers", default="*", help=f"'*', or some of: {','.join(all_controllers())}")
    p.add_argument(
        "--leader-elect",
        nargs="?",
        const=True,
        default=False,
        type=lambda v: v.lower() in ("true", "1", "yes"),
        help="run only while holding the leader Lease (--leader-elect or --leader-elect=true)",
    )
    p.add_argument("--leader-elect-lease-duration", type=int, default=15)
    p.add_argument("--leader-elect-renew-deadline", type=float, default=10.0)
    p.add_argument("--leader-elect-retry-period", type=float, default=2.0)
    p.add_argument("--identity", default="", help="leader election identity (default host_pid_random)")
    p.add_argument("--node-monitor-grace-period", type=float, default=40.0)
    p.add_argument(
        "--pod-eviction-timeout", type=float, default=300.0, help="unused upstream too; kept for parity"
    )
    p.add_argument("--terminated-pod-gc-threshold", type=int, default=12500)
    p.add_argument("--max-endpoints-per-slice", type=int, default=100, help="endpoints in one EndpointSlice")
    p.add_argument(
        "--metrics-port",
        type=int,
        default=0,
        help="serve /metrics (workqueue depth, adds, retries per controller) and /healthz on this "
        "plain-HTTP port on 127.0.0.1; 0: off (kube-controller-manager: HTTPS on --secure-port 10257)",
    )
    p.add_argument("--concurrent-syncs", type=int, default=0, help="workers per controller (0: each default)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> None:
    options = {
        "nodelifecycle": {"grace_period": args.node_monitor_grace_period},
        "podgc": {"threshold": args.terminated_pod_gc_threshold},
        "endpointslice": {"max_endpoints_per_slice": args.max_endpoints_per_slice},
    }
    async with RESTClient.from_kubeconfig(
        args.kubeconfig, user_agent="kube-controller-manager/pykube"
    ) as rest:
        manager = Manager(rest, args.controllers.split(","), options=options)
        if args.concurrent_syncs:
            for c in manager.controllers.values():
                c.workers = args.concurrent_syncs  # type: ignore[misc]
        if args.metrics_port:
            await serve_metrics(manager.metrics, args.metrics_port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        run = loop.create_task(
            manager.run(
                leader_elect=args.leader_elect,
                identity=args.identity,
                lease_duration=args.leader_elect_lease_duration,
                renew_deadline=args.leader_elect_renew_deadline,
                retry_period=args.leader_elect_retry_period,
            )
        )
        waiter = loop.create_task(stop.wait())
        await asyncio.wait({run, waiter}, return_when=asyncio.FIRST_COMPLETED)
        run.cancel()
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run  # releases the leader lease on the way out


if __name__ == "__main__":
    a = parse_args()
    logging.basicConfig(
        level=logging.DEBUG if a.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    asyncio.run(main(a))
