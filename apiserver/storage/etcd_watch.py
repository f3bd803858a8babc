"""Watching etcd: one ``Watch`` stream per call that survives the loss of its connection.

Mirrors k8s.io/apiserver/pkg/storage/etcd3/watcher.go (how kube-apiserver turns an
etcd watch into events) and speaks ``Watch`` from etcd's
``api/etcdserverpb/rpc.proto`` directly, through ``aetcd.rpc.WatchStub``:

* The stream is created with ``prev_kv`` (updates and deletes carry the old value,
  which the watch cache and field-selector transitions need) and
  ``progress_notify`` (an empty response carrying the store revision when the
  watcher has seen nothing for a while: it becomes an empty
  :class:`~apiserver.storage.interface.WatchBatch`, a Kubernetes ``BOOKMARK``).
* A start revision that is already compacted makes etcd answer with
  ``compact_revision`` set and cancel the watch: that is
  :class:`~apiserver.storage.errors.CompactedError` (HTTP 410 Gone upstream).
* **Resuming.** When the connection breaks, the watch opens a new stream, on any
  endpoint that answers, starting at *the last delivered event's revision + 1*.
  Never at a response header revision: a header may be ahead of events not yet
  received, and resuming from it would skip them (the bug etcd3aio has). Each event
  is therefore delivered exactly once and in order. Reconnection backs off from
  0.1 s to 2 s; after ``watch_retry_timeout`` seconds without a connection the
  iterator raises :class:`~apiserver.storage.errors.UnavailableError`, so no
  consumer waits forever on a dead cluster.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import grpc
from aetcd import rpc

from .errors import CompactedError, StorageError, UnavailableError
from .etcd import key_bytes, key_str, prefix_end
from .interface import Event, EventType, WatchBatch

if TYPE_CHECKING:
    from .etcd import EtcdBackend

#: Stream failures that mean "the connection (or the member) went away": reconnect.
_RETRYABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}


class _StreamEnded(Exception):
    """etcd closed the stream without an error status (e.g. while shutting down)."""


def to_event(ev: Any) -> Event:
    """An ``mvccpb.Event`` (with ``prev_kv``) as the protocol's :class:`Event`."""
    kv = ev.kv
    prev = ev.prev_kv if ev.HasField("prev_kv") else None
    prev_value = prev.value if prev is not None else None
    prev_revision = int(prev.mod_revision) if prev is not None else 0
    if ev.type == rpc.Event.DELETE:
        # A delete's kv holds only the key and the revision of the delete.
        create_revision = int(prev.create_revision) if prev is not None else 0
        return Event(
            EventType.DELETE,
            key_str(kv.key),
            int(kv.mod_revision),
            b"",
            create_revision,
            prev_value,
            prev_revision,
        )
    kind = EventType.CREATE if kv.create_revision == kv.mod_revision else EventType.UPDATE
    return Event(
        kind,
        key_str(kv.key),
        int(kv.mod_revision),
        kv.value,
        int(kv.create_revision),
        prev_value,
        prev_revision,
    )


async def watch(backend: EtcdBackend, prefix: str, start_revision: int) -> AsyncIterator[WatchBatch]:
    """Every change under ``prefix`` from ``start_revision`` (0: from now on), resuming on loss."""
    loop = asyncio.get_running_loop()
    key = key_bytes(prefix)
    end = prefix_end(key)
    next_revision = start_revision  # the first revision not yet delivered (0: not known yet)
    delay = 0.1
    while not backend.closed:
        try:
            endpoint = await backend.connected(loop.time() + backend.watch_retry_timeout)
        except UnavailableError:
            if backend.closed:
                return  # closing the backend ends its watches
            raise
        call = rpc.WatchStub(endpoint.channel).Watch()
        try:
            create = rpc.WatchCreateRequest(
                key=key, range_end=end, start_revision=next_revision, prev_kv=True, progress_notify=True
            )
            await call.write(rpc.WatchRequest(create_request=create))
            while True:
                resp = await call.read()
                if resp is grpc.aio.EOF:
                    raise _StreamEnded
                if resp.compact_revision:
                    backend.note_compacted(int(resp.compact_revision))
                    raise CompactedError(next_revision, int(resp.compact_revision), key=prefix)
                if resp.canceled:
                    raise StorageError(
                        f"etcd canceled the watch on {prefix}: {resp.cancel_reason}", key=prefix
                    )
                if resp.created:
                    if next_revision == 0:  # "from now on": now is the creation's revision
                        next_revision = int(resp.header.revision) + 1
                    continue
                delay = 0.1  # a working stream: the next loss starts backing off afresh
                if resp.events:
                    batch = WatchBatch([to_event(ev) for ev in resp.events], 0)
                    batch.revision = batch.events[-1].revision
                    next_revision = batch.revision + 1
                    yield batch
                else:  # a progress notification: nothing under prefix up to this revision
                    yield WatchBatch([], int(resp.header.revision))
        except grpc.aio.AioRpcError as e:
            if backend.closed:
                return
            if e.code() not in _RETRYABLE:
                raise StorageError(f"etcd watch on {prefix}: {e.code().name}: {e.details()}") from None
        except _StreamEnded:
            if backend.closed:
                return
        finally:
            call.cancel()
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)
