"""Secure serving: TLS with client certificates, HTTP/2 and HTTP/1.1, graceful shutdown.

Mirrors k8s.io/apiserver/pkg/server/secure_serving.go (``SecureServingInfo.Serve``) with
Hypercorn as the HTTP server. What it sets up is what kube-apiserver's flags say:

    --tls-cert-file / --tls-private-key-file   DATA_DIR/pki/apiserver.{crt,key}
    --client-ca-file                           DATA_DIR/pki/ca.crt; a client *may* present a
                                               certificate (Go: VerifyClientCertIfGiven,
                                               OpenSSL: CERT_OPTIONAL); one that the CA did
                                               not sign fails the TLS handshake
    ALPN "h2", "http/1.1"                      kubectl speaks HTTP/2; upgrades (exec,
                                               port-forward) need HTTP/1.1

and then the handler chain starts with authentication (apiserver/auth.py). On SIGINT or
SIGTERM (or when ``shutdown_trigger`` returns) Hypercorn stops accepting, gives open
requests ``GRACEFUL_TIMEOUT`` seconds to finish (watches are cut after that and clients
re-watch), then runs the app's lifespan shutdown.

The client certificate reaches authentication through the ASGI TLS extension, which
Hypercorn 0.18 does not fill in; apiserver/hypercorn_patches.py closes that gap (and a
crash of its HTTP/2 code) - the only places we reach into Hypercorn's internals.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config
from starlette.types import ASGIApp

from apiserver import hypercorn_patches
from apiserver.auth import AuthenticationMiddleware
from apiserver.options import ServerOptions
from apiserver.pki import PKI, ensure_pki

#: Seconds open requests (and watches) get to finish once shutdown starts.
GRACEFUL_TIMEOUT = 5.0

#: Seconds an idle keep-alive connection stays open. kube-apiserver's secure serving
#: sets ``IdleTimeout: 90 * time.Second // matches http.DefaultTransport keep-alive
#: timeout`` (k8s.io/apiserver/pkg/server/secure_serving.go); Hypercorn's default is 5 s.
#: A client (client/transport.py, Go's Transport) keeps idle connections 90 s too:
#: with the server closing them after 5 s, a write sent on a connection the server had
#: just closed would fail, and writes are not resent.
KEEP_ALIVE_TIMEOUT = 90.0

#: Requests one HTTP/1.1 connection may carry. Hypercorn closes a connection after 1,000
#: (``Connection: close`` on the 1,000th answer); Go's http.Server has no such limit, and
#: kube-apiserver sets none (its only nudge is HTTP/2 GOAWAY, ``--goaway-chance``, off by
#: default). A busy client would otherwise pay a new TLS handshake every 1,000 requests.
KEEP_ALIVE_MAX_REQUESTS = 2**62


def hypercorn_config(options: ServerOptions, pki: PKI | None) -> Config:
    """Hypercorn's configuration for ``options``; ``pki=None`` serves plain http."""
    config = Config()
    host = options.bind_address
    config.bind = [f"[{host}]:{options.port}" if ":" in host else f"{host}:{options.port}"]
    config.accesslog = None  # one line per request is too much for watches and kubelets
    # Hypercorn's own messages go through the standard logging tree like ours.
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = GRACEFUL_TIMEOUT
    config.keep_alive_timeout = KEEP_ALIVE_TIMEOUT
    config.keep_alive_max_requests = KEEP_ALIVE_MAX_REQUESTS
    if pki is not None:
        config.certfile = str(pki.serving_cert)
        config.keyfile = str(pki.serving_key)
        config.ca_certs = str(pki.ca_cert)
        config.verify_mode = ssl.CERT_OPTIONAL
        config.alpn_protocols = ["h2", "http/1.1"]
    return config


async def serve(
    options: ServerOptions,
    app: ASGIApp,
    *,
    shutdown_trigger: Callable[[], Awaitable[Any]] | None = None,
) -> None:
    """Serve ``app`` behind authentication until SIGINT/SIGTERM or ``shutdown_trigger``.

    Creates the PKI on first start (``ensure_pki``) unless ``options.insecure_http``.
    """
    pki = None if options.insecure_http else await asyncio.to_thread(ensure_pki, options.pki)
    authenticated = AuthenticationMiddleware(app, tokens=options.tokens, insecure=options.insecure_http)
    hypercorn_patches.install()
    await hypercorn_serve(
        authenticated,  # type: ignore[arg-type]
        hypercorn_config(options, pki),
        shutdown_trigger=shutdown_trigger,
        mode="asgi",
    )
