"""SPDY/3.1 framing: the multiplexing under ``kubectl port-forward``.

Kubernetes multiplexes port-forward streams with SPDY/3.1 (moby/spdystream, wrapped by
k8s.io/apimachinery/pkg/util/httpstream/spdy). Since 1.30 kubectl carries that SPDY
byte stream *inside* WebSocket binary messages (subprotocol
``SPDY/3.1+portforward.k8s.io``, client-go/tools/portforward/tunneling_dialer.go), so a
server that can only speak WebSocket (ours: ASGI has no raw upgrade) can still serve it.
This module is the part of moby/spdystream/spdy (types.go, read.go, write.go) that
a port-forward server needs::

    control frame:  1 | version=3 (15 bits) | type (16) | flags (8) | length (24) | payload
    data frame:     0 | stream id (31 bits)             | flags (8) | length (24) | payload

    SYN_STREAM  1   stream id, associated id, priority, slot, header block  (client opens)
    SYN_REPLY   2   stream id, header block                                  (server accepts)
    RST_STREAM  3   stream id, status                                        (abort)
    SETTINGS    4 / PING 6 (echo it back) / GOAWAY 7 / HEADERS 8 / WINDOW_UPDATE 9
    flag FIN = 1 on SYN_* and DATA: the sender is done writing this stream

A *header block* is ``count, (len, name, len, value)*`` with 32-bit big-endian lengths,
zlib-compressed with one compression context per direction for the whole connection and
a preset dictionary (the SPDY/3 dictionary below, built from the spec's word list).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS, PING, GOAWAY, HEADERS, WINDOW_UPDATE = 1, 2, 3, 4, 6, 7, 8, 9
FLAG_FIN = 0x01
VERSION = 3
RST_PROTOCOL_ERROR, RST_CANCEL = 1, 5

_WORDS = (
    "options head post put delete trace accept accept-charset accept-encoding accept-language "
    "accept-ranges age allow authorization cache-control connection content-base content-encoding "
    "content-language content-length content-location content-md5 content-range content-type date etag "
    "expect expires from host if-match if-modified-since if-none-match if-range if-unmodified-since "
    "last-modified location max-forwards pragma proxy-authenticate proxy-authorization range referer "
    "retry-after server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate "
    "method get status|200 OK|version|HTTP/1.1|url public set-cookie keep-alive origin"
)
_TAIL = (
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505"
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized"
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT"
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,"
    "text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0."
)


def _dictionary() -> bytes:
    """The SPDY/3 header dictionary (spec section 2.6.10.1): each word with a 32-bit
    length in front, then a run of bare text."""
    # "|" fences the two words with a space in them ("200 OK", and "HTTP/1.1" for symmetry).
    words: list[str] = []
    for i, chunk in enumerate(_WORDS.split("|")):
        words += [chunk] if i % 2 else chunk.split()
    return b"".join(struct.pack(">I", len(w)) + w.encode() for w in words) + _TAIL.encode()


DICTIONARY = _dictionary()


@dataclass
class Frame:
    """One decoded frame: ``type`` 0 is DATA; ``headers`` for SYN_STREAM / SYN_REPLY / HEADERS."""

    type: int
    flags: int
    stream_id: int = 0
    data: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 0  # RST_STREAM / GOAWAY
    ping_id: int = 0

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)


class Framer:
    """Encode and decode frames for one connection (it owns both zlib contexts)."""

    def __init__(self) -> None:
        self._inflate = zlib.decompressobj(zdict=DICTIONARY)
        self._deflate = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
        self._buffer = bytearray()

    # -- reading ----------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return every frame now complete."""
        self._buffer += data
        frames = []
        while len(self._buffer) >= 8:
            length = int.from_bytes(self._buffer[5:8], "big")
            if len(self._buffer) < 8 + length:
                break
            head, payload = bytes(self._buffer[:8]), bytes(self._buffer[8 : 8 + length])
            del self._buffer[: 8 + length]
            frames.append(self._decode(head, payload))
        return frames

    def _decode(self, head: bytes, payload: bytes) -> Frame:
        first, flags = struct.unpack(">I", head[:4])[0], head[4]
        if not first & 0x8000_0000:
            return Frame(0, flags, stream_id=first & 0x7FFF_FFFF, data=payload)
        kind = first & 0xFFFF
        frame = Frame(kind, flags)
        if kind in (SYN_STREAM, SYN_REPLY, HEADERS, RST_STREAM, WINDOW_UPDATE):
            frame.stream_id = struct.unpack(">I", payload[:4])[0] & 0x7FFF_FFFF
        if kind == SYN_STREAM:
            frame.headers = self._headers(payload[10:])
        elif kind in (SYN_REPLY, HEADERS):
            frame.headers = self._headers(payload[4:])
        elif kind == RST_STREAM:
            frame.status = struct.unpack(">I", payload[4:8])[0]
        elif kind == PING:
            frame.ping_id = struct.unpack(">I", payload[:4])[0]
        elif kind == GOAWAY:
            frame.stream_id, frame.status = struct.unpack(">II", payload[:8])
        return frame

    def _headers(self, compressed: bytes) -> dict[str, str]:
        block = self._inflate.decompress(compressed)
        (count,), pos, headers = struct.unpack(">I", block[:4]), 4, {}
        for _ in range(count):
            (n,) = struct.unpack(">I", block[pos : pos + 4])
            name = block[pos + 4 : pos + 4 + n].decode()
            pos += 4 + n
            (n,) = struct.unpack(">I", block[pos : pos + 4])
            headers[name.lower()] = block[pos + 4 : pos + 4 + n].decode().split("\x00")[0]
            pos += 4 + n
        return headers

    # -- writing ----------------------------------------------------------------------

    def _control(self, kind: int, flags: int, payload: bytes) -> bytes:
        return struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload)) + payload

    def _header_block(self, headers: dict[str, str]) -> bytes:
        raw = struct.pack(">I", len(headers))
        for name, value in headers.items():
            raw += struct.pack(">I", len(name)) + name.lower().encode()
            raw += struct.pack(">I", len(value.encode())) + value.encode()
        return self._deflate.compress(raw) + self._deflate.flush(zlib.Z_SYNC_FLUSH)

    def syn_reply(self, stream_id: int, headers: dict[str, str] | None = None, fin: bool = False) -> bytes:
        payload = struct.pack(">I", stream_id) + self._header_block(headers or {})
        return self._control(SYN_REPLY, FLAG_FIN if fin else 0, payload)

    def syn_stream(self, stream_id: int, headers: dict[str, str], fin: bool = False) -> bytes:
        """For tests and clients: open a stream."""
        payload = struct.pack(">IIBB", stream_id, 0, 0, 0) + self._header_block(headers)
        return self._control(SYN_STREAM, FLAG_FIN if fin else 0, payload)

    def data(self, stream_id: int, data: bytes, fin: bool = False) -> bytes:
        head = struct.pack(">II", stream_id & 0x7FFF_FFFF, ((FLAG_FIN if fin else 0) << 24) | len(data))
        return head + data

    def rst_stream(self, stream_id: int, status: int = RST_CANCEL) -> bytes:
        return self._control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    def ping(self, ping_id: int) -> bytes:
        return self._control(PING, 0, struct.pack(">I", ping_id))

    def goaway(self, last_stream_id: int, status: int = 0) -> bytes:
        return self._control(GOAWAY, 0, struct.pack(">II", last_stream_id, status))
