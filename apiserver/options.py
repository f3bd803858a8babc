"""Command-line options of the API server, as one dataclass.

Mirrors the handful of kube-apiserver flags this server has
(cmd/kube-apiserver/app/options/options.go): where it listens, where its state and
certificates live, and which storage backend it uses.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ServerOptions:
    data_dir: Path
    port: int = 6443
    bind_address: str = "127.0.0.1"
    #: "sqlite" (embedded, the default) or "etcd://HOST:PORT[,HOST:PORT...]".
    storage: str = "sqlite"
    #: Serve plain HTTP instead of HTTPS (kubectl then sends no credentials at all).
    insecure_http: bool = False
    #: Static bearer tokens accepted besides client certificates: token -> user name.
    tokens: dict[str, str] = field(default_factory=dict)
    #: Where the CA, serving and admin certificates live (default DATA_DIR/pki).
    pki_dir: Path | None = None
    #: Events each watch cache keeps for watches that resume from a resourceVersion.
    watch_cache_size: int = 10_000
    #: Seconds between storage compactions (kube-apiserver --etcd-compaction-interval); 0 = never.
    compaction_interval: float = 300.0
    #: Also write an admin kubeconfig for this server here (kubeadm's admin.conf).
    admin_kubeconfig: Path | None = None

    @property
    def pki(self) -> Path:
        return self.pki_dir or self.data_dir / "pki"


def parse_args(argv: list[str] | None = None) -> ServerOptions:
    p = argparse.ArgumentParser(prog="python -m apiserver", description="The Kubernetes API server.")
    p.add_argument("--data-dir", type=Path, required=True, help="state: embedded store, certificates")
    p.add_argument("--port", type=int, default=6443, help="secure port (default 6443)")
    p.add_argument("--bind-address", default="127.0.0.1")
    p.add_argument("--storage", default="sqlite", help="sqlite | etcd://HOST:PORT[,HOST:PORT...]")
    p.add_argument("--insecure-http", action="store_true", help="serve plain HTTP without authentication")
    p.add_argument("--token-auth-file", type=Path, help="CSV of token,user lines, as kube-apiserver's")
    p.add_argument("--admin-kubeconfig", type=Path, help="write an admin kubeconfig for this server here")
    p.add_argument("--watch-cache-size", type=int, default=10_000, help="events kept per watch cache")
    p.add_argument(
        "--etcd-compaction-interval", type=float, default=300.0, help="seconds between compactions (0: never)"
    )
    a = p.parse_args(argv)
    tokens: dict[str, str] = {}
    if a.token_auth_file:
        for line in a.token_auth_file.read_text().splitlines():
            parts = [x.strip() for x in line.split(",")]
            if len(parts) >= 2 and parts[0] and not parts[0].startswith("#"):
                tokens[parts[0]] = parts[1]
    return ServerOptions(
        data_dir=a.data_dir,
        port=a.port,
        bind_address=a.bind_address,
        storage=a.storage,
        insecure_http=a.insecure_http,
        tokens=tokens,
        admin_kubeconfig=a.admin_kubeconfig,
        watch_cache_size=a.watch_cache_size,
        compaction_interval=a.etcd_compaction_interval,
    )
