"""Pod workers: one asyncio task per pod, each running the level-triggered sync loop.

Mirrors pkg/kubelet/pod_workers.go (``podWorkers.UpdatePod``, ``podWorkerLoop``) and the
kubelet's ``SyncPod`` / ``SyncTerminatingPod`` / ``HandlePodCleanups`` (kubelet.go).

The pod informer (``fieldSelector=spec.nodeName=<node>``) only *wakes* a worker; the
worker then reads the newest pod from the informer's cache and acts on it, so any
number of updates while it was busy collapse into one sync. Each wake-up::

    pod gone from the API, or a new uid      -> kill its containers (it was force-deleted)
    deletionTimestamp set                    -> graceful termination (kuberuntime.kill),
                                                final status, then DELETE with
                                                gracePeriodSeconds=0 and preconditions.uid:
                                                the API server removes the pod; worker ends
    otherwise                                -> sync (kuberuntime.sync), compute the
                                                status, write it if it changed

and then it sleeps until the next event, a back-off expiry, or ``sync_period`` (the
runtime is re-read that often: upstream's PLEG relists every second for the same
reason: container exits are noticed by looking).

**Housekeeping** (``HandlePodCleanups``, every 2 s): any pod the runtime holds that
the API no longer knows, e.g. deleted while this kubelet was down, is killed and its
sandboxes, containers, cgroups and volumes removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from apimachinery import errors
from client.rest import PODS, RESTClient
from kubelet import status as pod_status
from kubelet.kuberuntime import PodSyncer
from kubelet.podstate import RuntimePod, observe, pods_on_runtime

#: Seconds a pod's first sync may run before its status (ContainerCreating) is written.
EARLY_STATUS_AFTER = 0.2

log = logging.getLogger(__name__)

HOUSEKEEPING_PERIOD = 2.0


@dataclass
class _Worker:
    key: str  # namespace/name
    task: asyncio.Task[None] | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class PodWorkers:
    def __init__(
        self,
        syncer: PodSyncer,
        statuses: pod_status.StatusManager,
        rest: RESTClient | None,
        get_pod: Callable[[str], dict[str, Any] | None],
        host_ip: str,
        sync_period: float = 1.0,
    ) -> None:
        self.syncer, self.statuses, self.rest, self.get_pod = syncer, statuses, rest, get_pod
        self.host_ip, self.sync_period = host_ip, sync_period
        self.workers: dict[str, _Worker] = {}  # pod uid -> its worker
        self._stopping = False
        self._finished: set[str] = set()  # uids whose final DELETE was sent: late events are ignored

    # --- what the informer calls ----------------------------------------------------

    def update(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        uid = meta["uid"]
        worker = self.workers.get(uid)
        if worker is None:
            if self._stopping or uid in self._finished:
                return
            worker = self.workers[uid] = _Worker(f"{meta.get('namespace', '')}/{meta['name']}")
            worker.task = asyncio.get_running_loop().create_task(
                self._run(uid, worker), name=f"pod {worker.key}"
            )
        worker.wake.set()

    def wake(self, uid: str) -> None:
        if (worker := self.workers.get(uid)) is not None:
            worker.wake.set()

    async def stop(self) -> None:
        """Stop the workers (not the pods: their containers keep running)."""
        self._stopping = True
        tasks = [w.task for w in self.workers.values() if w.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.workers.clear()

    # --- the loop ---------------------------------------------------------------------

    def _current(self, uid: str, key: str) -> dict[str, Any] | None:
        pod = self.get_pod(key)
        return pod if pod is not None and pod["metadata"].get("uid") == uid else None

    async def _run(self, uid: str, worker: _Worker) -> None:
        last: dict[str, Any] | None = None
        try:
            while True:
                worker.wake.clear()
                pod = self._current(uid, worker.key)
                try:
                    if pod is None:
                        await self._orphaned(uid, last)
                        return
                    last = pod
                    if pod["metadata"].get("deletionTimestamp"):
                        if await self._terminate(pod):
                            return
                        delay = self.sync_period
                    else:
                        rp = await self._sync(pod, uid)
                        await self._write_status(pod, rp)
                        wakeup = self.syncer.next_wakeup(pod, rp)
                        delay = (
                            self.sync_period if wakeup is None else min(self.sync_period, max(wakeup, 0.01))
                        )
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("sync of pod %s failed", worker.key)
                    delay = self.sync_period
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await worker.wake.wait()
        finally:
            if self.workers.get(uid) is worker and not self._stopping:
                del self.workers[uid]

    async def _sync(self, pod: dict[str, Any], uid: str) -> RuntimePod:
        """The runtime sync; a first sync that takes a while writes the status meanwhile.

        Upstream's SyncPod sets the pod's status before the runtime starts anything
        (kubelet.go: ``statusManager.SetPodStatus``, then ``containerRuntime.SyncPod``),
        so while a sandbox, a pull or a postStart hook takes its time the pod reads
        ``ContainerCreating``. Its status manager writes asynchronously, and a status
        already superseded is never sent; here the early status is written only when
        the first sync is still running after ``EARLY_STATUS_AFTER`` seconds, so a
        start that is over by then costs one write, not two.
        """
        first = self.statuses.last(uid) is None
        before = await observe(self.syncer.runtime, uid) if first else None
        task = asyncio.ensure_future(self.syncer.sync(pod, before))
        try:
            if before is not None:
                done, _ = await asyncio.wait({task}, timeout=EARLY_STATUS_AFTER)
                if not done:  # the status as SyncPod set it: from before the runtime acted
                    await self._write_status(pod, before)
            return await task
        except BaseException:
            task.cancel()  # the worker is stopping (or the early write failed): no orphan sync
            raise

    async def _write_status(self, pod: dict[str, Any], rp: RuntimePod) -> None:
        probes, uid = self.syncer.probes, pod["metadata"]["uid"]
        status = pod_status.generate(
            pod, rp, self.syncer.waiting.get(uid, {}), probes.ready, probes.started, self.host_ip, self.syncer.runtime_prefix
        )  # fmt: skip
        await self.statuses.set(pod, status)

    async def _terminate(self, pod: dict[str, Any]) -> bool:
        """Graceful termination, final status, final delete. True once the API server took it."""
        meta = pod["metadata"]
        uid = meta["uid"]
        rp = await self.syncer.kill(pod, uid, self.syncer._grace(pod))
        self.syncer.waiting.pop(uid, None)
        await self._write_status(pod, rp)
        await self.syncer.remove(uid)
        self.statuses.forget(uid)
        if len(self._finished) > 10_000:
            self._finished.clear()
        self._finished.add(uid)
        if self.rest is None:
            return True
        try:
            await self.rest.delete(
                PODS, meta["name"], namespace=meta.get("namespace", ""),
                grace_period_seconds=0, preconditions={"uid": uid},
            )  # fmt: skip
        except errors.StatusError as err:
            if not (errors.is_not_found(err) or errors.is_conflict(err)):
                raise
        return True

    async def _orphaned(self, uid: str, last: dict[str, Any] | None) -> None:
        """The pod left the API (force delete, or a new pod took its name): stop and remove it."""
        grace = (
            PodSyncer._grace(last) if last is not None and last["metadata"].get("deletionTimestamp") else 0
        )
        await self.syncer.kill(last, uid, grace)
        await self.syncer.remove(uid)
        self.statuses.forget(uid)

    # --- housekeeping -----------------------------------------------------------------

    async def cleanup_orphans(self, known_uids: Callable[[], set[str]]) -> list[str]:
        """Kill and remove what the runtime runs for pods the API does not have."""
        removed = []
        known = known_uids()
        for uid in await pods_on_runtime(self.syncer.runtime, self.syncer.node_name):
            if uid not in known and uid not in self.workers:
                log.info("removing orphaned pod %s", uid)
                await self.syncer.kill(None, uid, 0)
                await self.syncer.remove(uid)
                removed.append(uid)
        return removed

    async def housekeeping(self, known_uids: Callable[[], set[str]]) -> None:
        while True:
            await asyncio.sleep(HOUSEKEEPING_PERIOD)
            try:
                await self.cleanup_orphans(known_uids)
            except Exception:
                log.exception("pod cleanup failed")
