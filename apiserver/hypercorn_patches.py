"""Two gaps in Hypercorn 0.18 that an API server falls into, and how we close them.

Both changes are subclasses of Hypercorn classes, swapped in by ``install()`` where
Hypercorn looks them up by name. Delete each one when Hypercorn fixes its gap.

1. The ASGI TLS extension is missing (pgjones/hypercorn#62). The spec
   (https://asgi.readthedocs.io/en/latest/specs/tls.html) puts the client certificate in
   ``scope["extensions"]["tls"]["client_cert_chain"]``; apiserver/auth.py reads it there.
   Hypercorn knows the peer certificate only where it holds the connection: ``TCPServer``,
   whose asyncio stream writer has the ``ssl_object``. Our subclass reads the certificate
   once per connection, after the handshake, and wraps the app so that every request on
   that connection - HTTP/1.1 (h11), each HTTP/2 (h2) stream, WebSocket - finds the
   extension in its scope. (``hypercorn.asyncio.run`` creates ``TCPServer`` by name.)

2. HTTP/2 request bodies arriving after the response. When a handler answers before
   reading the whole body (a 401, a 405, an early validation error), Hypercorn forgets
   the stream, and the next DATA frame of that stream raises ``KeyError`` in
   ``H2Protocol._handle_events``, which tears down the whole connection, failing every
   other request multiplexed on it (kubectl runs many on one). Our subclass drops such
   frames, returning their bytes to the connection's flow-control window as h2 requires.
   (``hypercorn.protocol.ProtocolWrapper`` creates ``H2Protocol`` by name.)
"""

from __future__ import annotations

import ssl
from typing import Any

import h2.events
import hypercorn.asyncio.run
import hypercorn.protocol
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.protocol.h2 import H2Protocol

#: ``SSLObject.version()`` -> the TLS protocol number the ASGI extension asks for.
_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def tls_extension(ssl_object: ssl.SSLObject) -> dict[str, Any]:
    """The ASGI TLS extension (spec version 0.2) for one connection.

    Python's ssl module gives the leaf certificate only (the verified chain needs
    Python 3.13); the leaf is all authentication needs. What the ssl module cannot
    tell is None, as the spec allows.
    """
    der = ssl_object.getpeercert(binary_form=True)
    return {
        "server_cert": None,
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_name": None,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": None,
    }


class _WithTLSExtension:
    """A Hypercorn app wrapper adding one connection's TLS extension to each scope."""

    def __init__(self, app: Any, tls: dict[str, Any]) -> None:
        self.app = app
        self.tls = tls

    async def __call__(self, scope: Any, receive: Any, send: Any, sync_spawn: Any, call_soon: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope.setdefault("extensions", {})["tls"] = dict(self.tls)
        await self.app(scope, receive, send, sync_spawn, call_soon)


class TLSExtensionTCPServer(TCPServer):
    """Hypercorn's per-connection server, plus the ASGI TLS extension."""

    def __init__(self, app: Any, loop: Any, config: Any, context: Any, state: Any, reader: Any, writer: Any):
        # asyncio calls the connection callback after the TLS handshake, so the client
        # certificate, if one was sent, has been received and verified by now.
        ssl_object = writer.get_extra_info("ssl_object")
        if ssl_object is not None:
            app = _WithTLSExtension(app, tls_extension(ssl_object))
        super().__init__(app, loop, config, context, state, reader, writer)


class LateBodyTolerantH2Protocol(H2Protocol):
    """Hypercorn's HTTP/2 protocol, ignoring request data for streams already answered."""

    async def _handle_events(self, events: list[h2.events.Event]) -> None:
        # One event at a time: an earlier event of the same batch may open the stream
        # (HEADERS and the first DATA often arrive in one read) or close it.
        for event in events:
            if isinstance(event, h2.events.DataReceived) and event.stream_id not in self.streams:
                self.connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                await self._flush()  # send the WINDOW_UPDATE now: the client may be waiting on it
            else:
                await super()._handle_events([event])


def install() -> None:
    """Swap the subclasses in (idempotent); fail loudly if Hypercorn moved things."""
    for module, name, base, ours in (
        (hypercorn.asyncio.run, "TCPServer", TCPServer, TLSExtensionTCPServer),
        (hypercorn.protocol, "H2Protocol", H2Protocol, LateBodyTolerantH2Protocol),
    ):
        current = getattr(module, name, None)
        if not (isinstance(current, type) and issubclass(current, base)):
            raise RuntimeError(f"{module.__name__}.{name} is not Hypercorn's {base.__name__} any more")
        setattr(module, name, ours)
