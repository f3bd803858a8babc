"""The registry: one generic store (and one watch cache) per served resource.

Mirrors k8s.io/kubernetes/pkg/controlplane (``NewLegacyRESTStorage`` and each
group's ``RESTStorageProvider``), which builds a ``registry.Store`` per resource
from its strategy and installs it under its URL. Here the catalogue
(``apiserver/resources.py``) says what is served; ``kinds.py`` says which strategy
each resource uses; this module puts them together over one storage backend.

Resources that share storage (core ``events`` and ``events.k8s.io`` events, the
same objects under ``/registry/events/``) share one watch cache.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from apiserver import resources
from apiserver.resources import ResourceInfo
from apiserver.storage.cacher import Cacher
from apiserver.storage.store import ObjectStore

from .kinds import strategy_for
from .store import RegistryStore
from .strategy import StatusStrategy, Strategy

log = logging.getLogger(__name__)


@dataclass
class ResourceEntry:
    info: ResourceInfo
    store: RegistryStore
    cacher: Cacher
    status_strategy: Strategy | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def namespaced(self) -> bool:
        return self.info.namespaced


class Registry:
    """Every served resource's store, keyed by (group, version, resource)."""

    def __init__(self, storage: ObjectStore, *, watch_cache_size: int = 10_000) -> None:
        self.storage = storage
        self.entries: dict[tuple[str, str, str], ResourceEntry] = {}
        self._cachers: dict[str, Cacher] = {}
        for info in resources.RESOURCES:
            strategy = strategy_for(info)
            store = RegistryStore(
                group=info.group,
                resource=info.resource,
                kind=info.kind,
                api_version=info.api_version,
                namespaced=info.namespaced,
                prefix=info.storage_prefix,
                strategy=strategy,
                storage=storage,
            )
            cacher = self._cachers.get(info.storage_prefix)
            if cacher is None:
                cacher = Cacher(storage, info.storage_prefix, history=watch_cache_size)
                self._cachers[info.storage_prefix] = cacher
            status = StatusStrategy(strategy) if info.subresource("status") else None
            self.entries[(info.group, info.version, info.resource)] = ResourceEntry(
                info, store, cacher, status
            )

    def get(self, group: str, version: str, resource: str) -> ResourceEntry | None:
        return self.entries.get((group, version, resource))

    def by_resource(self, group: str, resource: str) -> ResourceEntry | None:
        for (g, _v, r), entry in self.entries.items():
            if g == group and r == resource:
                return entry
        return None

    async def start(self, ready_within: float = 30.0) -> None:
        """Start every watch cache and wait until each holds its initial list."""
        await asyncio.gather(*(c.start() for c in self._cachers.values()))
        await asyncio.wait_for(
            asyncio.gather(*(c.ready.wait() for c in self._cachers.values())), ready_within
        )

    async def stop(self) -> None:
        await asyncio.gather(*(c.stop() for c in self._cachers.values()), return_exceptions=True)
