"""A minimal HTTP/1.1 keep-alive client over TLS, for load generation only.

httpx costs the client far more per request than Hypercorn costs the server, so with
httpx clients on a 2-core machine the benchmark measured the clients (the server sat at
~20% of a core while "both" endpoints answered ~250 GETs/s). This client does only what
the load needs: write one request, read the status line and headers, read the body by
``Content-Length`` (or chunks), on one connection reused for every request; or hold a
watch and yield its lines.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from urllib.parse import urlsplit


class RawConnection:
    """One TLS connection; ``request`` may be called again as soon as it returns."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self._reader = reader
        self._writer = writer
        self._host = host

    @classmethod
    async def open(cls, base_url: str, tls: ssl.SSLContext) -> RawConnection:
        url = urlsplit(base_url)
        assert url.hostname is not None and url.port is not None
        reader, writer = await asyncio.open_connection(url.hostname, url.port, ssl=tls)
        return cls(reader, writer, f"{url.hostname}:{url.port}")

    async def request(
        self, method: str, path: str, body: bytes = b"", content_type: str = "application/json"
    ) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nhost: {self._host}\r\naccept: application/json\r\n"
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"content-type: {content_type}\r\ncontent-length: {len(body)}\r\n"
        self._writer.write(head.encode() + b"\r\n" + body)
        raw = await self._reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        if "content-length" in headers:
            return status, await self._reader.readexactly(int(headers["content-length"]))
        if headers.get("transfer-encoding") == "chunked":
            chunks = []
            while size := int((await self._reader.readuntil(b"\r\n")).strip(), 16):
                chunks.append((await self._reader.readexactly(size + 2))[:-2])
            await self._reader.readuntil(b"\r\n")
            return status, b"".join(chunks)
        raise RuntimeError(f"a response without a length: {lines[0]}")

    async def start_stream(self, path: str) -> None:
        """GET a chunked response (a watch); returns once its headers are in."""
        self._writer.write(f"GET {path} HTTP/1.1\r\nhost: {self._host}\r\n\r\n".encode())
        head = await self._reader.readuntil(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(head.decode("latin-1"))

    async def lines(self) -> AsyncIterator[bytes]:
        """The started stream's lines, as they arrive."""
        pending = b""
        while size := int((await self._reader.readuntil(b"\r\n")).strip(), 16):
            *lines, pending = (pending + (await self._reader.readexactly(size + 2))[:-2]).split(b"\n")
            for line in lines:
                yield line

    async def close(self) -> None:
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass
