"""Authentication: who is making this request? The first filter every request passes.

Mirrors k8s.io/apiserver/pkg/endpoints/filters/authentication.go (the filter) with two
of the authenticators kube-apiserver puts behind it, tried in this order as its union
authenticator does (k8s.io/apiserver/pkg/authentication/request/union/union.go):

1. x509 client certificates - k8s.io/apiserver/pkg/authentication/request/x509/x509.go.
   The TLS layer has already verified the certificate against the cluster CA (the
   server asks for one with CERT_OPTIONAL, so a certificate from another CA fails the
   handshake and never gets here). What is left is naming: the subject's CommonName is
   the user, each Organization a group (``CommonNameUserConversion``).
2. bearer tokens - k8s.io/apiserver/pkg/authentication/request/bearertoken/bearertoken.go
   over a static token file (``--token-auth-file``, .../token/tokenfile/tokenfile.go):
   ``Authorization: Bearer <token>``.

Every authenticated user also gets the group ``system:authenticated``
(.../authentication/group/authenticated_group_adder.go). A request that proves nothing
is answered ``401 Unauthorized`` with a ``Status`` body; kubectl prints
``error: You must be logged in to the server (Unauthorized)``. (A real cluster with
``--anonymous-auth=true`` would instead let it through as ``system:anonymous`` and leave
the refusal to RBAC; we serve as with ``--anonymous-auth=false``.)

The result is put where the rest of the server finds it: ``scope["user"]``, a dict
``{"name": ..., "groups": [...]}`` (upstream: ``request.WithUser`` on the context).

How the certificate gets here: the ASGI TLS extension, ``scope["extensions"]["tls"]
["client_cert_chain"]`` (PEM, leaf first). Hypercorn 0.18 does not fill it in yet, so
apiserver/hypercorn_patches.py does; this module depends only on the ASGI spec.

With ``insecure=True`` (the plain-http debugging mode) nothing is checked and every
request runs as ``system:unsecured`` in ``system:masters``, as requests on the old
kube-apiserver ``--insecure-port`` did (pkg/kubeapiserver/server/insecure_handler.go).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

from cryptography import x509
from cryptography.x509.oid import NameOID
from starlette.types import ASGIApp, Receive, Scope, Send

from apimachinery.errors import new_unauthorized

AUTHENTICATED_GROUP = "system:authenticated"


class User(TypedDict):
    name: str
    groups: list[str]


def insecure_superuser() -> User:
    return User(name="system:unsecured", groups=["system:masters", AUTHENTICATED_GROUP])


# -- the authenticators ----------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _names_in_certificate(pem: str) -> tuple[str, tuple[str, ...]]:
    cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    orgs = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return (str(cn[0].value) if cn else ""), tuple(str(o.value) for o in orgs)


def user_from_certificate(pem: str) -> User | None:
    """CN is the user name, each O a group; a certificate without a CN names nobody."""
    name, groups = _names_in_certificate(pem)
    if not name:
        return None
    return User(name=name, groups=list(groups))


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None.

    As upstream: the scheme is case-insensitive and an empty token is no token.
    """
    for key, value in headers:
        if key.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


def authenticate(scope: Scope, tokens: Mapping[str, str]) -> User | None:
    """Try each authenticator in turn; the first that recognises the request wins."""
    user: User | None = None
    tls: dict[str, Any] = scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    if chain:
        user = user_from_certificate(chain[0])
    if user is None:
        token = bearer_token(scope.get("headers", []))
        if token is not None and token in tokens:
            user = User(name=tokens[token], groups=[])
    if user is not None and AUTHENTICATED_GROUP not in user["groups"]:
        user["groups"].append(AUTHENTICATED_GROUP)
    return user


# -- the filter ------------------------------------------------------------------------------


class AuthenticationMiddleware:
    """ASGI middleware: set ``scope["user"]`` or answer 401 before the app sees anything."""

    def __init__(self, app: ASGIApp, *, tokens: Mapping[str, str] | None = None, insecure: bool = False):
        self.app = app
        self.tokens: Mapping[str, str] = tokens or {}
        self.insecure = insecure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan: nobody to authenticate
            await self.app(scope, receive, send)
            return
        user = insecure_superuser() if self.insecure else authenticate(scope, self.tokens)
        if user is None:
            await _unauthorized(scope, send)
            return
        scope["user"] = user
        await self.app(scope, receive, send)


async def _unauthorized(scope: Scope, send: Send) -> None:
    """Send the 401 ``Status`` (upstream: responsewriters.UnauthorizedNegotiated)."""
    body = json.dumps(new_unauthorized("Unauthorized").status, separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in scope.get("extensions", {}):
        # Refuse the upgrade with a plain HTTP response, as the real server does.
        await send({"type": "websocket.http.response.start", "status": 401, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})
