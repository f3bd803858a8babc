"""Kubeconfig files: where the API server is, which CA to trust, who we are.

A kubeconfig names clusters (server URL + CA), users (a client certificate and
key, or a bearer token) and contexts tying one of each together; ``current-context``
picks the one to use. Certificates are either embedded (``*-data``, base64) or file
paths relative to the kubeconfig itself.

Mirrors: k8s.io/client-go/tools/clientcmd/{loader.go, client_config.go} and
clientcmd/api/v1/types.go.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass
class KubeConfig:
    """The parts of a kubeconfig context a client needs (clientcmd's ``rest.Config``)."""

    server: str
    ca_data: bytes | None = None
    cert_data: bytes | None = None
    key_data: bytes | None = None
    token: str | None = None
    insecure_skip_tls_verify: bool = False

    def ssl_context(self) -> ssl.SSLContext | None:
        """TLS settings for the connections: trust the CA, present the client certificate."""
        if not self.server.startswith("https"):
            return None
        if self.insecure_skip_tls_verify:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        else:
            ctx = ssl.create_default_context(cadata=self.ca_data.decode() if self.ca_data else None)
        if self.cert_data and self.key_data:
            # ssl can load a key pair only from a file: write it to a private temporary one.
            with tempfile.TemporaryDirectory() as tmp:
                pem = Path(tmp) / "client.pem"
                fd = os.open(pem, os.O_WRONLY | os.O_CREAT, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(self.cert_data + b"\n" + self.key_data)
                ctx.load_cert_chain(str(pem))
        return ctx


def load_kubeconfig(path: str | Path, context: str | None = None) -> KubeConfig:
    """Read ``path`` and resolve ``context`` (default: ``current-context``) to a :class:`KubeConfig`.

    File references (``certificate-authority``, ``client-certificate``, ``client-key``,
    ``tokenFile``) are resolved relative to the kubeconfig's directory, as clientcmd does.
    """
    path = Path(path)
    cfg = yaml.safe_load(path.read_text()) or {}
    name = context or cfg.get("current-context")

    def by_name(section: str, wanted: str | None) -> dict[str, Any]:
        for entry in cfg.get(section) or []:
            if wanted is None or entry.get("name") == wanted:
                return dict(entry.get(section[:-1]) or {})
        raise ValueError(f"kubeconfig {path}: no {section[:-1]} named {wanted!r}")

    ctx = by_name("contexts", name)
    cluster = by_name("clusters", ctx.get("cluster"))
    user = by_name("users", ctx.get("user")) if ctx.get("user") else {}

    def data(entry: dict[str, Any], key: str) -> bytes | None:
        if entry.get(f"{key}-data"):
            return base64.b64decode(entry[f"{key}-data"])
        if entry.get(key):
            return (path.parent / entry[key]).read_bytes()
        return None

    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = (path.parent / user["tokenFile"]).read_text().strip()
    return KubeConfig(
        server=str(cluster["server"]).rstrip("/"),
        ca_data=data(cluster, "certificate-authority"),
        cert_data=data(user, "client-certificate"),
        key_data=data(user, "client-key"),
        token=token,
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify")),
    )
