"""The kubelet's own HTTPS server: container logs, exec, attach and port-forward.

Mirrors pkg/kubelet/server/server.go. ``kubectl logs`` and ``kubectl exec`` never
reach a node directly: the API server authenticates the user, then calls the pod's
node here, on ``status.daemonEndpoints.kubeletEndpoint.Port`` (10250 by default)::

    GET /containerLogs/{namespace}/{pod}/{container}?follow&tailLines&previous&timestamps
                                                     &sinceSeconds&sinceTime&limitBytes
    WS  /exec/{namespace}/{pod}/{container}?command=..&stdin&stdout&stderr&tty
    WS  /attach/{namespace}/{pod}/{container}?stdin&stdout&stderr&tty
    WS  /portForward/{namespace}/{pod}                 (SPDY/3.1+portforward.k8s.io)
    GET /healthz

Who may call: anyone holding a client certificate the cluster CA signed (the API
server presents ``apiserver-kubelet-client``), checked in the TLS handshake
(``--client-ca-file``, ``CERT_REQUIRED``); there is no anonymous access. Upstream
also asks the API server to authorize each call (SubjectAccessReview); here a valid
certificate is enough, as with ``--authorization-mode=AlwaysAllow``.

Finding a container: a :class:`ContainerLocator` maps namespace/pod/container to
runtime ids. The default asks the runtime itself (sandbox and container metadata
carry those names, as CRI labels do upstream), so the server works with or without
the pod workers; the streaming protocols live in kubelet/streaming/.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from apimachinery import wsstream
from kubelet.runtime import interface as rt
from kubelet.runtime.logs import parse_timestamp, rfc3339nano
from kubelet.streaming import portforward, remotecommand

#: The kubelet's default port (``--port``, KubeletEndpoint.Port).
DEFAULT_PORT = 10250
_FALSE = frozenset({"", "0", "f", "false", "n", "no", "off"})


class RequestError(Exception):
    """A request the kubelet cannot serve: ``code`` and upstream's message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class ContainerLocator(Protocol):
    async def sandbox(self, namespace: str, pod: str) -> str: ...
    async def container(self, namespace: str, pod: str, container: str, previous: bool = False) -> str: ...


@dataclass
class RuntimeLocator:
    """Find a pod's sandbox and containers by the names in their CRI metadata."""

    runtime: rt.RuntimeService

    async def _sandboxes(self, namespace: str, pod: str) -> list[rt.PodSandbox]:
        rows = [
            s
            for s in await self.runtime.list_pod_sandbox()
            if s.metadata.namespace == namespace and s.metadata.name == pod
        ]
        if not rows:
            raise RequestError(404, f'pod "{pod}" does not exist')
        # The ready sandbox first, then the newest.
        return sorted(rows, key=lambda s: (s.state == rt.PodSandboxState.READY, s.created_at), reverse=True)

    async def sandbox(self, namespace: str, pod: str) -> str:
        return (await self._sandboxes(namespace, pod))[0].id

    async def container(self, namespace: str, pod: str, container: str, previous: bool = False) -> str:
        sandbox_ids = {s.id for s in await self._sandboxes(namespace, pod)}
        rows = sorted(
            (
                c
                for c in await self.runtime.list_containers()
                if c.pod_sandbox_id in sandbox_ids and c.metadata.name == container
            ),
            key=lambda c: (c.metadata.attempt, c.created_at),
            reverse=True,
        )
        if previous:
            if len(rows) < 2:
                raise RequestError(
                    400, f'previous terminated container "{container}" in pod "{pod}" not found'
                )
            return rows[1].id
        if not rows:
            raise RequestError(400, f'container "{container}" in pod "{pod}" is not available')
        return rows[0].id


def _flag(request: Request | WebSocket, name: str) -> bool:
    return request.query_params.get(name, "").lower() not in _FALSE


def _int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    if raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise RequestError(400, f'invalid value for {name}: "{raw}"') from None


def log_options(request: Request, now: float) -> tuple[rt.LogOptions, bool, int | None]:
    """``PodLogOptions`` from the query: (runtime options, timestamps, limitBytes)."""
    since_ns = 0
    if (seconds := _int(request, "sinceSeconds")) is not None:
        since_ns = int((now - seconds) * 1e9)
    elif since_time := request.query_params.get("sinceTime"):
        since_ns = parse_timestamp(since_time.replace("+00:00", "Z"))
    options = rt.LogOptions(
        tail=_int(request, "tailLines"), since_ns=since_ns, follow=_flag(request, "follow")
    )
    return options, _flag(request, "timestamps"), _int(request, "limitBytes")


async def render_log(
    lines: AsyncIterator[rt.LogLine], timestamps: bool, limit_bytes: int | None
) -> AsyncIterator[bytes]:
    """CRI lines as kubectl shows them: the content (a partial line is not ended), with
    ``--timestamps`` the time first in fixed nine-digit RFC3339Nano, cut at ``limitBytes``
    (pkg/kubelet/kuberuntime/logs/logs.go ``logWriter``)."""
    left = limit_bytes
    async for line in lines:
        out = line.content + (b"" if line.partial else b"\n")
        if timestamps:
            out = rfc3339nano(parse_timestamp(line.timestamp)).encode() + b" " + out
        if left is not None:
            out, left = out[:left], left - len(out)
        if out:
            yield out
        if left is not None and left <= 0:
            return


def create_app(runtime: rt.RuntimeService, locator: ContainerLocator | None = None) -> Starlette:
    """The kubelet server's ASGI app over ``runtime``."""
    find: ContainerLocator = locator or RuntimeLocator(runtime)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def container_logs(request: Request) -> Response:
        p = request.path_params
        try:
            options, timestamps, limit = log_options(request, time.time())
            cid = await find.container(p["namespace"], p["pod"], p["container"], _flag(request, "previous"))
        except RequestError as err:
            return PlainTextResponse(str(err), err.code)
        lines = runtime.read_container_log(cid, options)
        return StreamingResponse(render_log(lines, timestamps, limit), media_type="text/plain")

    async def exec_or_attach(ws: WebSocket) -> None:
        p, attach = ws.path_params, ws.url.path.startswith("/attach/")
        protocol = remotecommand.negotiate(ws.scope.get("subprotocols", []))
        cmd = ws.query_params.getlist("command")
        stdin, tty = _flag(ws, "input") or _flag(ws, "stdin"), _flag(ws, "tty")
        stdout, stderr = _flag(ws, "output") or _flag(ws, "stdout"), _flag(ws, "error") or _flag(ws, "stderr")
        try:
            if protocol is None:
                raise RequestError(400, "websocket: no supported subprotocol (want v5.channel.k8s.io)")
            if not attach and not cmd:
                raise RequestError(400, "you must specify at least 1 command")
            cid = await find.container(p["namespace"], p["pod"], p["container"])
            if attach:
                endpoint = await runtime.attach(rt.AttachRequest(cid, stdin, stdout, stderr, tty))
            else:
                endpoint = await runtime.exec(rt.ExecRequest(cid, cmd, stdin, stdout, stderr, tty))
        except (RequestError, rt.RuntimeServiceError) as err:
            await ws.send_denial_response(PlainTextResponse(str(err), getattr(err, "code", 500)))
            return
        await ws.accept(subprotocol=protocol)
        if endpoint.session is not None:
            await remotecommand.serve_session(ws, protocol, endpoint.session, cmd, stdin)
        else:
            await remotecommand.proxy_to_url(ws, protocol, endpoint.url)

    async def port_forward(ws: WebSocket) -> None:
        p = ws.path_params
        offered = ws.scope.get("subprotocols", [])
        ports = [
            int(x)
            for v in ws.query_params.getlist("port") + ws.query_params.getlist("ports")
            for x in v.split(",")
            if x
        ]
        try:
            if wsstream.SPDY_PORT_FORWARD not in offered and wsstream.V4 not in offered:
                raise RequestError(400, f"websocket: want subprotocol {wsstream.SPDY_PORT_FORWARD}")
            sandbox_id = await find.sandbox(p["namespace"], p["pod"])
            endpoint = await runtime.port_forward(sandbox_id, ports)
        except (RequestError, rt.RuntimeServiceError) as err:
            await ws.send_denial_response(PlainTextResponse(str(err), getattr(err, "code", 500)))
            return
        connect = _connector(runtime, sandbox_id, endpoint)
        if wsstream.SPDY_PORT_FORWARD in offered:
            await ws.accept(subprotocol=wsstream.SPDY_PORT_FORWARD)
            await portforward.SpdyTunnel(ws, connect).run()
        else:
            await ws.accept(subprotocol=wsstream.V4)
            await portforward.serve_channels(ws, ports, connect)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/containerLogs/{namespace}/{pod}/{container}", container_logs),
            WebSocketRoute("/exec/{namespace}/{pod}/{container}", exec_or_attach),
            WebSocketRoute("/attach/{namespace}/{pod}/{container}", exec_or_attach),
            WebSocketRoute("/portForward/{namespace}/{pod}", port_forward),
        ]
    )


def _connector(
    runtime: rt.RuntimeService, sandbox_id: str, endpoint: rt.StreamEndpoint
) -> Callable[[int], Awaitable[rt.ByteStream]]:
    async def connect(port: int) -> rt.ByteStream:
        if endpoint.forwarder is not None:
            return await endpoint.forwarder.connect(port)
        # A runtime's streaming URL (containerd's) is single-use and fixes its ports when
        # issued, while one kubectl session forwards many connections, naming each port
        # only in its SPDY stream headers: ask for a fresh URL per connection.
        fresh = await runtime.port_forward(sandbox_id, [port])
        return await portforward.ChannelPortStream.open(fresh.url or endpoint.url, port)

    return connect


@dataclass(frozen=True)
class ServingOptions:
    """``--tls-cert-file``, ``--tls-private-key-file``, ``--client-ca-file``, ``--address``, ``--port``."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path
    address: str = "0.0.0.0"
    port: int = DEFAULT_PORT


def hypercorn_config(options: ServingOptions) -> Config:
    config = Config()
    host = options.address
    config.bind = [f"[{host}]:{options.port}" if ":" in host else f"{host}:{options.port}"]
    config.accesslog = None
    config.certfile, config.keyfile = str(options.cert_file), str(options.key_file)
    config.ca_certs = str(options.client_ca_file)
    config.verify_mode = ssl.CERT_REQUIRED  # no certificate from the cluster CA, no handshake
    config.alpn_protocols = ["http/1.1"]  # every streaming call is an HTTP/1.1 upgrade
    config.graceful_timeout = 2.0
    return config


async def serve(
    app: ASGIApp,
    options: ServingOptions,
    shutdown_trigger: Callable[[], Awaitable[Any]] | None = None,
    sockets: list[socket.socket] | None = None,
) -> None:
    """Serve until ``shutdown_trigger`` returns (or SIGINT/SIGTERM when it is None).

    With ``sockets`` (already bound, e.g. to port 0 to get a free port), serve on
    those instead of ``options.address``/``options.port``; they are handed over.
    """
    config = hypercorn_config(options)
    if sockets is not None:
        config.bind = [f"fd://{s.detach()}" for s in sockets]
    await hypercorn_serve(app, config, shutdown_trigger=shutdown_trigger, mode="asgi")  # type: ignore[arg-type]


def by_local_port(apps: dict[int, ASGIApp]) -> ASGIApp:
    """One ASGI app for many kubelets in one process (kubelet.sim): each connection goes
    to the app of the local port it arrived on, so every node has its own
    ``kubeletEndpoint.Port`` and the API server reaches it like any kubelet."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":  # nothing to start or stop
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await apps[scope["server"][1]](scope, receive, send)

    return app
