"""Is the API server ready? Ask ``/readyz``, as a client holding the admin kubeconfig.

kubeadm waits the same way before it declares the control plane up
(cmd/kubeadm/app/util/apiclient/wait.go ``WaitForAPI`` polls the API server's health
endpoint until it answers 200). We read the kubeconfig the API server wrote - the
server URL, the CA to trust, the client certificate to present - exactly as kubectl
will, so "ready" also means "the kubeconfig works" (client-go's clientcmd format:
k8s.io/client-go/tools/clientcmd/api/v1/types.go).
"""

from __future__ import annotations

import base64
import http.client
import ssl
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

import yaml


def _current(config: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    for entry in config.get(f"{kind}s") or []:
        if entry.get("name") == name:
            return dict(entry.get(kind) or {})
    raise ValueError(f"kubeconfig has no {kind} {name!r}")


def client_for(kubeconfig: Path) -> tuple[str, ssl.SSLContext | None]:
    """The server URL and TLS context of the kubeconfig's current context."""
    config = yaml.safe_load(kubeconfig.read_text())
    context = _current(config, "context", config["current-context"])
    cluster = _current(config, "cluster", context["cluster"])
    user = _current(config, "user", context["user"])
    server = cluster["server"]
    if not server.startswith("https://"):
        return server, None
    ca = base64.b64decode(cluster["certificate-authority-data"]).decode()
    tls = ssl.create_default_context(cadata=ca)
    if "client-certificate-data" in user:
        # The ssl module loads a certificate and key only from files: a private temp dir.
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "client.crt", Path(tmp) / "client.key"
            cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
            key.write_bytes(base64.b64decode(user["client-key-data"]))
            tls.load_cert_chain(cert, key)
    return server, tls


def is_ready(kubeconfig: Path, timeout: float = 2.0) -> bool:
    """True when ``GET /readyz`` answers 200; False while it cannot (yet)."""
    try:
        server, tls = client_for(kubeconfig)
        url = urllib.parse.urlsplit(server)
        host, port = url.hostname or "127.0.0.1", url.port or 443
        conn = (
            http.client.HTTPSConnection(host, port, timeout=timeout, context=tls)
            if tls is not None
            else http.client.HTTPConnection(host, port, timeout=timeout)
        )
        try:
            conn.request("GET", "/readyz")
            return conn.getresponse().status == 200
        finally:
            conn.close()
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError, http.client.HTTPException):
        return False
