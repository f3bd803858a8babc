"""A real API server front end (apiserver.server.serve) on a free port, inside the test's loop.

The app behind it is a tiny Starlette app that reports who the server thinks you are,
so these tests exercise TLS, authentication and both HTTP versions without the REST API.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from apiserver.options import ServerOptions
from apiserver.pki import PKI
from apiserver.server import serve

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}


async def whoami(request: Request) -> JSONResponse:
    return JSONResponse({"user": request.scope.get("user"), "httpVersion": request.scope["http_version"]})


async def version(request: Request) -> JSONResponse:
    return JSONResponse(VERSION)


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"bytes": len(await request.body())})


async def readyz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def whoami_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/whoami", whoami),
            Route("/version", version),
            Route("/readyz", readyz),
            Route("/echo", echo, methods=["POST"]),
        ]
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def running_server(options: ServerOptions) -> AsyncIterator[str]:
    """Serve ``whoami_app`` as ``options`` say; yields the base URL."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(options, whoami_app(), shutdown_trigger=stop.wait))
    try:
        for _ in range(200):  # first start generates keys: allow a couple of seconds
            if task.done():
                task.result()  # raises what made the server fail
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", options.port)
            except OSError:
                await asyncio.sleep(0.02)
                continue
            writer.close()
            break
        scheme = "http" if options.insecure_http else "https"
        yield f"{scheme}://127.0.0.1:{options.port}"
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def client_context(pki: PKI, *, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """A client's TLS context: trust the cluster CA, present ``cert`` if given."""
    context = ssl.create_default_context(cafile=pki.ca_cert)
    if cert is not None:
        context.load_cert_chain(cert, key)
    return context
