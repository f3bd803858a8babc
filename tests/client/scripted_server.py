"""A real HTTP/1.1 server on a free port that answers from a script, for transport tests.

Each request, on whatever connection it arrives, gets the next entry of ``replies``:

* ``bytes``: written as they are (build them with :func:`reply`);
* a list of ``bytes``: written one piece at a time with a short pause between, so
  the client receives them in separate reads (a chunked body split anywhere); it may
  end with ``CLOSE`` or ``HANG``;
* ``CLOSE``: the connection is closed (with no answer: a server dropping an idle
  keep-alive connection just as the request arrives);
* ``HANG``: nothing more is sent, the connection stays open until the client closes it.

The server records every request (connection number, method, target, headers,
body) and how many connections are open at most at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from types import TracebackType

CLOSE = "close"
HANG = "hang"
Reply = bytes | str | list[bytes | str]


def reply(status: int = 200, body: bytes = b"{}", *, reason: str = "OK", **headers: str) -> bytes:
    """A whole answer with ``Content-Length``; header names as keywords (``Retry_After="1"``)."""
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(*pieces: bytes, status: int = 200) -> list[bytes]:
    """A chunked answer, one chunk per piece, each written separately; then the last chunk."""
    head = f"HTTP/1.1 {status} OK\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    return [head, *(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces), b"0\r\n\r\n"]


@dataclass
class Request:
    connection: int
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ScriptedServer:
    replies: list[Reply]
    requests: list[Request] = field(default_factory=list)
    connections: int = 0  # opened so far
    open_now: int = 0
    most_open: int = 0
    delay: float = 0.0  # before each answer
    closed: asyncio.Event = field(default_factory=asyncio.Event)  # set whenever a connection ends
    url: str = ""
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()  # the handlers see EOF and return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await asyncio.gather(*self._handlers, return_exceptions=True)
                await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        number = self.connections
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return  # the client closed the connection
                request_line, *lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
                method, target, _ = request_line.split(" ")
                headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                self.requests.append(Request(number, method, target, headers, body))
                answer = self.replies.pop(0)
                if self.delay:
                    await asyncio.sleep(self.delay)
                for piece in answer if isinstance(answer, list) else [answer]:
                    if piece == CLOSE:
                        return
                    if piece == HANG:
                        await reader.read()  # until the client gives up and closes
                        return
                    assert isinstance(piece, bytes)
                    writer.write(piece)
                    await writer.drain()
                    if isinstance(answer, list):
                        await asyncio.sleep(0.01)
        finally:
            self.open_now -= 1
            writer.close()
            self.closed.set()
