"""The storage contract: a small key-value protocol with etcd v3 semantics.

Mirrors kine's ``pkg/server/types.go`` (the whole etcd contract the apiserver needs,
as one small interface) and the key-value half of
k8s.io/apiserver/pkg/storage/interfaces.go. Every backend (``etcd.py``,
``sqlite.py``) implements :class:`Backend`; everything above it (``store.py``: objects,
resourceVersions, preconditions, continue tokens, retries; ``cacher.py``: the
watch cache) is written once against this protocol.

The semantics are etcd's MVCC:

* One store-wide **revision**, a 64-bit integer that every write increments by
  one. A key remembers the revision that created it (``create_revision``) and the
  one that last wrote it (``mod_revision``). ``mod_revision`` is what Kubernetes
  calls an object's ``metadata.resourceVersion``; the revision a read was served
  at is a list's ``resourceVersion``.
* **Writes are compare-and-swap.** Create succeeds only if the key does not exist
  (etcd: ``txn(mod_revision(key) == 0, put)``); update and delete only if the key's
  ``mod_revision`` still equals the one the caller read (``txn(mod_revision(key) ==
  expected, put)``). These are the only transaction shapes kube-apiserver sends.
* **Reads at a revision.** ``get`` and ``list`` take an optional past revision and
  return the state as it was then, until that revision is **compacted** away, after
  which they raise :class:`CompactedError`.
* **Watch from a revision.** ``watch(prefix, start_revision)`` replays every change
  with ``revision >= start_revision`` in order, then streams new ones; each delete
  and update carries the previous value. A start revision already compacted raises
  :class:`CompactedError`. Batches with no events are *progress notifications*:
  the store's revision moved on with nothing under this prefix (they back
  Kubernetes ``BOOKMARK`` events).

Keys are strings laid out as kube-apiserver lays them out:
``/registry/<resource>/<namespace>/<name>`` (no namespace segment for cluster-scoped
kinds). Built-in groups do not add the group (``/registry/deployments/``); a few core
resources keep historical prefixes (``minions``, ``services/specs``); see
``apiserver/resources.py``. Values are opaque bytes here (the object's JSON).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class KeyValue:
    """One key at one revision, as etcd's ``mvccpb.KeyValue``."""

    key: str
    value: bytes
    create_revision: int
    mod_revision: int


class EventType(enum.Enum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


@dataclass(frozen=True, slots=True)
class Event:
    """One change to one key.

    ``revision`` is the revision of this change (for a delete: the revision of the
    delete itself). ``value`` is the new value (``b""`` for a delete);
    ``prev_value``/``prev_revision`` the value before it (``None``/0 for a create).
    """

    type: EventType
    key: str
    revision: int
    value: bytes
    create_revision: int
    prev_value: bytes | None = None
    prev_revision: int = 0


@dataclass(slots=True)
class WatchBatch:
    """What a watch yields: events in revision order, or none (a progress notification).

    ``revision`` is the store revision the watcher is known to be current at: the last
    event's revision, or for a progress notification the store's revision then.
    """

    events: list[Event]
    revision: int


@dataclass(slots=True)
class ListResult:
    """One page of a range read.

    ``revision`` is the revision the read was served at (pass it back for the next
    page to keep a consistent snapshot). ``more`` is True if keys remain after the
    last one returned; ``count`` is how many keys in the whole range (from
    ``start_key``) existed at that revision, used for ``remainingItemCount``.
    """

    kvs: list[KeyValue]
    revision: int
    more: bool
    count: int = 0
    extra: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """The etcd v3 contract, as the apiserver uses it. All methods are coroutines.

    Errors are the named ones in ``errors.py``: ``KeyExistsError`` (create),
    ``KeyNotFoundError`` (update/delete of a missing key), ``ConflictError``
    (mod_revision no longer the expected one), ``CompactedError`` (read/watch at a
    compacted revision), ``UnavailableError`` (backend unreachable; names the
    endpoint).
    """

    #: A short human name: "sqlite:/path/to/state.db" or "etcd:127.0.0.1:2379".
    name: str

    async def start(self) -> None:
        """Open connections/files; create schema. Idempotent."""

    async def close(self) -> None:
        """Release everything; pending watches end."""

    async def current_revision(self) -> int:
        """The store-wide revision now (the header revision of a fresh read)."""

    async def compacted_revision(self) -> int:
        """The newest revision that was compacted away (0 if none)."""

    async def get(self, key: str, revision: int = 0) -> tuple[KeyValue | None, int]:
        """The key at ``revision`` (0 = now); ``(None, rev)`` if absent. Returns ``(kv, read_revision)``."""

    async def create(self, key: str, value: bytes) -> int:
        """Put ``key`` only if absent; returns the new revision (= its mod_revision)."""

    async def update(self, key: str, value: bytes, expected_revision: int) -> int:
        """Put ``key`` only if its mod_revision == ``expected_revision``; returns the new revision."""

    async def delete(self, key: str, expected_revision: int = 0) -> tuple[int, KeyValue]:
        """Delete ``key`` (only if mod_revision == ``expected_revision`` when that is non-zero).

        Returns ``(revision_of_the_delete, the_deleted_key_value)``.
        """

    async def list(
        self, prefix: str, *, start_key: str = "", limit: int = 0, revision: int = 0, count: bool = True
    ) -> ListResult:
        """Keys ``>= max(prefix, start_key)`` that start with ``prefix``, in key order, at ``revision``.

        ``limit`` 0 means all. ``revision`` 0 means now. ``count=False`` says the caller
        does not need ``ListResult.count`` (a backend for which counting costs a scan may
        then leave it 0; ``more`` must still be right).
        """

    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[WatchBatch]:
        """Every change under ``prefix`` with revision >= ``start_revision``, then live ones.

        ``start_revision`` 0 means "from now on". Raises ``CompactedError`` from the
        iterator if ``start_revision`` is compacted. Closing the iterator (``aclose``)
        cancels the watch. A backend that loses its connection resumes from the last
        delivered revision + 1 by itself and loses no event.
        """

    async def compact(self, revision: int) -> None:
        """Forget every value superseded at or before ``revision``."""
