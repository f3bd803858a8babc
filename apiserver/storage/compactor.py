"""The compactor: keeps storage from growing without end by forgetting old revisions.

Mirrors k8s.io/apiserver/pkg/storage/etcd3/compact.go. Every ``interval`` seconds
it compacts storage up to the revision it saw at the *previous* tick, so every
revision stays readable (for lists at a resourceVersion, continue tokens and watch
resumption) for at least one full interval - five minutes by default, as
kube-apiserver's ``--etcd-compaction-interval``. A read or watch from before that
gets ``CompactedError``, which the API turns into 410 Expired.
"""

from __future__ import annotations

import asyncio
import logging

from .errors import StorageError
from .interface import Backend

log = logging.getLogger(__name__)


async def run_compactor(backend: Backend, interval: float) -> None:
    """Run until cancelled; ``interval`` <= 0 disables compaction."""
    if interval <= 0:
        return
    previous = 0
    while True:
        await asyncio.sleep(interval)
        try:
            current = await backend.current_revision()
            if previous:
                await backend.compact(previous)
                log.info("compacted storage to revision %d", previous)
            previous = current
        except StorageError as e:
            log.warning("compaction failed, will retry next interval: %s", e)
