"""``python -m scheduler --kubeconfig K [--leader-elect=true|false]``: run the scheduler.

Like kube-scheduler it is just another API client: it reads the server address and
credentials from the kubeconfig, watches pods and nodes, and writes bindings, events
and pod status. With ``--leader-elect`` (the default, as upstream) several replicas
can run; only the holder of the Lease ``kube-system/kube-scheduler`` schedules.

Mirrors: cmd/kube-scheduler/app/server.go, app/options/options.go.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from client.rest import RESTClient
from scheduler.scheduler import Scheduler


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m scheduler", description="The pod scheduler.")
    p.add_argument("--kubeconfig", required=True, help="kubeconfig of the API server to talk to")
    p.add_argument(
        "--leader-elect",
        type=_bool,
        default=True,
        nargs="?",
        const=True,
        metavar="BOOL",
        help="campaign for the kube-system/kube-scheduler Lease before scheduling (default true)",
    )
    p.add_argument("--leader-elect-lease-duration", type=int, default=15, metavar="SECONDS")
    p.add_argument("--leader-elect-renew-deadline", type=float, default=10.0, metavar="SECONDS")
    p.add_argument("--leader-elect-retry-period", type=float, default=2.0, metavar="SECONDS")
    p.add_argument("--identity", default="", help="leader election identity (default hostname_uuid)")
    p.add_argument(
        "--percentage-of-nodes-to-score",
        type=int,
        default=0,
        metavar="PERCENT",
        help="0 (default) is upstream's adaptive 50 - nodes/125 percent",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    return p.parse_args(argv)


async def main(args: argparse.Namespace) -> int:
    rest = RESTClient.from_kubeconfig(args.kubeconfig, user_agent="scheduler/0.1")
    scheduler = Scheduler(
        rest, percentage_of_nodes_to_score=args.percentage_of_nodes_to_score, identity=args.identity
    )
    task = asyncio.get_running_loop().create_task(
        scheduler.run(
            leader_elect=args.leader_elect,
            lease_duration=args.leader_elect_lease_duration,
            renew_deadline=args.leader_elect_renew_deadline,
            retry_period=args.leader_elect_retry_period,
        )
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        return 0
    finally:
        await rest.aclose()
    return 1 if args.leader_elect else 0  # run() returns only when leadership is lost


if __name__ == "__main__":
    arguments = parse_args()
    logging.basicConfig(
        level=logging.DEBUG if arguments.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    sys.exit(asyncio.run(main(arguments)))
