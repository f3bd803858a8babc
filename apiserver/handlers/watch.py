"""WATCH: a long-lived chunked HTTP response, one JSON event per line.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/watch.go (serveWatch / HandleHTTP)
on top of the watch cache (``apiserver/storage/cacher.py``):

* the status line and headers go out at once, before the first event;
* each event is ``{"type": ..., "object": ...}`` followed by ``\\n`` (the Python
  client splits on newlines), flushed as it happens; events that arrive together
  go out in one chunk, and a busy stream writes at most once per ``FLUSH_INTERVAL``;
* each event is encoded once for all its watchers (``watch_encoding.py``);
* a resourceVersion older than the cache's window is not an HTTP error but one
  ``ERROR`` event carrying a 410 ``Status``, then the end of the stream (clients
  re-list on it); a resourceVersion from the future waits up to 3 s, then 504;
* ``timeoutSeconds`` ends the stream cleanly; without it the server picks
  1800-3600 s (``minRequestTimeout * (1 + rand)``);
* ``BOOKMARK`` objects carry only ``kind``, ``apiVersion`` and
  ``metadata.resourceVersion`` (plus ``k8s.io/initial-events-end`` for watch-list).
* With ``Accept: ...;as=Table``, each object is a one-row Table (``kubectl get -w``).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from apimachinery import errors
from apiserver import printers
from apiserver.registry.conversion import Codec
from apiserver.serialization import JSON, negotiate
from apiserver.storage import errors as serr
from apiserver.storage.cache_watcher import Watcher
from apiserver.storage.cacher import TooLargeResourceVersionError
from apiserver.storage.store import ObjectEvent

from .common import Scope
from .listoptions import parse_list_options
from .watch_encoding import Encoder, shared_encoder

#: kube-apiserver --min-request-timeout default; a watch without timeoutSeconds lasts 1-2x this.
MIN_REQUEST_TIMEOUT = 1800
#: The least time between two writes on one busy watch stream (see ``_stream``).
FLUSH_INTERVAL = 0.05


async def watch(scope: Scope) -> Response:
    accept = negotiate(scope.request)
    opts = parse_list_options(scope, watch=True)
    store = scope.store
    key = store.key(scope.namespace, opts.name) if opts.name else store.list_prefix(scope.namespace)
    rv = int(opts.resource_version) if opts.resource_version else 0
    timeout = opts.timeout_seconds if opts.timeout_seconds else MIN_REQUEST_TIMEOUT * (1 + random.random())
    info = scope.entry.info
    try:
        watcher = await scope.entry.cacher.watch(
            rv,
            opts.predicate,
            key=key,
            send_initial_events=bool(opts.send_initial_events),
            allow_bookmarks=opts.allow_bookmarks,
        )
    except serr.CompactedError as e:
        status = errors.new_resource_expired(
            f"too old resource version: {rv} ({e.compacted_revision + 1})"
        ).status
        line = orjson.dumps({"type": "ERROR", "object": status}) + b"\n"
        return Response(line, media_type=JSON)
    except TooLargeResourceVersionError as e:
        err = errors.new_timeout_error(str(e), 1)
        err.status.setdefault("details", {})["causes"] = [
            {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
        ]
        raise err from None
    except serr.StorageError as e:
        raise store.translate(e) from None

    codec = store.codec
    decode = codec.from_storage if type(codec).from_storage is not Codec.from_storage else None
    encode: Encoder
    if accept.table:
        table = _table_encoder(info.resource, accept.include_object, f"meta.k8s.io/{accept.table}")
        if decode is None:
            encode = table
        else:

            def encode(ev: ObjectEvent) -> bytes:
                if ev.type != "BOOKMARK":
                    ev = ObjectEvent(ev.type, decode(ev.object), ev.revision, ev.prev_object)
                return table(ev)

    else:
        encode = shared_encoder(scope.entry.extra, info.kind, info.api_version, decode)
    return StreamingResponse(_stream(watcher, timeout, encode), media_type=JSON)


async def _stream(watcher: Watcher, seconds: float, encode: Encoder) -> AsyncIterator[bytes]:
    """Write what is ready as one chunk, at most once per :data:`FLUSH_INTERVAL`.

    ``watch.go`` flushes whenever its channel is empty, so events that arrived
    together leave together. In Go a write is cheap; here each chunk costs a trip
    through Starlette, h11, TLS and a syscall, so a watcher that has just written
    lets more events gather before it writes again: an idle watch sends its first
    event at once, a busy one sends one chunk per interval instead of one per event.
    The deadline (``timeoutSeconds``) is one timer that closes the watcher, not a
    timeout around every wait.
    """
    loop = asyncio.get_running_loop()
    timer = loop.call_at(loop.time() + seconds, watcher.close)
    last_write = -FLUSH_INTERVAL
    try:
        while True:
            batch = await watcher.next_batch()
            if not batch:
                return  # ended: too slow, the cache re-listed, or timeoutSeconds passed
            linger = last_write + FLUSH_INTERVAL - loop.time()
            if linger > 0:
                await asyncio.sleep(linger)
                batch += watcher.ready_events()
            yield b"".join([encode(ev) for ev in batch])
            last_write = loop.time()
    finally:
        timer.cancel()
        watcher.close()


def _table_encoder(resource: str, include_object: str, api_version: str) -> Encoder:
    """One-row Tables; column definitions only on the first event, as the real server sends them."""
    first = True

    def encode(ev: ObjectEvent) -> bytes:
        nonlocal first
        if ev.type == "BOOKMARK":
            rv = (ev.object.get("metadata") or {}).get("resourceVersion", "")
            obj: dict[str, Any] = {
                "kind": "Table",
                "apiVersion": api_version,
                "metadata": {"resourceVersion": rv},
                "columnDefinitions": None,
                "rows": None,
            }
        else:
            obj = printers.to_table(
                resource,
                [ev.object],
                include_object=include_object,
                list_meta={"resourceVersion": ev.object["metadata"].get("resourceVersion", "")},
                include_headers=first,
                api_version=api_version,
            )
            first = False
        return orjson.dumps({"type": ev.type, "object": obj}) + b"\n"

    return encode
