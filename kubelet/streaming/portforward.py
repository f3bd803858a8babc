"""Port-forward: the server side of ``kubectl port-forward``, SPDY inside a WebSocket.

Mirrors pkg/kubelet/cri/streaming/portforward (httpstream.go: the SPDY protocol,
websocket.go: the channel protocol) and client-go/tools/portforward/tunneling_dialer.go
(how kubectl 1.30+ wraps SPDY in WebSocket, subprotocol ``SPDY/3.1+portforward.k8s.io``).

For each local connection kubectl opens two SPDY streams with headers
``streamtype: error|data``, ``port: <remote port>`` and ``requestid: <n>``::

    kubectl                                   kubelet                         pod port
      SYN_STREAM 1 {error, port 80, req 0}  ->  SYN_REPLY 1
      SYN_STREAM 3 {data,  port 80, req 0}  ->  SYN_REPLY 3, connect(80) ---->  |
      DATA 3 "GET / ..."                    ->  send -------------------------> |
                                            <-  DATA 3 "HTTP/1.0 200 ..." <---- |
                                            <-  DATA 3 FIN, DATA 1 FIN (done)
      PING n                                ->  PING n (echo)

If the connection cannot be made, the error text goes on the error stream
(kubectl prints ``an error occurred forwarding ...``). The Python client's older
protocol is also served: a WebSocket ``v4.channel.k8s.io`` with ``?ports=80,8080``,
port *i* on data channel ``2i`` and error channel ``2i+1``, each opened by a message
carrying the port as two little-endian bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketDisconnect

from apimachinery import wsstream
from kubelet.runtime.interface import ByteStream
from kubelet.streaming import spdy

log = logging.getLogger(__name__)

Connector = Callable[[int], Awaitable[ByteStream]]


@dataclass
class _Pair:
    """The two SPDY streams of one forwarded connection."""

    port: int
    error: int = 0
    data: int = 0
    backend: ByteStream | None = None
    task: asyncio.Task[None] | None = None
    early: list[bytes] = field(default_factory=list)  # data that arrived before connect finished


class SpdyTunnel:
    """One kubectl port-forward session over an accepted WebSocket."""

    def __init__(self, ws: WebSocket, connect: Connector) -> None:
        self.ws, self.connect = ws, connect
        self.framer = spdy.Framer()
        self.pairs: dict[str, _Pair] = {}
        self.by_stream: dict[int, _Pair] = {}
        self._write = asyncio.Lock()

    async def send(self, frame: bytes) -> None:
        async with self._write:  # frames must not interleave, and the compressor is shared
            await self.ws.send_bytes(frame)

    async def run(self) -> None:
        try:
            while True:
                message = await self.ws.receive_bytes()
                for frame in self.framer.feed(message):
                    await self._handle(frame)
                    if frame.type == spdy.GOAWAY:
                        return
        except (WebSocketDisconnect, RuntimeError, KeyError):
            pass
        finally:
            for pair in self.pairs.values():
                if pair.task:
                    pair.task.cancel()
                if pair.backend:
                    with contextlib.suppress(Exception):
                        await pair.backend.aclose()

    async def _handle(self, frame: spdy.Frame) -> None:
        if frame.type == spdy.SYN_STREAM:
            async with self._write:  # the reply's header block uses the shared compressor
                await self.ws.send_bytes(self.framer.syn_reply(frame.stream_id))
            await self._open(frame)
        elif frame.type == 0:
            pair = self.by_stream.get(frame.stream_id)
            if pair is None or frame.stream_id != pair.data:
                return  # the error stream carries nothing from the client
            if frame.data:
                if pair.backend is None:
                    pair.early.append(frame.data)
                else:
                    await pair.backend.send(frame.data)
            if frame.fin and pair.backend is not None:
                await _close_write(pair.backend)
        elif frame.type == spdy.RST_STREAM:
            pair = self.by_stream.get(frame.stream_id)
            if pair is not None and pair.task is not None:
                pair.task.cancel()
        elif frame.type == spdy.PING:
            await self.send(self.framer.ping(frame.ping_id))

    async def _open(self, frame: spdy.Frame) -> None:
        kind, request_id = frame.headers.get("streamtype", ""), frame.headers.get("requestid", "")
        try:
            port = int(frame.headers.get("port", ""))
        except ValueError:
            await self.send(self.framer.rst_stream(frame.stream_id, spdy.RST_PROTOCOL_ERROR))
            return
        pair = self.pairs.setdefault(request_id, _Pair(port))
        self.by_stream[frame.stream_id] = pair
        if kind == "error":
            pair.error = frame.stream_id
        elif kind == "data":
            pair.data = frame.stream_id
        if pair.error and pair.data and pair.task is None:
            pair.task = asyncio.create_task(self._forward(request_id, pair))

    async def _forward(self, request_id: str, pair: _Pair) -> None:
        try:
            pair.backend = await self.connect(pair.port)
        except Exception as err:  # any failure to reach the port is reported, not raised
            message = f"error forwarding port {pair.port} to pod: {err}"
            await self.send(self.framer.data(pair.error, message.encode()))
            await self._finish(request_id, pair)
            return
        try:
            for chunk in pair.early:
                await pair.backend.send(chunk)
            pair.early.clear()
            while chunk := await pair.backend.receive():
                await self.send(self.framer.data(pair.data, chunk))
        except (OSError, WebSocketDisconnect, RuntimeError) as err:
            log.warning("port-forward %s ended: %s", pair.port, err)
        await self._finish(request_id, pair)

    async def _finish(self, request_id: str, pair: _Pair) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            await self.send(self.framer.data(pair.data, b"", fin=True))
            await self.send(self.framer.data(pair.error, b"", fin=True))
        self.pairs.pop(request_id, None)
        self.by_stream.pop(pair.data, None)
        self.by_stream.pop(pair.error, None)
        if pair.backend is not None:
            with contextlib.suppress(Exception):
                await pair.backend.aclose()


async def _close_write(stream: ByteStream) -> None:
    """The client finished sending: half-close if the stream can, else close."""
    close_write = getattr(stream, "close_write", None)
    if close_write is not None:
        await close_write()
    else:
        await stream.aclose()


async def serve_channels(ws: WebSocket, ports: list[int], connect: Connector) -> None:
    """The ``v4.channel.k8s.io`` port-forward (websocket.go): one connection per port."""
    backends: dict[int, ByteStream] = {}
    tasks: list[asyncio.Task[None]] = []

    async def pump(index: int, port: int, backend: ByteStream) -> None:
        with contextlib.suppress(OSError, WebSocketDisconnect, RuntimeError):
            while chunk := await backend.receive():
                await ws.send_bytes(bytes([2 * index]) + chunk)
        with contextlib.suppress(Exception):
            await ws.close(1000)

    for i, port in enumerate(ports):
        prefix = port.to_bytes(2, "little")
        await ws.send_bytes(bytes([2 * i]) + prefix)
        await ws.send_bytes(bytes([2 * i + 1]) + prefix)
        try:
            backends[i] = await connect(port)
        except Exception as err:  # reported on the error channel, as upstream
            await ws.send_bytes(bytes([2 * i + 1]) + f"error forwarding port {port}: {err}".encode())
            continue
        tasks.append(asyncio.create_task(pump(i, port, backends[i])))
    try:
        while True:
            message = await ws.receive_bytes()
            if message and message[0] % 2 == 0 and message[0] // 2 in backends:
                await backends[message[0] // 2].send(message[1:])
    except (WebSocketDisconnect, RuntimeError, KeyError):
        pass
    finally:
        for task in tasks:
            task.cancel()
        for backend in backends.values():
            with contextlib.suppress(Exception):
                await backend.aclose()


class ChannelPortStream:
    """A ``ByteStream`` over a runtime's port-forward WebSocket (containerd's streaming
    server, ``v4.channel.k8s.io``): data on channel 0, errors on channel 1."""

    def __init__(self, upstream: wsstream.WebSocket) -> None:
        self.upstream = upstream
        self._seen_prefix = {0: False, 1: False}

    @classmethod
    async def open(cls, url: str, port: int) -> ChannelPortStream:
        sep = "&" if "?" in url else "?"
        return cls(await wsstream.connect(f"{url}{sep}port={port}", [wsstream.V4]))

    async def send(self, data: bytes) -> None:
        await self.upstream.send(b"\x00" + data)

    async def receive(self) -> bytes:
        while (message := await self.upstream.receive()) is not None:
            channel, payload = message[0], message[1:]
            if channel in self._seen_prefix and not self._seen_prefix[channel]:
                self._seen_prefix[channel], payload = True, payload[2:]  # the port, little-endian
            if channel == 1 and payload:
                raise OSError(payload.decode(errors="replace"))
            if channel == 0 and payload:
                return payload
        return b""

    async def aclose(self) -> None:
        await self.upstream.close()
