"""WebSocket streams: the channel protocols of ``channel.k8s.io`` and a small client.

Mirrors k8s.io/apimachinery/pkg/util/httpstream/wsstream (conn.go: the channel
protocols) and the WebSocket side of client-go/tools/remotecommand (websocket.go).
Exec, attach and port-forward all ride one WebSocket whose binary messages start with
a *channel* byte::

    0 stdin   client -> server      3 error   server -> client, one metav1.Status (JSON)
    1 stdout  server -> client      4 resize  client -> server, {"Width":80,"Height":24}
    2 stderr  server -> client    255 close   v5 only: [255, n] half-closes channel n

``v4.channel.k8s.io`` is the same without channel 255 (nobody can say "stdin is
done" except by closing the whole socket); ``v5.channel.k8s.io`` (Kubernetes 1.30+)
adds it, which kubectl sends when its stdin reaches EOF.

The client is what the API server uses to reach a kubelet, and what a kubelet uses to
reach containerd's streaming server: a few lines over ``wsproto`` (Hypercorn's own
WebSocket engine, so no new dependency) on an asyncio stream, plain or TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
V4, V5 = "v4.channel.k8s.io", "v5.channel.k8s.io"
#: The WebSocket subprotocol kubectl 1.30+ offers for port-forward: SPDY inside WebSocket.
SPDY_PORT_FORWARD = "SPDY/3.1+portforward.k8s.io"


def exit_status(code: int, cmd: Sequence[str] = ()) -> dict[str, Any]:
    """The ``metav1.Status`` sent on channel 3 when a command ends (remotecommand
    ``v4.go``'s errorDecoder reads ``NonZeroExitCode`` and the ``ExitCode`` cause)."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command {list(cmd)}, exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def failure_status(message: str, reason: str = "InternalError", code: int = 500) -> dict[str, Any]:
    return {"metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}


class UpgradeFailure(Exception):
    """The server answered the upgrade with a plain HTTP response (client-go's
    ``httpstream.IsUpgradeFailure``): its status, headers and body are kept to pass on."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        super().__init__(f"upgrade refused: HTTP {status}: {body[:200]!r}")
        self.status, self.headers, self.body = status, headers, body


class WebSocket:
    """One client connection: ``send`` binary messages, ``receive`` until None (closed)."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ws: WSConnection, subprotocol: str
    ) -> None:
        self._reader, self._writer, self._ws = reader, writer, ws
        self.subprotocol = subprotocol
        self.close_code: int | None = None
        self._pending: list[bytes | None] = []
        self._partial = bytearray()

    async def send(self, data: bytes) -> None:
        if self.close_code is None:
            self._writer.write(self._ws.send(BytesMessage(data=data)))
            await self._writer.drain()

    async def receive(self) -> bytes | None:
        """The next whole message (text is returned encoded), or None once closed."""
        while not self._pending:
            if self.close_code is not None:
                return None
            data = await self._reader.read(65536)
            if not data:
                self.close_code = 1006
                return None
            self._ws.receive_data(data)
            self._handle_events()
        return self._pending.pop(0)

    def _handle_events(self) -> None:
        for event in self._ws.events():
            if isinstance(event, BytesMessage | TextMessage):
                chunk = event.data.encode() if isinstance(event.data, str) else event.data
                self._partial += chunk
                if event.message_finished:
                    self._pending.append(bytes(self._partial))
                    self._partial.clear()
            elif isinstance(event, Ping):
                self._writer.write(self._ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self.close_code = event.code
                try:
                    self._writer.write(self._ws.send(event.response()))
                except Exception:  # already closing from our side
                    pass
                self._pending.append(None)

    async def close(self, code: int = 1000) -> None:
        if self.close_code is None:
            self.close_code = code
            try:
                self._writer.write(self._ws.send(CloseConnection(code=code)))
                await self._writer.drain()
            except Exception:  # the peer is gone already
                pass
        self._writer.close()


async def connect(
    url: str,
    subprotocols: Sequence[str],
    *,
    ssl_context: ssl.SSLContext | None = None,
    headers: Sequence[tuple[str, str]] = (),
    handshake_timeout: float = 10.0,
) -> WebSocket:
    """Open ``ws(s)://`` / ``http(s)://`` ``url`` offering ``subprotocols``; the server's
    refusal is an :class:`UpgradeFailure`. HTTP/1.1 only, as client-go forces for upgrades."""
    parts = urlsplit(url)
    secure = parts.scheme in ("https", "wss")
    host = parts.hostname or "localhost"
    port = parts.port or (443 if secure else 80)
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=ssl_context if secure else None, limit=1 << 20),
        handshake_timeout,
    )
    ws = WSConnection(ConnectionType.CLIENT)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    request = Request(
        host=netloc,
        target=target or "/",
        subprotocols=list(subprotocols),
        extra_headers=[(k.encode(), v.encode()) for k, v in headers],
    )
    writer.write(ws.send(request))
    await writer.drain()
    status, rejected_headers, body = 0, [], b""
    while True:
        data = await asyncio.wait_for(reader.read(65536), handshake_timeout)
        if not data:
            ws.receive_data(None)
        else:
            ws.receive_data(data)
        for event in ws.events():
            if isinstance(event, AcceptConnection):
                client = WebSocket(reader, writer, ws, event.subprotocol or "")
                client._handle_events()  # messages that came with the 101
                return client
            if isinstance(event, RejectConnection):
                status, rejected_headers = event.status_code, list(event.headers)
                if not event.has_body:
                    writer.close()
                    raise UpgradeFailure(status, rejected_headers, body)
            elif isinstance(event, RejectData):
                body += event.data
                if event.body_finished:
                    writer.close()
                    raise UpgradeFailure(status, rejected_headers, body)
        if not data:
            writer.close()
            raise UpgradeFailure(status or 502, rejected_headers, body or b"connection closed during upgrade")


class Downstream(Protocol):
    """The server side of a WebSocket (Starlette's ``WebSocket``), as ``relay`` uses it."""

    async def receive_bytes(self) -> bytes: ...
    async def send_bytes(self, data: bytes) -> None: ...
    async def close(self, code: int = 1000) -> None: ...


async def relay(downstream: Downstream, upstream: WebSocket, *, drop_close_channel: bool = False) -> None:
    """Copy binary messages both ways until either side closes, then close both.

    The API server relays kubectl to a kubelet this way, and the kubelet relays to the
    runtime's streaming server. ``drop_close_channel``: the upstream speaks v4, which
    has no channel 255 (v5's "stdin closed"), so such messages are not forwarded. The
    upstream's close code is passed on (1000 when it sent none).
    """
    from starlette.websockets import WebSocketDisconnect

    async def down_to_up() -> None:
        try:
            while True:
                message = await downstream.receive_bytes()
                if drop_close_channel and message[:1] == bytes([CLOSE]):
                    continue
                await upstream.send(message)
        except (WebSocketDisconnect, RuntimeError, KeyError, OSError):
            await upstream.close()

    task = asyncio.create_task(down_to_up())
    try:
        while (message := await upstream.receive()) is not None:
            await downstream.send_bytes(message)
        code = upstream.close_code
        await downstream.close(code if code and code not in (1005, 1006) else 1000)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await upstream.close()
