"""The controller manager: shared informers, one workqueue + reconcile per controller, one leader.

::

    informers (one list+watch per resource, shared)
        │  on_add / on_update / on_delete
        ▼
    Watch.keys(obj)  ──►  controller A's workqueue  ──►  A.reconcile(key) x workers
                     ──►  controller B's workqueue  ──►  B.reconcile(key) x workers

* Every resource is listed and watched **once** per process, however many
  controllers watch it (``Manager.informer``); caches carry ``owner`` (ownerReference
  uids) and ``node`` (``spec.nodeName``) indexes.
* Each controller gets a :class:`client.reconcile.Controller`: a rate-limited,
  deduplicating workqueue and ``workers`` coroutines calling its ``reconcile``.
* One event broadcaster (client/events.py) writes every controller's events; each
  controller takes a recorder for its own component name (``ctx.recorder(...)``). The
  writer starts with the controllers and, when they stop, flushes for up to 5 s.
* With ``leader_elect``, all of this runs only while this process holds the Lease
  ``kube-system/kube-controller-manager``; a second replica waits, and takes over
  within the lease duration when the leader dies.

Mirrors: cmd/kube-controller-manager/app/controllermanager.go (Run, StartControllers,
NewControllerDescriptors, leader election), client-go informers/factory.go
(SharedInformerFactory).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from client import reconcile
from client.cache import final_state, index_by_node_name, index_by_owner_uid
from client.events import EventBroadcaster, EventRecorder
from client.informer import SharedInformer
from client.leaderelection import LeaderElector, LeaseLock
from client.rest import GVR, RESTClient
from controllers.base import Controller, Watch, wall_clock
from controllers.util import Obj

log = logging.getLogger(__name__)

LEADER_LEASE_NAMESPACE = "kube-system"
LEADER_LEASE_NAME = "kube-controller-manager"
#: On the way out, queued events get this long to be written.
EVENTS_FLUSH_SECONDS = 5.0


def all_controllers() -> dict[str, type[Controller]]:
    """Every controller by name (NewControllerDescriptors), imported lazily."""
    from controllers.deployment import DeploymentController
    from controllers.replicaset import ReplicaSetController, ReplicationControllerController

    found: list[type[Controller]] = [
        ReplicaSetController,
        ReplicationControllerController,
        DeploymentController,
    ]
    for module, cls in _OPTIONAL:
        try:
            mod = __import__(f"controllers.{module}", fromlist=[cls])
        except ImportError:  # pragma: no cover - a controller not written yet
            continue
        found.append(getattr(mod, cls))
    return {c.name: c for c in found}


_OPTIONAL = [
    ("namespace", "NamespaceController"),
    ("garbagecollector", "GarbageCollector"),
    ("serviceaccount", "ServiceAccountController"),
    ("rootcacert", "RootCACertController"),
    ("endpoints", "EndpointsController"),
    ("endpointslice", "EndpointSliceController"),
    ("job", "JobController"),
    ("cronjob", "CronJobController"),
    ("podgc", "PodGCController"),
    ("nodelifecycle", "NodeLifecycleController"),
    ("statefulset", "StatefulSetController"),
    ("daemonset", "DaemonSetController"),
]


def select(names: Iterable[str], available: Iterable[str]) -> list[str]:
    """``--controllers`` as upstream: ``*`` all, ``foo`` on, ``-foo`` off."""
    names = list(names) or ["*"]
    chosen: list[str] = []
    for name in available:
        if f"-{name}" in names:
            continue
        if name in names or "*" in names:
            chosen.append(name)
    return chosen


class Manager:
    def __init__(
        self,
        client: RESTClient,
        controllers: Iterable[str] = ("*",),
        *,
        now: Callable[[], float] = wall_clock,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.client = client
        self._now = now
        self.options = options or {}
        self.informers: dict[GVR, SharedInformer] = {}
        self.runners: dict[str, reconcile.Controller] = {}
        self.broadcaster = EventBroadcaster(client)
        self._recorders: dict[str, EventRecorder] = {}
        registry = all_controllers()
        self.controllers: dict[str, Controller] = {}
        for name in select(controllers, registry):
            self.controllers[name] = registry[name](self, **self.options.get(name, {}))

    # --- the Context controllers see -------------------------------------------------------

    def informer(self, gvr: GVR) -> SharedInformer:
        inf = self.informers.get(gvr)
        if inf is None:
            inf = SharedInformer.for_resource(
                self.client,
                gvr,
                indexers={"owner": index_by_owner_uid, "node": index_by_node_name, "uid": index_by_uid},
            )
            self.informers[gvr] = inf
        return inf

    def now(self) -> float:
        return self._now()

    def enqueue(self, controller: str, key: str, after: float = 0.0) -> None:
        runner = self.runners.get(controller)
        if runner is not None:
            runner.queue.add_after(key, after) if after > 0 else runner.queue.add(key)

    def recorder(self, component: str) -> EventRecorder:
        rec = self._recorders.get(component)
        if rec is None:
            rec = self._recorders[component] = self.broadcaster.new_recorder(component)
        return rec

    # --- wiring and running ------------------------------------------------------------------

    def _wire(self, name: str, controller: Controller) -> reconcile.Controller:
        runner = reconcile.Controller(name, controller.reconcile, workers=controller.workers)
        for watch in controller.watches():
            informer = self.informer(watch.gvr)
            runner.informers.append(informer)
            informer.add_event_handler(*_handlers(runner, watch))
        return runner

    async def run_controllers(self) -> None:
        """Start every informer and controller; run until cancelled."""
        for name, controller in self.controllers.items():
            await controller.setup()
            self.runners[name] = self._wire(name, controller)
        loop = asyncio.get_running_loop()
        tasks = [inf.start() for inf in self.informers.values()]
        tasks += [loop.create_task(r.run(), name=f"controller {n}") for n, r in self.runners.items()]
        self.broadcaster.start()
        log.info("started controllers: %s", ", ".join(self.runners))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.broadcaster.shutdown(flush_seconds=EVENTS_FLUSH_SECONDS)

    async def run(self, *, leader_elect: bool = False, identity: str = "", **election: Any) -> None:
        if not leader_elect:
            await self.run_controllers()
            return
        identity = identity or f"{socket.gethostname()}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        lock = LeaseLock(self.client, LEADER_LEASE_NAMESPACE, LEADER_LEASE_NAME, identity)
        elector = LeaderElector(
            lock,
            on_started_leading=self.run_controllers,
            on_new_leader=lambda who: log.info("new leader elected: %s", who),
            **election,
        )
        # Like kube-controller-manager: losing the lease ends the process (a fresh
        # start rebuilds every cache rather than trusting half-stopped controllers).
        await elector.run()
        raise SystemExit("leaderelection lost")

    def metrics(self) -> dict[str, dict[str, Any]]:
        return {name: runner.metrics() for name, runner in self.runners.items()}


def index_by_uid(obj: Obj) -> list[str]:
    uid = (obj.get("metadata") or {}).get("uid")
    return [uid] if uid else []


def _handlers(
    runner: reconcile.Controller, watch: Watch
) -> tuple[Callable[[Obj], None], Callable[[Obj, Obj], None], Callable[[Any], None]]:
    def keys(obj: Obj) -> Iterable[str]:
        return watch.keys(obj) if watch.keys is not None else reconcile.enqueue_object(obj)

    def on_add(obj: Obj) -> None:
        if watch.observe is not None:
            watch.observe("add", None, obj)
        for k in keys(obj):
            runner.queue.add(k)

    def on_update(old: Obj, new: Obj) -> None:
        if watch.observe is not None:
            watch.observe("update", old, new)
        for k in {*keys(old), *keys(new)}:
            runner.queue.add(k)

    def on_delete(obj: Any) -> None:
        obj = final_state(obj)
        if watch.observe is not None:
            watch.observe("delete", None, obj)
        for k in keys(obj):
            runner.queue.add(k)

    return on_add, on_update, on_delete
