"""The HTTP/1.1 transport under the REST client: a pool of keep-alive connections.

client-go sends every request through Go's ``net/http`` Transport; this is that
role, cut down to what a Kubernetes client needs from one API server: requests with
small JSON bodies, answered with ``Content-Length`` or ``chunked`` bodies, and
long-running chunked watch streams read line by line. TLS comes from the kubeconfig's
``ssl.SSLContext`` (CA, client certificate); ``http://`` works too.

::

    Transport.request(method, target, body)                  Transport.stream(...)
        │ head = one bytes join of the request line and headers (+ body)
        ▼
    pool: an idle connection, newest first (LIFO) ─ or a new one, up to max_connections
        │                                           ─ or wait in line for one (FIFO)
        ▼
    Connection (an asyncio.Protocol): write head+body; data_received parses the
        status line, headers and body framing (Content-Length, chunked, until EOF)
        │
        ├─ whole response → Response(status, headers, body); the connection goes
        │  back to the pool unless it said ``Connection: close`` or ended at EOF
        └─ 2xx stream     → StreamingResponse.lines(): complete lines as they arrive

The rules, as net/http's transport.go has them:

* **Idle pool** (``tryPutIdleConn``, ``queueForIdleConn``): a finished connection goes
  to the longest-waiting request if there is one, else on top of the idle stack; a
  request takes the most recently used one (the others age out). A connection idle
  for ``idle_timeout`` seconds (``IdleConnTimeout``, 90 s) is closed, and one the
  server closes while idle leaves the pool at once. A connection whose response was
  not read to the end is closed, never reused.
* **At most** ``max_connections`` carrying requests at once (``MaxConnsPerHost``);
  further requests wait for a connection to be released or closed. Streams (watches)
  are not counted: each holds its connection for minutes, and a process with more
  watches than the cap would otherwise starve its own requests (Go sets no cap by
  default, and client-go's watches share HTTP/2 connections).
* **One retry** (``persistConn.shouldRetryRequest``): a server may close an idle
  connection just as we send on it. If a request on a *reused* connection sees the
  connection end before any byte of an answer, it was never processed; a request
  that is safe to replay (GET, HEAD, OPTIONS, TRACE: ``Request.isReplayable``) is sent
  again, once, on a new connection. A write (POST, PUT, PATCH, DELETE) is not: it may
  have been applied, so the error reaches the caller, who knows whether it is safe
  to try again (client-go's rest/request.go retries only GETs on a reset).
* **Timeouts**: ``connect_timeout`` for the TCP connect and TLS handshake; a read
  timeout per request: no byte from the server for that many seconds fails the
  request and closes the connection (a watch passes its own, or none).

Failures raise :class:`~client.http11.TransportError` (its tree is drawn in
client/http11.py, which parses the answers); HTTP error statuses are answers.

Not here: HTTP/2, proxies, redirects, compression (no ``Accept-Encoding`` is sent),
``Expect: 100-continue``, request bodies streamed from a file.

Mirrors: golang net/http/transport.go (Transport, persistConn, getConn, tryPutIdleConn,
shouldRetryRequest), net/http/internal/chunked.go; client-go rest/request.go.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Mapping
from urllib.parse import urlsplit

from client.http11 import (
    ConnectError,
    Connection,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    Response,
    ServerDisconnected,
    StreamingResponse,
    TransportError,
)

__all__ = [
    "ConnectError",
    "ConnectTimeout",
    "ReadError",
    "ReadTimeout",
    "RemoteProtocolError",
    "Response",
    "ServerDisconnected",
    "StreamingResponse",
    "Transport",
    "TransportError",
]

#: Methods net/http replays after a closed keep-alive connection (Request.isReplayable).
REPLAYABLE = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
#: Using a closed Transport is a bug in the caller, not a network failure: RuntimeError.
CLOSED = "the transport has been closed"


class Transport:
    """Requests to one server over a pool of keep-alive connections (net/http ``Transport``).

    ::

        transport = Transport("https://127.0.0.1:6443", ssl_context=ctx,
                              headers={"Accept": "application/json"})
        response = await transport.request("GET", "/api/v1/namespaces/default/pods")
        stream = await transport.stream("GET", "/api/v1/pods?watch=true", read_timeout=None)
        async for line in stream.lines(): ...
        await transport.aclose()

    ``headers`` go on every request, after ``Host``. One Transport belongs to one
    event loop.
    """

    def __init__(
        self,
        url: str,
        *,
        ssl_context: ssl.SSLContext | None = None,
        headers: Mapping[str, str] | None = None,
        connect_timeout: float = 30.0,
        read_timeout: float | None = 30.0,
        max_connections: int = 100,
        idle_timeout: float = 90.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.url = url
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        self._ssl: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self._ssl = ssl_context or ssl.create_default_context()
        self._prefix = parts.path.rstrip("/").encode("ascii")  # a server URL may carry a path
        fixed = {"Host": parts.netloc.rpartition("@")[2], **(headers or {})}
        self._fixed_head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode("latin-1")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        # The pool. Invariant: _open counts idle, in-use (but not streaming) and
        # connecting connections, and slots handed to waiters; _idle is ordered by
        # idle_since (oldest first).
        self._open = 0
        self._connections: set[Connection] = set()  # open: idle or in use
        self._idle: list[Connection] = []  # a stack: pop() takes the newest
        self._waiters: deque[asyncio.Future[Connection | None]] = deque()  # None: "a free slot, connect"
        self._sweeper: asyncio.TimerHandle | None = None
        self._closed = False

    # --- the two entry points ---------------------------------------------------------

    async def request(
        self, method: str, target: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> Response:
        """Send one request (``target``: path and query) and read its whole answer."""
        data = self._encode(method, target, body, content_type)
        return await self._exchange(data, method, self.read_timeout, stream=False)

    async def stream(self, method: str, target: str, *, read_timeout: float | None) -> StreamingResponse:
        """Send one request and return once the answer's head is in; read its body with ``lines()``."""
        data = self._encode(method, target, None, "")
        response = await self._exchange(data, method, read_timeout, stream=True)
        if isinstance(response, StreamingResponse):
            return response
        return StreamingResponse(response, None)  # an error answer, read whole

    async def aclose(self) -> None:
        """Close every connection; requests in flight fail with ReadError, later ones with RuntimeError."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(RuntimeError(CLOSED))
        self._waiters.clear()
        connections, self._connections = self._connections, set()
        self._idle.clear()
        for conn in connections:
            conn.idle = False
            conn.close()

    # --- one exchange -------------------------------------------------------------------

    def _encode(self, method: str, target: str, body: bytes | None, content_type: str) -> bytes:
        """The request as it goes on the wire: request line, headers, blank line, body."""
        start = (method.encode("ascii"), b" ", self._prefix, target.encode("ascii"), b" HTTP/1.1\r\n")
        if body is None:
            return b"".join((*start, self._fixed_head, b"\r\n"))
        length = b"%d" % len(body)
        ctype = content_type.encode("latin-1")
        return b"".join(
            (
                *start,
                self._fixed_head,
                b"Content-Type: ",
                ctype,
                b"\r\nContent-Length: ",
                length,
                b"\r\n\r\n",
                body,
            )
        )

    async def _exchange(self, data: bytes, method: str, read_timeout: float | None, stream: bool) -> Response:
        conn = await (self._acquire_for_stream() if stream else self._acquire())
        try:
            response = await conn.send(data, method, read_timeout, stream)
        except ServerDisconnected:
            if not (conn.reused and method in REPLAYABLE):
                self.discard(conn)
                raise
            # The server closed this idle connection as we sent on it: once more, on a
            # new connection, in the same slot (shouldRetryRequest).
            self._connections.discard(conn)
            conn.close()
            conn = await self._connect(counted=conn.counted)
            try:
                response = await conn.send(data, method, read_timeout, stream)
            except BaseException:
                self.discard(conn)
                raise
        except BaseException:  # an error, a timeout, or cancelled mid-answer
            self.discard(conn)
            raise
        if not isinstance(response, StreamingResponse):  # else the stream holds the connection
            self.release(conn)
        return response

    # --- the pool -------------------------------------------------------------------------

    async def _acquire(self) -> Connection:
        """The newest idle connection, a new one if under the cap, or the next one released."""
        if (conn := self._pop_idle()) is not None:
            return conn
        if self._open < self.max_connections:
            self._open += 1
            return await self._connect()
        waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            conn_or_slot = await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed one as we were cancelled: pass it on
                handed = waiter.result()
                if handed is None:
                    self._free_slot()
                else:
                    self.release(handed)
            raise
        return conn_or_slot if conn_or_slot is not None else await self._connect()

    async def _acquire_for_stream(self) -> Connection:
        """The newest idle connection, or a new one; a stream holds it outside the cap."""
        if (conn := self._pop_idle()) is not None:
            conn.counted = False
            self._free_slot()
            return conn
        return await self._connect(counted=False)

    def _pop_idle(self) -> Connection | None:
        """The newest idle connection still open (LIFO), dropping dead ones on the way."""
        if self._closed:
            raise RuntimeError(CLOSED)
        idle = self._idle
        while idle:
            conn = idle.pop()
            conn.idle = False
            if not conn.closed and conn.transport is not None and not conn.transport.is_closing():
                return conn
            self.discard(conn)
        return None

    async def _connect(self, counted: bool = True) -> Connection:
        """Open a connection; if ``counted``, in a slot already taken in ``_open`` (freed on failure)."""
        loop = self._loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: Connection(self, loop),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl else None,
                )
        except BaseException as err:
            if counted:
                self._free_slot()
            if isinstance(err, TimeoutError):
                raise ConnectTimeout(f"{self.url}: no connection within {self.connect_timeout:g}s") from err
            if isinstance(err, OSError):  # refused, unreachable, TLS errors (ssl.SSLError)
                raise ConnectError(f"{self.url}: {err}") from err
            raise
        conn.counted = counted
        if self._closed:
            conn.close()
            raise RuntimeError(CLOSED)
        self._connections.add(conn)
        return conn

    def release(self, conn: Connection) -> None:
        """A request is done with ``conn``: to a waiter, onto the idle stack, or closed."""
        if conn not in self._connections:
            return
        if not conn.reusable or (not conn.counted and self._open >= self.max_connections):
            self.discard(conn)
            return
        if not conn.counted:  # a finished stream's connection joins the pool
            conn.counted = True
            self._open += 1
        conn.reused = True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        assert self._loop is not None
        conn.idle = True
        conn.idle_since = self._loop.time()
        self._idle.append(conn)
        if self._sweeper is None:
            self._sweeper = self._loop.call_at(conn.idle_since + self.idle_timeout, self._sweep)

    def discard(self, conn: Connection) -> None:
        """Close ``conn`` and free its slot (idempotent)."""
        conn.close()
        if conn in self._connections:
            self._connections.remove(conn)
            if conn.counted:
                self._free_slot()

    def _free_slot(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot passes to the longest waiter, who connects
                return
        self._open -= 1

    def idle_lost(self, conn: Connection) -> None:
        """The server closed an idle connection."""
        conn.idle = False
        self._idle.remove(conn)
        self.discard(conn)

    def _sweep(self) -> None:
        """Close connections idle for ``idle_timeout``; the oldest are at the bottom of the stack."""
        assert self._loop is not None
        self._sweeper = None
        idle = self._idle
        cutoff = self._loop.time() - self.idle_timeout
        while idle and idle[0].idle_since <= cutoff:
            conn = idle.pop(0)
            conn.idle = False
            self.discard(conn)
        if idle:
            self._sweeper = self._loop.call_at(idle[0].idle_since + self.idle_timeout, self._sweep)
