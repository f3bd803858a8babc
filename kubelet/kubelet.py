"""The kubelet: one node's agent, wiring the pieces together.

Mirrors pkg/kubelet/kubelet.go (``NewMainKubelet``, ``Run``, ``syncLoop``) at the size
of this project::

    pods informer (spec.nodeName=<node>) --wake--> PodWorkers --sync--> PodSyncer --CRI--> runtime
                                                      |                     |
                                                 StatusManager        ProbeManager, VolumeManager,
                                              (pods/<name>/status)    EventRecorder (client/events.py)
    NodeAgent: Node registration and status, Lease heartbeat

``Kubelet(...)`` takes an already built runtime (containerd over CRI, or simulated) so
many simulated kubelets can share one process, one REST client and one pod informer
(``pods=`` a shared informer; each kubelet then only handles pods bound to its node).

For the streaming server: ``kubelet.lookup`` is a :class:`~kubelet.podstate.PodLookup`
(``await kubelet.lookup.container(namespace, pod, container)`` -> container id, previous
id, log path, sandbox id), and ``kubelet.runtime`` is the runtime to call
``exec`` / ``attach`` / ``port_forward`` / ``read_container_log`` on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from client.cache import final_state
from client.events import EventBroadcaster
from client.informer import SharedInformer
from client.rest import PODS, RESTClient
from kubelet.kuberuntime import PodSyncer
from kubelet.node import NodeAgent, NodeConfig
from kubelet.objects import APIObjects, Objects, StaticObjects
from kubelet.pod_workers import PodWorkers
from kubelet.podstate import PodLookup
from kubelet.probes import ProbeManager
from kubelet.runtime import interface as rt
from kubelet.status import StatusManager
from kubelet.volumes import VolumeManager

log = logging.getLogger(__name__)

NODE_INDEX = "nodeName"
#: On the way out, queued events get this long to be written.
EVENTS_FLUSH_TIMEOUT = 2.0


@dataclass
class KubeletConfig:
    node: NodeConfig
    root_dir: Path
    sync_period: float = 1.0
    backoff_initial: float = 10.0
    backoff_max: float = 300.0
    real_network: bool = True  # False for the simulated runtime: probes of http/tcp are simulated
    manage_cgroups: bool = False
    events: bool = True
    wall: Callable[[], float] = field(default=time.time)


class Kubelet:
    def __init__(
        self,
        rest: RESTClient | None,
        config: KubeletConfig,
        runtime: rt.RuntimeService,
        images: rt.ImageService,
        runtime_prefix: str,
        pods: SharedInformer | None = None,
        objects: Objects | None = None,
        routed: bool = False,
    ) -> None:
        self.rest, self.config, self.runtime, self.images = rest, config, runtime, images
        name = config.node.name
        # One broadcaster per kubelet, as upstream; without Events (--no-events) it has no sink.
        self.broadcaster = EventBroadcaster(rest if config.events else None)
        self.events = self.broadcaster.new_recorder("kubelet", name)
        self.objects = objects or (APIObjects(rest) if rest is not None else StaticObjects())
        self.probes = ProbeManager(runtime, self.events, self._wake, config.real_network)
        self.volumes = VolumeManager(config.root_dir, self.objects)
        self.syncer = PodSyncer(
            runtime, images, self.events, self.probes, self.volumes, self.objects,
            host_ip=config.node.host_ip, root_dir=config.root_dir, runtime_prefix=runtime_prefix,
            wall=config.wall, backoff_initial=config.backoff_initial, backoff_max=config.backoff_max,
            manage_cgroups=config.manage_cgroups, allocatable=config.node.capacity, node_name=name,
            real_network=config.real_network,
        )  # fmt: skip
        self.statuses = StatusManager(rest)
        # routed: a shared informer whose events someone else hands to on_add/on_update/on_delete
        self._routed = routed
        self._own_informer = pods is None and rest is not None
        if pods is None and rest is not None:
            pods = SharedInformer.for_resource(
                rest, PODS, field_selector=f"spec.nodeName={name}", name=f"pods@{name}"
            )
        self.pods = pods
        self.workers = PodWorkers(
            self.syncer, self.statuses, rest, self._get_pod, config.node.host_ip, config.sync_period
        )
        self.node = NodeAgent(rest, config.node, runtime, images) if rest is not None else None
        self.lookup = PodLookup(runtime)
        self._tasks: list[asyncio.Task[Any]] = []

    # --- the pod source -------------------------------------------------------------

    def _mine(self, pod: dict[str, Any]) -> bool:
        return bool((pod.get("spec") or {}).get("nodeName") == self.config.node.name)

    def _get_pod(self, key: str) -> dict[str, Any] | None:
        pod = self.pods.indexer.get(key) if self.pods is not None else None
        return pod if pod is not None and self._mine(pod) else None

    def _known_uids(self) -> set[str]:
        if self.pods is None:
            return set()
        if self._routed:  # a shared informer indexed by node (kubelet.sim)
            return {
                p["metadata"]["uid"] for p in self.pods.indexer.by_index(NODE_INDEX, self.config.node.name)
            }
        return {p["metadata"]["uid"] for p in self.pods.indexer.list() if self._mine(p)}

    def _wake(self, uid: str) -> None:
        self.workers.wake(uid)

    def on_add(self, pod: dict[str, Any]) -> None:
        if self._mine(pod):
            self.workers.update(pod)

    def on_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        if self._mine(new):
            self.workers.update(new)
        elif self._mine(old):
            self.workers.wake(old["metadata"]["uid"])

    def on_delete(self, obj: Any) -> None:
        pod = final_state(obj)
        self.workers.wake(pod["metadata"]["uid"])

    # --- running --------------------------------------------------------------------

    async def start(self) -> None:
        """Register the node, start the informer and workers; returns once pods are synced."""
        loop = asyncio.get_running_loop()
        self.config.root_dir.mkdir(parents=True, exist_ok=True)
        self.broadcaster.start()
        if self.node is not None:
            self._tasks.append(loop.create_task(self.node.run(), name=f"node {self.config.node.name}"))
        assert self.pods is not None
        # Cleanup before any worker starts: what runs for pods the API no longer has.
        if self._own_informer:
            self.pods.start()
        await self.pods.wait_for_sync()
        await self.workers.cleanup_orphans(self._known_uids)
        if not self._routed:
            self.pods.add_event_handler(self.on_add, self.on_update, self.on_delete)
        else:
            for pod in self.pods.indexer.by_index(NODE_INDEX, self.config.node.name):
                self.on_add(pod)
        self._tasks.append(loop.create_task(self.workers.housekeeping(self._known_uids)))

    async def stop(self) -> None:
        """Stop the agent; the pods' containers keep running (a restart re-adopts them)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.workers.stop()
        await self.probes.stop()
        if self._own_informer and self.pods is not None:
            await self.pods.stop()
        await self.broadcaster.shutdown(flush_seconds=EVENTS_FLUSH_TIMEOUT)
