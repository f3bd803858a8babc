"""One sync of one pod against the runtime: sandbox, images, init containers, containers.

Mirrors pkg/kubelet/kuberuntime/kuberuntime_manager.go (``computePodActions`` and
``SyncPod``) and kuberuntime_container.go (``startContainer``, ``killContainer``).
:meth:`PodSyncer.sync` is *level-triggered*: it compares the pod's spec with what the
runtime reports (:func:`~kubelet.podstate.observe`) and does the next thing needed::

    no ready sandbox        -> set up volumes, RunPodSandbox (the pod gets its IP)
    init containers         -> in order; each must exit 0 before the next starts
    a container never run   -> ensure its image (imagePullPolicy), create, start, then its
                               postStart hook (a failure kills it: FailedPostStartHook)
    a container exited      -> restartPolicy Always / OnFailure(exit != 0) restarts it,
                               unless it is still in CrashLoopBackOff
    liveness/startup failed -> stop it (Killing), then restart as above

Running it twice changes nothing; running it after a kubelet restart adopts the
containers that are still running. What cannot happen yet is remembered as the
container's *waiting reason* (ContainerCreating, ErrImagePull, ImagePullBackOff,
CrashLoopBackOff, CreateContainerConfigError, PostStartHookError), which status.py
reports.

``startContainer`` runs the ``postStart`` hook (lifecycle.py) right after
``StartContainer`` and waits for it: the pod worker writes no status meanwhile, so the
container is reported ``running`` only once the hook has completed (the runtime already
runs it). A failed hook is a ``FailedPostStartHook`` Warning (the handler's message is
kept out of the Event, as upstream), then the container is killed (``Killing``, message
``FailedPostStartHook``) and waits with reason ``PostStartHookError``; the restart
policy and CrashLoopBackOff decide what follows, as after any exit.

:meth:`PodSyncer.kill` is graceful termination (``killPodWithSyncResult``): each
running container's ``preStop`` hook, then ``StopContainer`` with what is left of the
grace period (SIGTERM, SIGKILL at the end), then ``StopPodSandbox``.

The CRI configs are built in podconfig.py; image pulls and their back-off live in
image_manager.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from client.events import NORMAL, WARNING, EventRecorder
from kubelet import podconfig
from kubelet.backoff import Backoff, go_duration
from kubelet.envvars import ConfigError, container_env
from kubelet.image_manager import ImageManager
from kubelet.lifecycle import HookError, run_handler
from kubelet.objects import Objects
from kubelet.podconfig import QOS_DIRS, pod_ref
from kubelet.podstate import (
    RuntimePod,
    observe,
)
from kubelet.probes import ProbeManager
from kubelet.ref import container_ref
from kubelet.runtime import interface as rt
from kubelet.runtime.cgroups import pod_cgroup_parent, remove_pod_cgroup
from kubelet.status import Waiting
from kubelet.volumes import MountError, VolumeManager

log = logging.getLogger(__name__)

MIN_GRACE = 2  # minimumGracePeriodInSeconds: preStop never eats the whole grace period


class PodSyncer:
    def __init__(
        self,
        runtime: rt.RuntimeService,
        images: rt.ImageService,
        events: EventRecorder,
        probes: ProbeManager,
        volumes: VolumeManager,
        objects: Objects,
        *,
        host_ip: str,
        root_dir: Path,
        runtime_prefix: str,
        wall: Callable[[], float] = time.time,
        backoff_initial: float = 10.0,
        backoff_max: float = 300.0,
        manage_cgroups: bool = False,
        allocatable: dict[str, str] | None = None,
        node_name: str = "",
        real_network: bool = True,
    ) -> None:
        self.node_name, self.real_network = node_name, real_network
        self.runtime, self.images, self.events, self.probes = runtime, images, events, probes
        self.volumes, self.objects, self.host_ip, self.root_dir = volumes, objects, host_ip, root_dir
        self.runtime_prefix, self.wall, self.manage_cgroups = runtime_prefix, wall, manage_cgroups
        self.allocatable = allocatable or {}
        self.backoff = Backoff(wall, backoff_initial, backoff_max)  # CrashLoopBackOff
        self.image_manager = ImageManager(images, events, Backoff(wall, backoff_initial, backoff_max))
        self.waiting: dict[str, Waiting] = {}  # pod uid -> container name -> (reason, message)
        self._volumes: dict[str, dict[str, str]] = {}  # pod uid -> volume name -> host path

    def sandbox_config(self, pod: dict[str, Any], attempt: int = 0) -> rt.PodSandboxConfig:
        return podconfig.sandbox_config(pod, attempt, self.root_dir, self.node_name)

    # --- the sync -------------------------------------------------------------------

    async def sync(self, pod: dict[str, Any], observed: RuntimePod | None = None) -> RuntimePod:
        """One pass of SyncPod; ``observed`` is the runtime's view if the caller just read it."""
        uid = pod["metadata"]["uid"]
        spec = pod["spec"]
        policy = spec.get("restartPolicy", "Always")
        waiting = self.waiting.setdefault(uid, {})
        rp = observed if observed is not None else await observe(self.runtime, uid)
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            await self._stop_sandboxes(rp)  # terminal: nothing restarts; free the IP
            return await observe(self.runtime, uid)
        volume_paths = await self._volume_paths(pod)
        if volume_paths is None:
            return rp  # FailedMount: retried on the next sync
        sandbox = rp.ready_sandbox()
        if sandbox is None:
            if rp.sandbox is not None and policy == "Never" and rp.all():
                return rp  # the sandbox died after its containers ran: they stay dead
            sandbox = await self._create_sandbox(pod, rp)
            if sandbox is None:
                return await observe(self.runtime, uid)
            rp = await observe(self.runtime, uid)
        pod_ip = self.host_ip if spec.get("hostNetwork") else sandbox.ip
        config = self.sandbox_config(pod, sandbox.metadata.attempt)
        if await self._init_containers(pod, rp, sandbox, config, volume_paths, pod_ip, waiting, policy):
            for c in spec["containers"]:
                latest = rp.latest(c["name"])
                if latest is None:
                    await self._start(pod, c, 0, sandbox, config, volume_paths, pod_ip, waiting)
                elif latest.state == rt.ContainerState.RUNNING:
                    if kind := self.probes.failed(latest.id):
                        self.events.event(
                            container_ref(pod, c["name"]),
                            NORMAL,
                            "Killing",
                            f"Container {c['name']} failed {kind} probe, will be restarted",
                        )
                        await self._stop_container(pod, c, latest.id, self._grace(pod))
                        latest = await self.runtime.container_status(latest.id)
                        await self._maybe_restart(
                            pod, c, latest, sandbox, config, volume_paths, pod_ip, waiting, policy
                        )
                    else:
                        waiting.pop(c["name"], None)
                elif latest.state == rt.ContainerState.EXITED:
                    await self._maybe_restart(
                        pod, c, latest, sandbox, config, volume_paths, pod_ip, waiting, policy
                    )
                elif latest.state == rt.ContainerState.CREATED:
                    await self.runtime.start_container(latest.id)  # created before a kubelet restart
        rp = await observe(self.runtime, uid)
        self.probes.ensure(pod, rp.running(), pod_ip)
        return rp

    async def _volume_paths(self, pod: dict[str, Any]) -> dict[str, str] | None:
        """Set up the pod's volumes once (upstream's WaitForAttachAndMount); None on FailedMount."""
        uid = pod["metadata"]["uid"]
        if (paths := self._volumes.get(uid)) is not None:
            return paths
        try:
            paths = await self.volumes.setup(pod, "", self.host_ip)
        except MountError as err:
            self.events.event(container_ref(pod), WARNING, "FailedMount", str(err))
            return None
        self._volumes[uid] = paths
        return paths

    async def _create_sandbox(self, pod: dict[str, Any], rp: RuntimePod) -> rt.PodSandboxStatus | None:
        for c in rp.all():  # containers of a dead sandbox: stop them before replacing it
            if c.state == rt.ContainerState.RUNNING:
                await self.runtime.stop_container(c.id, 0)
        if rp.sandbox is not None:
            self.events.event(
                container_ref(pod),
                NORMAL,
                "SandboxChanged",
                "Pod sandbox changed, it will be killed and re-created.",
            )
        attempt = rp.sandbox.metadata.attempt + 1 if rp.sandbox is not None else 0
        config = self.sandbox_config(pod, attempt)
        os.makedirs(config.log_directory, exist_ok=True)
        try:
            sandbox_id = await self.runtime.run_pod_sandbox(config)
            return await self.runtime.pod_sandbox_status(sandbox_id)
        except rt.RuntimeServiceError as err:
            self.events.event(
                container_ref(pod), WARNING, "FailedCreatePodSandBox", f"Failed to create pod sandbox: {err}"
            )
            return None

    async def _init_containers(
        self, pod: dict[str, Any], rp: RuntimePod, sandbox: rt.PodSandboxStatus, config: rt.PodSandboxConfig,
        volume_paths: dict[str, str], pod_ip: str, waiting: Waiting, policy: str,
    ) -> bool:  # fmt: skip
        """Run init containers in order; True once all have exited 0."""
        for c in pod["spec"].get("initContainers") or []:
            latest = rp.latest(c["name"])
            if latest is not None and latest.state == rt.ContainerState.EXITED and latest.exit_code == 0:
                waiting.pop(c["name"], None)
                continue
            if latest is None:
                await self._start(pod, c, 0, sandbox, config, volume_paths, pod_ip, waiting, init=True)
            elif latest.state == rt.ContainerState.EXITED and policy != "Never":
                await self._maybe_restart(
                    pod, c, latest, sandbox, config, volume_paths, pod_ip, waiting, "OnFailure", init=True
                )
            elif latest.state == rt.ContainerState.CREATED:
                await self.runtime.start_container(latest.id)
            return False
        return True

    async def _maybe_restart(
        self, pod: dict[str, Any], c: dict[str, Any], latest: rt.ContainerStatus, sandbox: rt.PodSandboxStatus,
        config: rt.PodSandboxConfig, volume_paths: dict[str, str], pod_ip: str, waiting: Waiting, policy: str,
        init: bool = False,
    ) -> None:  # fmt: skip
        name = c["name"]
        if not (policy == "Always" or (policy == "OnFailure" and latest.exit_code != 0)):
            waiting.pop(name, None)
            return
        key = f"{pod['metadata']['uid']}/{name}"
        finished = latest.finished_at / 1e9
        if self.backoff.in_backoff_since(key, finished):
            message = f"back-off {go_duration(self.backoff.get(key))} restarting failed container={name} pod={pod_ref(pod)}"
            if waiting.get(name, ("",))[0] != "CrashLoopBackOff":
                self.events.event(
                    container_ref(pod, name, init),
                    WARNING,
                    "BackOff",
                    f"Back-off restarting failed container {name} in pod {pod_ref(pod)}",
                )
            waiting[name] = ("CrashLoopBackOff", message)
            return
        self.backoff.next(key, finished)
        await self._start(
            pod, c, latest.metadata.attempt + 1, sandbox, config, volume_paths, pod_ip, waiting, init
        )

    def next_wakeup(self, pod: dict[str, Any], rp: RuntimePod) -> float | None:
        """Seconds until a back-off of this pod ends (the worker sleeps no longer than that)."""
        uid, waits = pod["metadata"]["uid"], []
        for name, (reason, _) in (self.waiting.get(uid) or {}).items():
            if reason == "CrashLoopBackOff" and (latest := rp.latest(name)) is not None:
                waits.append(self.backoff.remaining(f"{uid}/{name}", latest.finished_at / 1e9))
            elif reason == "ImagePullBackOff":
                waits.append(self.image_manager.remaining(uid))
        return min(waits) if waits else None

    # --- one container --------------------------------------------------------------

    async def _start(
        self, pod: dict[str, Any], c: dict[str, Any], attempt: int, sandbox: rt.PodSandboxStatus,
        config: rt.PodSandboxConfig, volume_paths: dict[str, str], pod_ip: str, waiting: Waiting, init: bool = False,
    ) -> None:  # fmt: skip
        name = c["name"]
        if await self.image_manager.ensure(pod, c, config, waiting, init) is None:
            return
        try:
            env = await container_env(pod, c, self.objects, pod_ip, self.host_ip, self.allocatable)
        except ConfigError as err:
            self.events.event(container_ref(pod, name, init), WARNING, "Failed", f"Error: {err}")
            waiting[name] = ("CreateContainerConfigError", str(err))
            return
        container = podconfig.container_config(pod, c, attempt, env, volume_paths, self.node_name)
        try:
            cid = await self.runtime.create_container(sandbox.id, container, config)
        except rt.RuntimeServiceError as err:
            self.events.event(container_ref(pod, name, init), WARNING, "Failed", f"Error: {err}")
            waiting[name] = ("CreateContainerError", str(err))
            return
        self.events.event(container_ref(pod, name, init), NORMAL, "Created", f"Created container {name}")
        try:
            await self.runtime.start_container(cid)
        except rt.RuntimeServiceError as err:
            self.events.event(
                container_ref(pod, name, init),
                WARNING,
                "Failed",
                f"Error: failed to start container {name!r}: {err}",
            )
            waiting[name] = ("RunContainerError", str(err))
            return
        self.events.event(container_ref(pod, name, init), NORMAL, "Started", f"Started container {name}")
        if hook := (c.get("lifecycle") or {}).get("postStart"):
            try:
                await run_handler(self.runtime, pod, c, cid, hook, pod_ip, self.real_network)
            except HookError as err:
                self.events.event(
                    container_ref(pod, name, init), WARNING, "FailedPostStartHook", "PostStartHook failed"
                )
                await self._stop_container(pod, c, cid, self._grace(pod), "FailedPostStartHook", init)
                if pod["spec"].get("restartPolicy", "Always") != "Never":  # it waits to restart
                    waiting[name] = ("PostStartHookError", str(err))
                else:  # it stays terminated
                    waiting.pop(name, None)
                return
        waiting.pop(name, None)

    # --- termination ----------------------------------------------------------------

    @staticmethod
    def _grace(pod: dict[str, Any]) -> int:
        meta, spec = pod["metadata"], pod["spec"]
        grace = meta.get("deletionGracePeriodSeconds")
        return int(grace if grace is not None else spec.get("terminationGracePeriodSeconds", 30))

    async def _pre_stop(self, pod: dict[str, Any], c: dict[str, Any], cid: str, grace: int) -> None:
        """executePreStopHook: the hook gets at most the grace period; a failure is only reported."""
        hook = (c.get("lifecycle") or {}).get("preStop")
        if not hook:
            return
        pod_ip = str((pod.get("status") or {}).get("podIP", "127.0.0.1"))
        try:
            async with asyncio.timeout(grace):
                await run_handler(self.runtime, pod, c, cid, hook, pod_ip, self.real_network)
        except (TimeoutError, HookError):
            # do not record the message in the event so that secrets won't leak (upstream's words)
            self.events.event(
                container_ref(pod, c["name"]), WARNING, "FailedPreStopHook", "PreStopHook failed"
            )

    async def _stop_container(
        self, pod: dict[str, Any] | None, c: dict[str, Any] | None, cid: str, grace: int,
        message: str = "", init: bool = False,
    ) -> None:  # fmt: skip
        """killContainer: ``Killing`` (``message``, else "Stopping container c"), preStop, StopContainer."""
        began = time.monotonic()
        if pod is not None and c is not None:
            message = message or f"Stopping container {c['name']}"
            self.events.event(container_ref(pod, c["name"], init), NORMAL, "Killing", message)
            await self._pre_stop(pod, c, cid, grace)
            grace = max(MIN_GRACE if grace else 0, grace - int(time.monotonic() - began))
        try:
            await self.runtime.stop_container(cid, grace)
        except rt.NotFoundError:
            pass

    async def kill(self, pod: dict[str, Any] | None, uid: str, grace: int) -> RuntimePod:
        """Stop every running container (preStop, SIGTERM, SIGKILL after ``grace``), then the sandbox."""
        rp = await observe(self.runtime, uid)
        specs = {c["name"]: c for c in (pod or {}).get("spec", {}).get("containers", [])}
        specs.update({c["name"]: c for c in (pod or {}).get("spec", {}).get("initContainers") or []})
        running = [c for c in rp.all() if c.state == rt.ContainerState.RUNNING]
        await asyncio.gather(
            *(self._stop_container(pod, specs.get(c.metadata.name), c.id, grace) for c in running)
        )
        self.probes.forget_pod(uid)
        await self._stop_sandboxes(rp)
        return await observe(self.runtime, uid)

    async def _stop_sandboxes(self, rp: RuntimePod) -> None:
        for s in rp.sandboxes:
            if s.state == rt.PodSandboxState.READY:
                await self.runtime.stop_pod_sandbox(s.id)

    async def remove(self, uid: str) -> None:
        """Remove the pod's containers, sandboxes, cgroup, volumes and back-off state."""
        rp = await observe(self.runtime, uid)
        for c in rp.all():
            await self.runtime.remove_container(c.id)
        for s in rp.sandboxes:
            await self.runtime.remove_pod_sandbox(s.id)
        if self.manage_cgroups:
            for qos in QOS_DIRS.values():
                remove_pod_cgroup(pod_cgroup_parent(uid, qos))
        self.volumes.cleanup(uid)
        self.backoff.forget(f"{uid}/")
        self.image_manager.forget(uid)
        self.waiting.pop(uid, None)
        self._volumes.pop(uid, None)
