"""One HTTP/1.1 client connection: the request on the wire, the answer parsed as it arrives.

The transport (client/transport.py) keeps a pool of these; each carries one request
at a time. A :class:`Connection` is an ``asyncio.Protocol``: the event loop hands it
bytes as they arrive (``data_received``) and it parses them on the spot, so a request
costs one write and one future, whatever the answer's size::

    HTTP/1.1 200 OK\r\n                       status line ─┐
    Content-Type: application/json\r\n                    ├ the head, up to the blank line
    Transfer-Encoding: chunked\r\n                        │
    \r\n                                     ────────────┘
    1f\r\n{"type":"ADDED","object":{...}}\n\r\n     a chunk: hex size, data, CRLF
    0\r\n\r\n                                  the last chunk (then optional trailers)

The body's framing comes from the head: ``Content-Length`` bytes, ``chunked``
(as above), or everything until the server closes (then the connection is not
reused); HEAD requests and 204/304 answers have none. A whole answer becomes a
:class:`Response`; a 2xx answer to a stream request becomes a
:class:`StreamingResponse` as soon as its head is in, and its body is handed out
line by line (a watch sends one JSON event per line; the server's chunks may split
lines or carry several).

Failures raise :class:`TransportError`; HTTP error statuses are answers, not
exceptions (the REST client turns them into ``StatusError``)::

    TransportError              no usable answer arrived
    ├── ConnectError            refused, unreachable, TLS handshake failed
    │   └── ConnectTimeout
    ├── ReadError               the connection broke before the answer was complete
    │   └── ServerDisconnected  ... before its first byte
    ├── ReadTimeout             no byte for the read timeout
    └── RemoteProtocolError     not an HTTP/1.1 answer we understand

Mirrors: golang net/http/transport.go (persistConn: readLoop, writeLoop),
net/http/response.go (ReadResponse), net/http/internal/chunked.go (chunkedReader).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from client.transport import Transport


class TransportError(Exception):
    """A request got no usable answer (see the module docstring for the tree)."""


class ConnectError(TransportError):
    """The connection could not be opened."""


class ConnectTimeout(ConnectError):
    """Connecting (TCP and TLS) took longer than the connect timeout."""


class ReadError(TransportError):
    """The connection broke before the answer was complete."""


class ServerDisconnected(ReadError):
    """The connection ended before the first byte of an answer."""


class ReadTimeout(TransportError):
    """The server sent nothing for the read timeout."""


class RemoteProtocolError(TransportError):
    """The answer is not HTTP/1.1 as we understand it."""


#: The longest response head accepted (net/http's MaxResponseHeaderBytes is 1 MiB).
MAX_HEAD = 1 << 20
#: A watch consumer this many lines behind pauses reading from the socket.
MAX_BUFFERED_LINES = 1024


class Response:
    """An answer: status code, headers (lower-case names) and the whole body."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes = b"") -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    def __repr__(self) -> str:
        return f"<Response [{self.status}]>"


def _parse_head(head: bytes) -> Response:
    """``HTTP/1.1 200 OK\\r\\nName: value\\r\\n...`` (without the blank line) → a Response."""
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
        raise RemoteProtocolError(f"not an HTTP/1.x status line: {status_line[:100]!r}")
    headers: dict[str, str] = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise RemoteProtocolError(f"malformed header line: {line[:100]!r}")
        name = name.lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    if version != "HTTP/1.1":  # an HTTP/1.0 answer closes the connection unless it says otherwise
        headers.setdefault("connection", "close")
    return Response(int(rest[:3]), headers)


# What the connection is reading (the framing of the current answer).
_IDLE, _HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END, _TRAILERS, _UNTIL_EOF, _DONE = range(9)


class Connection(asyncio.Protocol):
    """One HTTP/1.1 connection, one request at a time (net/http's ``persistConn``).

    ``data_received`` parses the answer as its bytes arrive and resolves ``_waiter``
    with the whole Response; for a stream, with the head, after which body bytes go
    to the ``StreamingResponse`` as lines.
    """

    def __init__(self, pool: Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._pool = pool
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.reused = False  # has served a request before: the retry rule applies
        self.idle = False  # sitting in the pool's idle stack
        self.counted = True  # holds one of the pool's max_connections slots (a watch does not)
        self.idle_since = 0.0
        self.closed = False  # EOF, error or closed by us: never reuse
        self._state = _IDLE
        self._buffer = b""
        self._received = False  # any byte of the current answer
        self._remaining = 0  # body or chunk bytes still to come
        self._head_only = False  # a HEAD request: no body, whatever the headers say
        self._response: Response | None = None
        self._pieces: list[bytes] = []
        self._waiter: asyncio.Future[Response] | None = None
        self._stream: StreamingResponse | None = None
        self._streaming = False  # the current request wants its 2xx body as lines
        self._read_timeout: float | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_read = 0.0
        self.paused = False

    # --- the request side ---------------------------------------------------------

    def send(
        self, data: bytes, method: str, read_timeout: float | None, stream: bool
    ) -> asyncio.Future[Response]:
        """Write one request; the future resolves with its answer (or its head, for a 2xx stream)."""
        assert self._state in (_IDLE, _DONE) and self.transport is not None
        self._state = _HEAD
        self._received = False
        self._head_only = method == "HEAD"
        self._response = None
        self._pieces = []
        self._stream = None
        self._streaming = stream
        self._waiter = waiter = self._loop.create_future()
        self._read_timeout = read_timeout
        if read_timeout is not None:
            self._last_read = self._loop.time()
            self._timer = self._loop.call_at(self._last_read + read_timeout, self._check_timeout)
        self.transport.write(data)
        return waiter

    @property
    def reusable(self) -> bool:
        """The last answer was read to its end and the connection may carry another."""
        return self._state == _DONE and not self.closed and not self._buffer

    def close(self) -> None:
        self.closed = True
        self._cancel_timer()
        if self.transport is not None:
            self.transport.close()

    # --- asyncio.Protocol ---------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._state in (_IDLE, _DONE):  # nothing asked: a server must not speak (e.g. 408)
            self.closed = True
            return
        self._received = True
        if self._read_timeout is not None:
            self._last_read = self._loop.time()
        self._buffer = self._buffer + data if self._buffer else data
        try:
            self._parse()
        except RemoteProtocolError as err:
            self._fail(err)
            self.close()

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        if self.idle:
            self._pool.idle_lost(self)
        elif self._state == _UNTIL_EOF and exc is None:
            self._finish()  # the body was "everything until the server closes"
        elif self._state not in (_IDLE, _DONE):
            if not self._received:
                self._fail(ServerDisconnected("server closed the connection without answering"))
            else:
                self._fail(ReadError(f"connection broke mid-answer: {exc or 'EOF'}"))

    # --- parsing the answer ----------------------------------------------------------

    def _parse(self) -> None:
        """Consume ``_buffer`` as far as it goes; the state says what comes next."""
        while self._buffer:
            buf = self._buffer
            state = self._state
            if state == _HEAD:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD:
                        raise RemoteProtocolError("response head too large")
                    return
                self._buffer = buf[end + 4 :]
                self._on_head(_parse_head(buf[:end]))
            elif state == _LENGTH or state == _CHUNK_DATA:
                n = self._remaining
                piece, self._buffer = (buf, b"") if len(buf) <= n else (buf[:n], buf[n:])
                self._remaining = n - len(piece)
                self._on_body(piece)
                if self._remaining == 0:
                    if state == _LENGTH:
                        self._finish()
                    else:
                        self._state = _CHUNK_END
            elif state == _CHUNK_SIZE or state == _TRAILERS:
                end = buf.find(b"\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD:
                        raise RemoteProtocolError("chunk header too large")
                    return
                line, self._buffer = buf[:end], buf[end + 2 :]
                if state == _TRAILERS:
                    if not line:  # the blank line after the (ignored) trailers
                        self._finish()
                    continue
                try:
                    size = int(line.split(b";", 1)[0], 16)  # chunk extensions are ignored
                except ValueError:
                    raise RemoteProtocolError(f"bad chunk size line: {line[:40]!r}") from None
                self._remaining = size
                self._state = _CHUNK_DATA if size else _TRAILERS
            elif state == _CHUNK_END:
                if len(buf) < 2:
                    return
                if buf[:2] != b"\r\n":
                    raise RemoteProtocolError("chunk not followed by CRLF")
                self._buffer = buf[2:]
                self._state = _CHUNK_SIZE
            elif state == _UNTIL_EOF:
                self._buffer = b""
                self._on_body(buf)
            else:  # _DONE: bytes after the end of the answer; do not reuse this connection
                self.closed = True
                return

    def _on_head(self, response: Response) -> None:
        status = response.status
        if status < 200:  # 1xx: an interim answer; the real head follows
            return
        self._response = response
        headers = response.headers
        if "close" in headers.get("connection", "").lower():
            self.closed = True  # reusable stays False; we close once the body is read
        if self._head_only or status == 204 or status == 304:
            self._state = _DONE
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._state = _CHUNK_SIZE
        elif "content-length" in headers:
            try:
                self._remaining = int(headers["content-length"])
            except ValueError:
                raise RemoteProtocolError("bad Content-Length") from None
            self._state = _LENGTH if self._remaining else _DONE
        else:
            self._state = _UNTIL_EOF
            self.closed = True
        if self._streaming and response.is_success:
            self._stream = StreamingResponse(response, self)
            self._resolve(self._stream)
        if self._state == _DONE:
            self._finish()

    def _on_body(self, piece: bytes) -> None:
        if self._stream is not None:
            self._stream._feed(piece)
        else:
            self._pieces.append(piece)

    def _finish(self) -> None:
        self._state = _DONE
        self._cancel_timer()
        if self._stream is not None:
            self._stream._end()
            return
        response = self._response
        assert response is not None
        pieces = self._pieces
        response.body = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        self._pieces = []
        self._resolve(response)

    def _resolve(self, response: Response) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(response)

    def _fail(self, exc: TransportError) -> None:
        self.closed = True
        self._state = _DONE
        self._cancel_timer()
        if self._stream is not None:
            self._stream._end(exc)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    # --- the read timeout --------------------------------------------------------------

    def _check_timeout(self) -> None:
        """No byte for ``_read_timeout`` seconds fails the request; else look again later."""
        assert self._read_timeout is not None
        due = self._last_read + self._read_timeout
        if self.paused or due > self._loop.time():  # a paused reader is slow, not the server
            self._timer = self._loop.call_at(
                due if not self.paused else self._loop.time() + 1, self._check_timeout
            )
            return
        self._timer = None
        self._fail(ReadTimeout(f"no answer for {self._read_timeout:g}s"))
        self.close()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class StreamingResponse(Response):
    """A 2xx answer whose body is read as it arrives, as lines: a watch.

    ``lines()`` yields each complete line (without its ``\\n``) as soon as it is in,
    whether the server's chunks split lines or carry several. A consumer more than
    ``MAX_BUFFERED_LINES`` behind pauses reading from the socket (the server's writes
    then wait, as they would on a Go client). Read to its end, the connection goes back
    to the pool; ``aclose()`` before that closes it. A non-2xx answer to ``stream()``
    arrives whole, in ``body``, with no lines.
    """

    __slots__ = ("_conn", "_ended", "_error", "_lines", "_partial", "_pool", "_waiter")

    def __init__(self, head: Response, conn: Connection | None) -> None:
        super().__init__(head.status, head.headers, head.body)
        self._conn = conn
        self._pool = conn._pool if conn is not None else None
        self._lines: deque[bytes] = deque()
        self._partial: list[bytes] = []  # the start of a line whose end has not arrived
        self._waiter: asyncio.Future[None] | None = None
        self._error: TransportError | None = None
        self._ended = conn is None

    async def lines(self) -> AsyncIterator[bytes]:
        lines = self._lines
        while True:
            while lines:
                line = lines.popleft()
                conn = self._conn
                if conn is not None and conn.paused and len(lines) < MAX_BUFFERED_LINES // 2:
                    conn.paused = False
                    assert conn.transport is not None
                    conn.transport.resume_reading()
                yield line
            if self._ended:
                break
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        if self._error is not None:
            raise self._error
        if self._conn is not None and self._pool is not None:  # read to the end: reusable
            conn, self._conn = self._conn, None
            self._pool.release(conn)

    async def aclose(self) -> None:
        """Stop reading; an unfinished stream's connection is closed (net/http ``Body.Close``)."""
        conn, self._conn = self._conn, None
        self._ended = True
        if conn is not None and self._pool is not None:
            self._pool.discard(conn)

    # Called by the connection as bytes arrive.

    def _feed(self, piece: bytes) -> None:
        if b"\n" not in piece:
            self._partial.append(piece)
            return
        lines = piece.split(b"\n")
        if self._partial:
            self._partial.append(lines[0])
            lines[0] = b"".join(self._partial)
            self._partial = []
        last = lines.pop()
        if last:
            self._partial.append(last)
        self._lines.extend(lines)
        conn = self._conn
        if len(self._lines) > MAX_BUFFERED_LINES and conn is not None and not conn.paused:
            conn.paused = True
            assert conn.transport is not None
            conn.transport.pause_reading()
        self._wake()

    def _end(self, error: TransportError | None = None) -> None:
        if self._partial and error is None:  # a last line without its newline
            self._lines.append(b"".join(self._partial))
            self._partial = []
        self._error = error
        self._ended = True
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
