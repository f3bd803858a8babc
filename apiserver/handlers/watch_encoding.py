"""Encode each watch event once, however many watchers send it.

Mirrors k8s.io/apiserver/pkg/storage/cacher/caching_object.go: upstream wraps every
object the watch cache hands out in a ``cachingObject`` that remembers its
serialization per encoder, so a hundred ``kubectl get -w`` on the same resource cost
one JSON encoding per event, not a hundred. Here the watch cache's events are shared
:class:`~apiserver.storage.store.ObjectEvent` instances (``watch_cache.py``), so the
cache is keyed by the event's identity:

* one :class:`EncodedEvents` per served resource (kind and apiVersion fix the bytes),
  kept in ``ResourceEntry.extra``;
* it holds the event itself beside its bytes, so an id is never reused while cached,
  and it is bounded: the oldest entries go first (events are encoded in the order the
  cacher dispatches them, and every watcher reads them in that order);
* per-watcher events (a selector transition builds its own ``ObjectEvent``) are simply
  encoded and cached too; they fall out of the bound unread.

Tables (``kubectl get -w``) are not cached: their first row carries column
definitions and the rest do not, so the bytes differ per watcher.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from apiserver.storage.store import ObjectEvent

Encoder = Callable[[ObjectEvent], bytes]

#: Events kept encoded per resource: a dispatch burst's worth for every watcher to read.
CACHE_SIZE = 4096


class EncodedEvents:
    """A bounded identity cache: event -> its wire line (``{"type":..,"object":..}\\n``)."""

    def __init__(self, encode: Encoder, size: int = CACHE_SIZE) -> None:
        self._encode = encode
        self._size = size
        self._lines: dict[int, tuple[ObjectEvent, bytes]] = {}

    def __call__(self, ev: ObjectEvent) -> bytes:
        hit = self._lines.get(id(ev))
        if hit is not None and hit[0] is ev:
            return hit[1]
        line = self._encode(ev)
        if len(self._lines) >= self._size:
            del self._lines[next(iter(self._lines))]  # the oldest: dicts keep insertion order
        self._lines[id(ev)] = (ev, line)
        return line


def object_encoder(kind: str, api_version: str, decode: Callable[[Any], Any] | None = None) -> Encoder:
    """One event as a JSON line; ``decode`` converts a stored object to the served version."""

    def encode(ev: ObjectEvent) -> bytes:
        obj = ev.object
        if ev.type == "BOOKMARK":
            obj = {"kind": kind, "apiVersion": api_version, "metadata": obj.get("metadata") or {}}
        elif decode is not None:
            obj = decode(obj)
        return orjson.dumps({"type": ev.type, "object": obj}) + b"\n"

    return encode


def shared_encoder(extra: dict[str, object], kind: str, api_version: str, decode: Any) -> Encoder:
    """The resource's :class:`EncodedEvents`, created on first use (one per resource entry)."""
    cached = extra.get("watch_event_lines")
    if not isinstance(cached, EncodedEvents):
        cached = EncodedEvents(object_encoder(kind, api_version, decode))
        extra["watch_event_lines"] = cached
    return cached
