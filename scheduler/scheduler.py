"""The scheduler: watch pending pods, place them one at a time, bind them in the background.

::

    informers (list+watch) ──▶ pods with no node, ours ──▶ SchedulingQueue
                          └──▶ pods on nodes, nodes   ──▶ Cache (NodeInfo per node)

    loop: pod = queue.pop()
      ┌ scheduling cycle (synchronous, one pod at a time) ───────────────────────┐
      │ filter → score → select (algorithm.py) on the cache                      │
      │ fits:      cache.assume_pod(pod, node)   (its resources count at once)   │
      │ no fit:    preemption (preemption.py); FailedScheduling event;           │
      │            PodScheduled=False/Unschedulable; back to the queue           │
      └──────────────────────────────────────────────────────────────────────────┘
      ┌ binding cycle (a background task per pod, at most 16 POSTs in flight) ───┐
      │ POST pods/{name}/binding → Scheduled event; on error: forget, retry      │
      └──────────────────────────────────────────────────────────────────────────┘

The binding cycle never holds up the next scheduling cycle: the pod is already
assumed, so the loop moves on while the POST is in flight (upstream runs
``bindingCycle`` in a goroutine). The in-flight limit is a semaphore of 16: it was
set when the client (httpx) kept only 20 idle connections and a higher limit paid a
TLS handshake per burst; client/transport.py keeps every connection it opens (up to
100), and 16 has not been re-tuned since. Events go through the client library's event
broadcaster (client/events.py: a bounded queue, the correlator, one writer) and never
delay a binding: the writer waits while bindings are in flight (its ``gate``).

Everything runs on one asyncio loop, so the scheduling cycle, which never awaits,
sees a cache no informer callback can change halfway through. With
``leader_elect``, informers run in every replica but only the holder of the Lease
``kube-system/kube-scheduler`` schedules; losing the lease ends ``run()``.

Mirrors: pkg/scheduler/scheduler.go (``New``, ``Run``), schedule_one.go
(``ScheduleOne``, ``schedulingCycle``, ``bindingCycle``, ``handleSchedulingFailure``),
eventhandlers.go (``addAllEventHandlers``), cmd/kube-scheduler/app/server.go (leader election).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from typing import Any, Final

from apimachinery import errors
from apimachinery.meta import now
from client.cache import DeletedFinalStateUnknown, final_state
from client.events import NORMAL, WARNING, EventBroadcaster
from client.informer import SharedInformer, wait_for_cache_sync
from client.leaderelection import LeaderElector, LeaseLock
from client.rest import NODES, PODS, PatchType, RESTClient
from scheduler import preemption
from scheduler.algorithm import Algorithm
from scheduler.cache import Cache
from scheduler.fiterror import fit_error_message
from scheduler.framework import CycleState, Pod
from scheduler.nodeinfo import pod_key
from scheduler.profile import Profile, default_profile
from scheduler.queue import QueuedPodInfo, SchedulingQueue

log = logging.getLogger(__name__)

LEASE_NAMESPACE: Final = "kube-system"
LEASE_NAME: Final = "kube-scheduler"
NO_NODES: Final = "no nodes available to schedule pods"
#: On the way out, queued events get this long to be written.
EVENTS_FLUSH_TIMEOUT: Final = 5.0


def _assigned(pod: Pod) -> bool:
    return bool(pod.get("spec", {}).get("nodeName"))


class Scheduler:
    def __init__(
        self,
        rest: RESTClient,
        profile: Profile | None = None,
        *,
        percentage_of_nodes_to_score: int = 0,
        max_bindings_in_flight: int = 16,
        identity: str = "",
    ) -> None:
        self.rest = rest
        self.profile = profile or default_profile()
        self.identity = identity or f"{socket.gethostname()}_{uuid.uuid4()}"
        self.cache = Cache()
        self.queue = SchedulingQueue()
        self.algorithm = Algorithm(self.profile, percentage_of_nodes_to_score)
        #: bindings spawned and not finished; events wait while there are any
        self._pending_bindings = 0
        self._bindings_idle = asyncio.Event()
        self._bindings_idle.set()
        self.broadcaster = EventBroadcaster(rest, gate=self._bindings_idle.wait)
        self.recorder = self.broadcaster.new_recorder(self.profile.scheduler_name)
        self._bindings = asyncio.Semaphore(max_bindings_in_flight)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.pods = SharedInformer.for_resource(rest, PODS)
        self.nodes = SharedInformer.for_resource(rest, NODES)
        self.pods.add_event_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self.nodes.add_event_handler(self._node_added, self._node_updated, self._node_deleted)
        self.scheduled = 0

    # --- event handlers (eventhandlers.go) ---

    def _ours(self, pod: Pod) -> bool:
        spec = pod.get("spec", {})
        return spec.get("schedulerName", "default-scheduler") == self.profile.scheduler_name

    def _pod_added(self, pod: Pod) -> None:
        if _assigned(pod):
            self.cache.add_pod(pod)
        elif self._ours(pod) and not pod["metadata"].get("deletionTimestamp"):
            self.queue.add(pod)

    def _pod_updated(self, old: Pod, new: Pod) -> None:
        if _assigned(new):
            if not _assigned(old):
                self.queue.delete(new)  # bound (by us, or by someone else)
            self.cache.update_pod(new)
        elif self._ours(new):
            self.queue.update(new)

    def _pod_deleted(self, obj: Pod | DeletedFinalStateUnknown) -> None:
        pod = final_state(obj)
        if _assigned(pod):
            self.cache.remove_pod(pod)
            self.queue.move_all_to_active_or_backoff("AssignedPodDelete")
        else:
            self.queue.delete(pod)

    def _node_added(self, node: dict[str, Any]) -> None:
        self.cache.add_node(node)
        self.queue.move_all_to_active_or_backoff("NodeAdd")

    def _node_updated(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.cache.update_node(new)
        if old.get("spec") != new.get("spec") or old["metadata"].get("labels") != new["metadata"].get(
            "labels"
        ):
            self.queue.move_all_to_active_or_backoff("NodeUpdate")
        elif old.get("status", {}).get("allocatable") != new.get("status", {}).get("allocatable"):
            self.queue.move_all_to_active_or_backoff("NodeAllocatableChange")

    def _node_deleted(self, obj: dict[str, Any] | DeletedFinalStateUnknown) -> None:
        self.cache.remove_node(final_state(obj)["metadata"]["name"])

    # --- running ---

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(
        self,
        leader_elect: bool = False,
        lease_duration: int = 15,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
    ) -> None:
        """Informers, then (after winning the lease, if asked) the scheduling loop, until cancelled."""
        self.pods.start()
        self.nodes.start()
        self.broadcaster.start()
        try:
            await wait_for_cache_sync(self.pods, self.nodes)
            if not leader_elect:
                await self.schedule_forever()
                return
            lock = LeaseLock(self.rest, LEASE_NAMESPACE, LEASE_NAME, self.identity)
            elector = LeaderElector(
                lock,
                on_started_leading=self.schedule_forever,
                lease_duration=lease_duration,
                renew_deadline=renew_deadline,
                retry_period=retry_period,
            )
            await elector.run()
            log.error("%s: leader election lost", self.identity)
        finally:
            self.queue.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.broadcaster.shutdown(flush_seconds=EVENTS_FLUSH_TIMEOUT)
            await self.pods.stop()
            await self.nodes.stop()

    async def schedule_forever(self) -> None:
        log.info("%s: scheduling", self.identity)
        cleanup = asyncio.get_running_loop().create_task(self._cleanup_assumed())
        try:
            while (qpi := await self.queue.pop()) is not None:
                self.schedule_one(qpi)
                # Let informers and bindings run between pods (the cycle itself never awaits).
                await asyncio.sleep(0)
        finally:
            cleanup.cancel()

    async def _cleanup_assumed(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for key in self.cache.cleanup_expired():
                log.warning("assumed pod %s expired without its binding being observed", key)

    # --- one pod (schedule_one.go) ---

    def schedule_one(self, qpi: QueuedPodInfo) -> None:
        pod = qpi.pod
        if pod["metadata"].get("deletionTimestamp") or self.cache.is_assumed(qpi.key):
            self.queue.done(qpi.key)
            return
        cycle = self.queue.scheduling_cycle
        nodes = self.cache.node_infos()
        if not nodes:
            self._failed(qpi, cycle, "SchedulerError", NO_NODES, error=True)
            return
        result = self.algorithm.schedule(CycleState(self.cache), pod, nodes)
        if result.node is None:
            diagnosis = result.diagnosis
            nominated = None
            outcome = preemption.preempt(self.profile, self.cache, pod, diagnosis)  # the PostFilter step
            if outcome.node is None:
                diagnosis.post_filter_msg = "preemption: " + outcome.message
            else:
                nominated = outcome.node
                self._spawn(self._evict(pod, outcome.node, [v.pod for v in outcome.victims]))
            message = fit_error_message(len(nodes), diagnosis)
            self._failed(qpi, cycle, "Unschedulable", message, nominated=nominated)
            qpi.unschedulable_plugins = diagnosis.unschedulable_plugins
            return
        assumed = self.cache.assume_pod(pod, result.node)
        self._pending_bindings += 1
        self._bindings_idle.clear()
        self._spawn(self._binding_cycle(qpi, assumed, result.node, cycle))

    async def _binding_cycle(self, qpi: QueuedPodInfo, pod: Pod, node: str, cycle: int) -> None:
        try:
            await self._bind(qpi, pod, node, cycle)
        finally:
            self._pending_bindings -= 1
            if not self._pending_bindings:
                self._bindings_idle.set()

    async def _bind(self, qpi: QueuedPodInfo, pod: Pod, node: str, cycle: int) -> None:
        meta = pod["metadata"]
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta.get("uid", "")},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node},
        }
        async with self._bindings:
            try:
                await self.rest.create(
                    PODS, binding, namespace=meta["namespace"], name=meta["name"], subresource="binding"
                )
            except Exception as err:  # the API said no, or the connection broke: try again later
                self.cache.forget_pod(qpi.key)
                if isinstance(err, errors.StatusError) and errors.is_not_found(err):
                    self.queue.done(qpi.key)
                    return
                self._failed(qpi, cycle, "SchedulerError", f"Binding rejected: {err}", error=True)
                return
        self.cache.finish_binding(qpi.key)
        self.queue.done(qpi.key)
        self.scheduled += 1
        self.recorder.event(
            pod, NORMAL, "Scheduled", f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}"
        )

    def _failed(
        self,
        qpi: QueuedPodInfo,
        cycle: int,
        reason: str,
        message: str,
        *,
        error: bool = False,
        nominated: str | None = None,
    ) -> None:
        """``handleSchedulingFailure``: event, requeue, and the PodScheduled condition."""
        pod = qpi.pod
        self.recorder.event(pod, WARNING, "FailedScheduling", message)
        self.queue.add_unschedulable(qpi, cycle, error=error)
        self._spawn(self._update_status(pod, reason, message, nominated))

    async def _update_status(self, pod: Pod, reason: str, message: str, nominated: str | None) -> None:
        status = pod.get("status") or {}
        current: dict[str, Any] = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), {}
        )
        same = (current.get("status"), current.get("reason"), current.get("message")) == (
            "False",
            reason,
            message,
        )
        if same and (nominated is None or status.get("nominatedNodeName") == nominated):
            return  # nothing new to say (podconditions.UpdatePodCondition would return false)
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "lastProbeTime": None,
            "lastTransitionTime": current.get("lastTransitionTime")
            if current.get("status") == "False"
            else now(),
            "reason": reason,
            "message": message,
        }
        patch: dict[str, Any] = {"status": {"conditions": [condition]}}
        if nominated is not None:
            patch["status"]["nominatedNodeName"] = nominated
        meta = pod["metadata"]
        try:
            await self.rest.patch(
                PODS,
                meta["name"],
                patch,
                namespace=meta["namespace"],
                patch_type=PatchType.STRATEGIC,
                subresource="status",
            )
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                log.warning("could not update the status of %s: %s", pod_key(pod), err)

    async def _evict(self, pod: Pod, node: str, victims: list[Pod]) -> None:
        """Delete the victims gracefully; the preemptor retries when their deletion is seen."""
        for victim in victims:
            meta = victim["metadata"]
            self.recorder.event(
                victim,
                NORMAL,
                "Preempted",
                f"Preempted by pod {pod['metadata'].get('uid', '')} on node {node}",
            )
            try:
                await self.rest.delete(
                    PODS,
                    meta["name"],
                    namespace=meta["namespace"],
                    preconditions={"uid": meta["uid"]} if meta.get("uid") else None,
                )
            except errors.StatusError as err:
                if not errors.is_not_found(err):
                    log.warning("could not preempt %s: %s", pod_key(victim), err)
