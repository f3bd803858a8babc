"""``python -m cluster up``: run a whole cluster on this machine, in the foreground.

    python -m cluster up --data-dir DIR --port PORT [--storage sqlite|etcd://HOST:PORT[,HOST:PORT...]]
                         [--nodes N] [--runtime auto|containerd|simulated]

This command line is a public interface (./dev up and the tests use it): keep it stable.
Plays the part of kubeadm init plus the kubelet that runs the control plane
(cmd/kubeadm/app/cmd/init.go): see cluster/launcher.py for the sequence.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cluster.components import ClusterConfig
from cluster.launcher import up


def parse_args(argv: list[str] | None = None) -> tuple[str, ClusterConfig]:
    p = argparse.ArgumentParser(prog="python -m cluster", description="Run a local cluster.")
    commands = p.add_subparsers(dest="command", required=True)
    u = commands.add_parser("up", help="start every component and supervise them until Ctrl-C")
    u.add_argument(
        "--data-dir", type=Path, required=True, help="state: store, certificates, logs, kubeconfig"
    )
    u.add_argument("--port", type=int, default=6443, help="the API server's port (default 6443)")
    u.add_argument("--storage", default="sqlite", help="sqlite | etcd://HOST:PORT[,HOST:PORT...]")
    u.add_argument("--nodes", type=int, default=1, help="how many nodes (default 1); node-2.. are simulated")
    u.add_argument(
        "--runtime",
        choices=["auto", "containerd", "simulated"],
        default="auto",
        help="node-1's container runtime; auto: containerd when root and installed, else simulated",
    )
    a = p.parse_args(argv)
    config = ClusterConfig(
        data_dir=a.data_dir.resolve(),
        port=a.port,
        storage=a.storage,
        nodes=max(a.nodes, 0),
        runtime=a.runtime,
    )
    return a.command, config


def main(argv: list[str] | None = None) -> int:
    command, config = parse_args(argv)
    if command == "up":
        return up(config)
    raise AssertionError(command)  # argparse allows only the commands above


if __name__ == "__main__":
    sys.exit(main())
