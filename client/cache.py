"""The informer's local cache: objects by key, plus secondary indexes.

An informer keeps a copy of every object it watches, so controllers read from
memory instead of asking the API server. This module is that copy:

* objects are stored by their key, ``namespace/name`` (or ``name`` when
  cluster-scoped), as ``MetaNamespaceKeyFunc`` computes it;
* an **index** is a named function from an object to a list of index values; the
  store keeps, per index, ``value -> {keys}``, so "every pod on node1" or "every
  pod owned by uid X" is a lookup, not a scan. The ``namespace`` index is always there;
* :class:`DeletedFinalStateUnknown` is the tombstone handed to ``on_delete`` when an
  object vanished while the watch was down (found missing at the next re-list): its
  last known state may be stale.

**Never mutate an object you got from the cache.** The store hands out the very dicts
it holds (copying every object on every read would cost more than the cache saves),
and other handlers and controllers see the same dict. To change something, take a
:func:`copy` first and send the copy to the API server; the change comes back
through the watch.

The store is safe to use from several coroutines: every method runs without
awaiting, so on one event loop it is atomic. A lock also makes it safe from worker
threads (``asyncio.to_thread``), as client-go's ``threadSafeMap`` is.

Mirrors: k8s.io/client-go/tools/cache/{store.go, index.go, thread_safe_store.go,
controller.go (DeletedFinalStateUnknown)}.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from apimachinery.meta import object_key

Obj = dict[str, Any]
#: An index function: the index values of an object (``IndexFunc``).
IndexFunc = Callable[[Obj], list[str]]

NAMESPACE_INDEX = "namespace"


def copy(obj: Obj) -> Obj:
    """A deep copy of a JSON object, safe to modify (``obj.DeepCopy()``)."""
    copied: Obj = orjson.loads(orjson.dumps(obj))
    return copied


@dataclass(frozen=True)
class DeletedFinalStateUnknown:
    """A deletion the informer did not see happen: ``obj`` is the last state it knew."""

    key: str
    obj: Obj


def final_state(obj: Obj | DeletedFinalStateUnknown) -> Obj:
    """The object an ``on_delete`` handler received, unwrapping a tombstone."""
    return obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj


def deletion_handling_key(obj: Obj | DeletedFinalStateUnknown) -> str:
    """The key of an object or of a tombstone (``DeletionHandlingMetaNamespaceKeyFunc``)."""
    return obj.key if isinstance(obj, DeletedFinalStateUnknown) else object_key(obj)


# --- common index functions --------------------------------------------------------------


def index_by_namespace(obj: Obj) -> list[str]:
    """``MetaNamespaceIndexFunc``: the object's namespace ("" for cluster-scoped ones)."""
    return [(obj.get("metadata") or {}).get("namespace", "")]


def index_by_owner_uid(obj: Obj) -> list[str]:
    """The uids of the object's owners (what the garbage collector and ReplicaSets look up)."""
    return [ref["uid"] for ref in (obj.get("metadata") or {}).get("ownerReferences") or [] if "uid" in ref]


def index_by_node_name(obj: Obj) -> list[str]:
    """A pod's ``spec.nodeName``; unscheduled pods are not indexed."""
    node = (obj.get("spec") or {}).get("nodeName")
    return [node] if node else []


class Indexer:
    """A thread-safe map from key to object, with indexes (``cache.Indexer``)."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        self._lock = threading.RLock()
        self._items: dict[str, Obj] = {}
        self._indexers: dict[str, IndexFunc] = {NAMESPACE_INDEX: index_by_namespace}
        # index name -> index value -> keys. Invariant: key k is under value v of index i
        # exactly when `_indexers[i](_items[k])` contains v; empty sets are dropped.
        self._indices: dict[str, dict[str, set[str]]] = {NAMESPACE_INDEX: {}}
        if indexers:
            self.add_indexers(indexers)

    # --- reads ------------------------------------------------------------------------

    def get(self, key: str) -> Obj | None:
        """The cached object at ``namespace/name`` (do not modify it), or None."""
        with self._lock:
            return self._items.get(key)

    def get_by_object(self, obj: Obj) -> Obj | None:
        return self.get(object_key(obj))

    def list(self) -> builtins.list[Obj]:
        with self._lock:
            return list(self._items.values())

    def list_keys(self) -> builtins.list[str]:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def by_index(self, index_name: str, value: str) -> builtins.list[Obj]:
        """Every object whose ``index_name`` values include ``value``."""
        with self._lock:
            keys = self._index(index_name).get(value, ())
            return [self._items[k] for k in sorted(keys)]

    def index_keys(self, index_name: str, value: str) -> builtins.list[str]:
        with self._lock:
            return sorted(self._index(index_name).get(value, ()))

    def list_index_values(self, index_name: str) -> builtins.list[str]:
        with self._lock:
            return sorted(self._index(index_name))

    def _index(self, name: str) -> dict[str, set[str]]:
        try:
            return self._indices[name]
        except KeyError:
            raise KeyError(f"index {name!r} does not exist") from None

    # --- writes (the informer's; a controller never writes its cache) ------------------

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Add indexes, computing them for the objects already stored."""
        with self._lock:
            for name, func in indexers.items():
                if name in self._indexers:
                    raise ValueError(f"indexer conflict: {name}")
                self._indexers[name] = func
                self._indices[name] = {}
                for key, obj in self._items.items():
                    self._index_one(name, key, obj)

    def add(self, obj: Obj) -> None:
        self.update(obj)

    def update(self, obj: Obj) -> None:
        """Store ``obj`` under its key, replacing (and re-indexing) any previous version."""
        key = object_key(obj)
        with self._lock:
            old = self._items.get(key)
            self._items[key] = obj
            self._reindex(key, old, obj)

    def delete(self, obj: Obj | DeletedFinalStateUnknown) -> None:
        key = deletion_handling_key(obj)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._reindex(key, old, None)

    def replace(self, objs: Iterable[Obj]) -> None:
        """Make the store hold exactly ``objs`` (after a re-list)."""
        with self._lock:
            self._items = {object_key(o): o for o in objs}
            self._indices = {name: {} for name in self._indexers}
            for key, obj in self._items.items():
                for name in self._indexers:
                    self._index_one(name, key, obj)

    def _index_one(self, name: str, key: str, obj: Obj) -> None:
        index = self._indices[name]
        for value in self._indexers[name](obj):
            index.setdefault(value, set()).add(key)

    def _reindex(self, key: str, old: Obj | None, new: Obj | None) -> None:
        for name, func in self._indexers.items():
            old_values = set(func(old)) if old is not None else set()
            new_values = set(func(new)) if new is not None else set()
            index = self._indices[name]
            for value in old_values - new_values:
                keys = index.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[value]
            for value in new_values - old_values:
                index.setdefault(value, set()).add(key)
