"""apiserver/auth.py: x509 client certificates and bearer tokens, over HTTP/1.1 and HTTP/2.

The end-to-end tests run the real front end (TLS, Hypercorn, the middleware) on a free
port and talk to it with httpx, once per HTTP version.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from apiserver.auth import authenticate, bearer_token
from apiserver.options import ServerOptions
from apiserver.pki import PKI, ensure_pki
from tests.apiserver.tls_server import client_context, free_port, running_server

UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}
ADMIN = {"name": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}


# -- pure functions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "token"),
    [
        (b"Bearer abc", "abc"),
        (b"bearer abc", "abc"),
        (b"BEARER  abc ", "abc"),
        (b"Bearer ", None),
        (b"Basic dXNlcjpwYXNz", None),
        (b"abc", None),
    ],
    ids=["bearer", "lowercase-scheme", "extra-spaces", "empty-token", "basic-auth", "no-scheme"],
)
def test_bearer_token(header: bytes, token: str | None) -> None:
    assert bearer_token([(b"authorization", header)]) == token


def test_certificate_wins_over_a_token(tmp_path: Path) -> None:
    pki = ensure_pki(tmp_path)
    scope = {
        "type": "http",
        "headers": [(b"authorization", b"Bearer tok")],
        "extensions": {"tls": {"client_cert_chain": [pki.admin_cert.read_text()]}},
    }
    assert authenticate(scope, {"tok": "alice"}) == ADMIN


def test_no_credentials_is_nobody() -> None:
    assert authenticate({"type": "http", "headers": []}, {"tok": "alice"}) is None


# -- over the wire -----------------------------------------------------------------------


@dataclass
class Server:
    url: str
    pki: PKI


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    options = ServerOptions(data_dir=tmp_path, port=free_port(), tokens={"s3cret": "alice"})
    async with running_server(options) as url:
        yield Server(url, PKI(options.pki))


@pytest.fixture(params=[False, True], ids=["http1.1", "http2"])
def http2(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


async def test_admin_certificate(server: Server, http2: bool) -> None:
    tls = client_context(server.pki, cert=server.pki.admin_cert, key=server.pki.admin_key)
    async with httpx.AsyncClient(verify=tls, http2=http2) as c:
        r = await c.get(f"{server.url}/whoami")
    assert r.status_code == 200
    assert r.json() == {"user": ADMIN, "httpVersion": "2" if http2 else "1.1"}
    assert r.http_version == ("HTTP/2" if http2 else "HTTP/1.1")


async def test_bearer_token_over_the_wire(server: Server, http2: bool) -> None:
    async with httpx.AsyncClient(verify=client_context(server.pki), http2=http2) as c:
        r = await c.get(f"{server.url}/whoami", headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200
    assert r.json()["user"] == {"name": "alice", "groups": ["system:authenticated"]}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}], ids=["none", "unknown-token"])
async def test_unauthenticated_is_401_with_a_status(
    server: Server, http2: bool, headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient(verify=client_context(server.pki), http2=http2) as c:
        r = await c.get(f"{server.url}/version", headers=headers)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/json"
    assert r.json() == UNAUTHORIZED


async def test_certificate_from_another_ca_fails_the_handshake(
    server: Server, http2: bool, tmp_path: Path
) -> None:
    other = ensure_pki(tmp_path / "other-cluster")
    tls = client_context(server.pki, cert=other.admin_cert, key=other.admin_key)
    async with httpx.AsyncClient(verify=tls, http2=http2) as c:
        # With TLS 1.3 the client learns of the rejection on its first read.
        with pytest.raises(httpx.TransportError):
            await c.get(f"{server.url}/whoami")


async def test_a_serving_certificate_is_no_client_certificate(server: Server) -> None:
    """Signed by the right CA, but for serverAuth only: OpenSSL checks the purpose."""
    tls = client_context(server.pki, cert=server.pki.serving_cert, key=server.pki.serving_key)
    async with httpx.AsyncClient(verify=tls) as c:
        with pytest.raises(httpx.TransportError):
            await c.get(f"{server.url}/whoami")


async def test_insecure_http_authenticates_nobody_and_allows_everything(tmp_path: Path) -> None:
    options = ServerOptions(data_dir=tmp_path, port=free_port(), insecure_http=True)
    async with running_server(options) as url, httpx.AsyncClient() as c:
        r = await c.get(f"{url}/whoami")
    assert r.status_code == 200
    assert r.json()["user"] == {
        "name": "system:unsecured",
        "groups": ["system:masters", "system:authenticated"],
    }
    assert not (tmp_path / "pki").exists(), "plain http needs no certificates"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer s3cret"}], ids=["refused-401", "app-405"])
async def test_early_answers_to_uploads_keep_the_connection(
    server: Server, headers: dict[str, str], http2: bool
) -> None:
    """Answering before the request body is read must not hang or break other requests.

    Stock Hypercorn 0.18 drops the whole h2 connection here (hypercorn_patches.py, 2).
    """
    async with httpx.AsyncClient(verify=client_context(server.pki), http2=http2, timeout=10) as c:
        uploads = [c.post(f"{server.url}/whoami", content=b"x" * 200_000, headers=headers) for _ in range(3)]
        responses = await asyncio.gather(*uploads)
        after = await c.get(f"{server.url}/whoami", headers={"Authorization": "Bearer s3cret"})
    assert [r.status_code for r in responses] == [401 if not headers else 405] * 3
    assert after.status_code == 200


@pytest.mark.parametrize("size", [10, 100_000], ids=["small", "several-frames"])
async def test_request_bodies_arrive_whole_over_http2(server: Server, size: int) -> None:
    """A request's HEADERS and DATA often arrive in one read: none of it may be dropped."""
    async with httpx.AsyncClient(verify=client_context(server.pki), http2=True) as c:
        uploads = [
            c.post(f"{server.url}/echo", content=b"x" * size, headers={"Authorization": "Bearer s3cret"})
            for _ in range(5)
        ]
        responses = await asyncio.gather(*uploads)
    assert [r.json() for r in responses] == [{"bytes": size}] * 5
