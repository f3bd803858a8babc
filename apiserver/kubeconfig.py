"""The admin kubeconfig: how kubectl finds this cluster and proves who it is.

Mirrors kubeadm's kubeconfig phase (cmd/kubeadm/app/phases/kubeconfig/kubeconfig.go,
which writes /etc/kubernetes/admin.conf) in the file format of client-go's clientcmd
(k8s.io/client-go/tools/clientcmd/api/v1/types.go). A kubeconfig names three things
and ties them together:

    clusters:  where the server is, and the CA to check its certificate with
    users:     a credential: here the admin client certificate and its key
    contexts:  a (cluster, user) pair; ``current-context`` picks one

Certificates are embedded as base64 (``*-data`` fields) so the file works on its own,
wherever it is copied. It holds a private key, so it is written with mode 0600.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from apiserver.options import ServerOptions
from apiserver.pki import PKI, ensure_pki, write_private_file

CLUSTER_NAME = "kubernetes"
USER_NAME = "kubernetes-admin"
CONTEXT_NAME = "default"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def admin_kubeconfig(pki: PKI | None, server: str) -> dict[str, Any]:
    """The kubeconfig of the cluster admin for ``server`` (``https://127.0.0.1:6443``).

    With ``pki=None`` (a plain-http server) the user carries no credential: over http
    kubectl would not send one anyway.
    """
    cluster: dict[str, Any] = {"server": server}
    user: dict[str, Any] = {}
    if pki is not None:
        cluster["certificate-authority-data"] = _b64(pki.ca_cert)
        user["client-certificate-data"] = _b64(pki.admin_cert)
        user["client-key-data"] = _b64(pki.admin_key)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": CLUSTER_NAME, "cluster": cluster}],
        "users": [{"name": USER_NAME, "user": user}],
        "contexts": [{"name": CONTEXT_NAME, "context": {"cluster": CLUSTER_NAME, "user": USER_NAME}}],
        "current-context": CONTEXT_NAME,
    }


def server_url(host: str, port: int, *, tls: bool = True) -> str:
    """The URL clients dial: a wildcard bind address is reached over loopback."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if tls else 'http'}://{host}:{port}"


def write_kubeconfig(path: Path, config: dict[str, Any]) -> None:
    """Write ``config`` to ``path`` atomically, readable only by its owner."""
    write_private_file(path, yaml.safe_dump(config, sort_keys=False).encode())


def write_admin_kubeconfig(options: ServerOptions) -> None:
    """Write the admin kubeconfig for the server ``options`` describe, if they ask for one."""
    if options.admin_kubeconfig is None:
        return
    tls = not options.insecure_http
    pki = ensure_pki(options.pki) if tls else None
    url = server_url(options.bind_address, options.port, tls=tls)
    write_kubeconfig(options.admin_kubeconfig, admin_kubeconfig(pki, url))
