"""The simulated container runtime: the CRI's state machine with no processes behind it.

This is the KWOK idea (kubernetes-sigs/kwok) moved inside the kubelet, and the same
shape as cri-api's ``pkg/apis/testing/fake_runtime_service.go``: every sandbox and
container is a record in a dict, and each moves through exactly the states a real
runtime reports::

    sandbox:    run_pod_sandbox -> READY --stop--> NOTREADY --remove--> (gone)
    container:  create -> CREATED --start--> RUNNING --exit or stop--> EXITED --remove--> (gone)

It is a first-class runtime, not a mock: ``python -m cluster up --runtime simulated``
runs pods on it, and because it costs a few dicts per node and no task per container,
hundreds of simulated nodes fit in one process for scale tests.

Time is read from a ``Clock`` (``now``, ``call_later``), and a container's exit is *computed*,
not scheduled: a container started at ``t`` that should run 5 s is EXITED whenever
anyone looks after ``t + 5``. (One clock timer per such container only wakes log
followers.) Tests drive it with a ``FakeClock``; what each container does comes from
pod annotations, documented in ``simulated_behaviour.py``. Other knobs:

* images: every pull succeeds except for names matching ``missing_images`` (a regex),
  which fail like an unreachable registry, so ``ErrImagePull`` paths are testable;
* pod IPs: handed out from the node's ``pod_cidr`` (skipping the gateway, ``.1``) and
  returned on stop to the back of the line, so, as with CNI's host-local IPAM, a
  freed address is not handed out again at once; host-network sandboxes have none;
* ``inject_error(method, exc)``: the next call of ``method`` raises ``exc`` (as the fake's
  ``InjectError``), for the kubelet's error paths.

Streams are in-process (see ``interface.StreamEndpoint``): ``exec`` replays
``exec_sync``'s output (``cat`` echoes stdin back), ``attach`` follows the log, and a
port-forward connection echoes what it is sent.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from kubelet.runtime import interface as rt
from kubelet.runtime.images import image_id, normalize_image
from kubelet.runtime.logs import rfc3339nano, select
from kubelet.runtime.sim_streams import EchoForwarder, ExecSession
from kubelet.runtime.simulated_behaviour import Behaviour, behaviour_for, exec_seconds, simulate_exec


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """Monotonic ``now()`` and ``call_later``: ``client.clock`` (FakeClock) fits."""

    def now(self) -> float: ...
    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle: ...


class LoopClock:
    """The event loop's clock (the default)."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def call_later(self, delay: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(delay, 0.0), callback)


DEFAULT_MISSING_IMAGES = r"(?i)(missing|does-?not-?exist|nonexistent)"
LOG_LINES_KEPT = 1000


@dataclass
class _Sandbox:
    id: str
    config: rt.PodSandboxConfig
    created_at: int
    ip: str
    state: rt.PodSandboxState = rt.PodSandboxState.READY


@dataclass
class _Container:
    id: str
    sandbox_id: str
    config: rt.ContainerConfig
    image_ref: str
    behaviour: Behaviour
    created_at: int
    log_path: str
    started: float | None = None  # clock seconds
    exited: tuple[float, int, str] | None = None  # (clock seconds, exit code, reason)
    logs: deque[rt.LogLine] = field(default_factory=lambda: deque(maxlen=LOG_LINES_KEPT))
    logged: int = 0  # lines ever written (the deque keeps only the last LOG_LINES_KEPT)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class SimulatedRuntime:
    """One node's runtime: implements ``RuntimeService`` and ``ImageService``."""

    def __init__(
        self,
        node_name: str = "sim",
        pod_cidr: str = "10.244.0.0/24",
        clock: Clock | None = None,
        missing_images: str = DEFAULT_MISSING_IMAGES,
        sandbox_delay: float = 0.0,
        start_delay: float = 0.0,
        pull_delay: float = 0.0,
    ) -> None:
        self.node_name = node_name
        self.clock: Clock = clock or LoopClock()
        self.missing_images = re.compile(missing_images)
        self.sandbox_delay, self.start_delay, self.pull_delay = sandbox_delay, start_delay, pull_delay
        self.sandboxes: dict[str, _Sandbox] = {}
        self.containers: dict[str, _Container] = {}
        self.images: dict[str, rt.Image] = {}
        self.errors: dict[str, list[Exception]] = {}
        network = ipaddress.ip_network(pod_cidr)
        self._free_ips = [str(ip) for ip in itertools.islice(network.hosts(), 1, None)]
        self._ids = itertools.count(1)
        self._epoch_ns: int | None = None

    # --- helpers -------------------------------------------------------------

    def inject_error(self, method: str, error: Exception) -> None:
        self.errors.setdefault(method, []).append(error)

    def _check(self, method: str) -> None:
        if queued := self.errors.get(method):
            raise queued.pop(0)

    def _ns(self, at: float | None = None) -> int:
        """Clock seconds to Unix nanoseconds (the clock is monotonic; CRI wants wall time)."""
        now = self.clock.now()
        if self._epoch_ns is None:
            self._epoch_ns = time.time_ns() - int(now * 1e9)
        return self._epoch_ns + int((now if at is None else at) * 1e9)

    def _new_id(self) -> str:
        return f"{self.node_name}-{next(self._ids):08x}"

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

            def wake() -> None:
                if not done.done():
                    done.set_result(None)

            self.clock.call_later(seconds, wake)
            await done

    def _sandbox(self, sandbox_id: str) -> _Sandbox:
        if (sandbox := self.sandboxes.get(sandbox_id)) is None:
            raise rt.NotFoundError(f"pod sandbox {sandbox_id!r} not found")
        return sandbox

    def _container(self, container_id: str) -> _Container:
        if (c := self.containers.get(container_id)) is None:
            raise rt.NotFoundError(f"container {container_id!r} not found")
        self._settle(c)
        return c

    def _settle(self, c: _Container) -> None:
        """Apply a scheduled exit whose time has come (the lazy half of the state machine)."""
        run = c.behaviour.run_seconds
        if c.started is not None and c.exited is None and run is not None:
            if self.clock.now() >= c.started + run:
                self._exit(c, c.started + run, c.behaviour.exit_code, c.behaviour.reason)

    def _wake(self, c: _Container) -> None:
        """A timer at a container's scheduled exit: settle it and wake its log followers."""
        self._settle(c)
        c.changed.set()

    def _exit(self, c: _Container, at: float, code: int, reason: str) -> None:
        c.exited = (at, code, reason)
        c.changed.set()

    def _log(self, c: _Container, text: str, stream: str = "stdout") -> None:
        c.logs.append(rt.LogLine(rfc3339nano(self._ns()), stream, text.encode()))
        c.logged += 1
        c.changed.set()

    def _state(self, c: _Container) -> rt.ContainerState:
        if c.exited is not None:
            return rt.ContainerState.EXITED
        return rt.ContainerState.CREATED if c.started is None else rt.ContainerState.RUNNING

    # --- RuntimeService: version and status ----------------------------------

    async def version(self) -> rt.VersionInfo:
        return rt.VersionInfo("0.1.0", "simulated", "0.1.0", "v1")

    async def status(self) -> rt.RuntimeStatus:
        return rt.RuntimeStatus(
            [rt.RuntimeCondition("RuntimeReady", True), rt.RuntimeCondition("NetworkReady", True)]
        )

    async def close(self) -> None:
        pass

    # --- PodSandboxManager -----------------------------------------------------

    async def run_pod_sandbox(self, config: rt.PodSandboxConfig) -> str:
        self._check("run_pod_sandbox")
        await self._sleep(self.sandbox_delay)
        ip = ""
        if not config.host_network:
            if not self._free_ips:
                raise rt.RuntimeServiceError(f"no IP addresses left in the pod CIDR of {self.node_name}")
            ip = self._free_ips.pop(0)
        sandbox = _Sandbox(self._new_id(), config, self._ns(), ip)
        self.sandboxes[sandbox.id] = sandbox
        return sandbox.id

    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None:
        self._check("stop_pod_sandbox")
        sandbox = self.sandboxes.get(pod_sandbox_id)
        if sandbox is None:
            return  # idempotent, as CRI requires
        for c in [c for c in self.containers.values() if c.sandbox_id == pod_sandbox_id]:
            self._settle(c)
            if c.started is not None and c.exited is None:
                self._exit(c, self.clock.now(), 137, "Error")
        if sandbox.ip:
            self._free_ips.append(sandbox.ip)
            sandbox.ip = ""
        sandbox.state = rt.PodSandboxState.NOTREADY

    async def remove_pod_sandbox(self, pod_sandbox_id: str) -> None:
        self._check("remove_pod_sandbox")
        if pod_sandbox_id in self.sandboxes:
            await self.stop_pod_sandbox(pod_sandbox_id)
            for cid in [c.id for c in self.containers.values() if c.sandbox_id == pod_sandbox_id]:
                del self.containers[cid]
            del self.sandboxes[pod_sandbox_id]

    def _sandbox_row(self, s: _Sandbox) -> rt.PodSandbox:
        cfg = s.config
        return rt.PodSandbox(
            s.id, cfg.metadata, s.state, s.created_at, dict(cfg.labels), dict(cfg.annotations)
        )

    async def pod_sandbox_status(self, pod_sandbox_id: str) -> rt.PodSandboxStatus:
        self._check("pod_sandbox_status")
        s = self._sandbox(pod_sandbox_id)
        row = self._sandbox_row(s)
        return rt.PodSandboxStatus(**vars(row), ip=s.ip, host_network=s.config.host_network)

    async def list_pod_sandbox(self, filter: rt.PodSandboxFilter | None = None) -> list[rt.PodSandbox]:
        self._check("list_pod_sandbox")
        f = filter or rt.PodSandboxFilter()
        return [
            self._sandbox_row(s)
            for s in self.sandboxes.values()
            if (not f.id or s.id == f.id)
            and (f.state is None or s.state == f.state)
            and all(s.config.labels.get(k) == v for k, v in f.label_selector.items())
        ]

    async def port_forward(self, pod_sandbox_id: str, ports: list[int]) -> rt.StreamEndpoint:
        self._sandbox(pod_sandbox_id)
        return rt.StreamEndpoint(forwarder=EchoForwarder())

    # --- ContainerManager ------------------------------------------------------

    async def create_container(
        self, pod_sandbox_id: str, config: rt.ContainerConfig, sandbox_config: rt.PodSandboxConfig
    ) -> str:
        self._check("create_container")
        sandbox = self._sandbox(pod_sandbox_id)
        if sandbox.state != rt.PodSandboxState.READY:
            raise rt.RuntimeServiceError(f"pod sandbox {pod_sandbox_id!r} is not ready")
        image = self.images.get(normalize_image(config.image))
        if image is None:
            raise rt.RuntimeServiceError(f"image {config.image!r} not found: pull it first")
        try:
            behaviour = behaviour_for(config, sandbox.config.annotations)
        except ValueError as err:
            raise rt.RuntimeServiceError(f"bad sim.pykube.io annotation: {err}") from err
        log_path = f"{sandbox.config.log_directory}/{config.log_path}" if config.log_path else ""
        c = _Container(self._new_id(), pod_sandbox_id, config, image.id, behaviour, self._ns(), log_path)
        self.containers[c.id] = c
        return c.id

    async def start_container(self, container_id: str) -> None:
        self._check("start_container")
        c = self._container(container_id)
        if c.started is not None:
            raise rt.RuntimeServiceError(f"container {container_id!r} is already {self._state(c).name}")
        delay = c.behaviour.start_delay if c.behaviour.start_delay is not None else self.start_delay
        await self._sleep(delay)
        c.started = self.clock.now()
        for text in c.behaviour.logs:
            self._log(c, text)
        if (run := c.behaviour.run_seconds) is not None:
            self.clock.call_later(run, lambda: self._wake(c))
        self._settle(c)

    async def stop_container(self, container_id: str, timeout: int) -> None:  # noqa: ASYNC109 - CRI's own parameter, sent to the runtime
        self._check("stop_container")
        c = self._container(container_id)
        if c.exited is not None or c.started is None:
            return
        if c.behaviour.ignore_sigterm:
            await self._sleep(timeout)  # SIGTERM is ignored: the whole grace period, then SIGKILL
            self._settle(c)
            if c.exited is None:
                self._exit(c, self.clock.now(), 137, "Error")
        else:
            self._exit(c, self.clock.now(), 143, "Error")  # 128 + SIGTERM(15)

    async def remove_container(self, container_id: str) -> None:
        self._check("remove_container")
        if (c := self.containers.pop(container_id, None)) is not None:
            c.changed.set()

    def _container_row(self, c: _Container) -> rt.Container:
        cfg = c.config
        return rt.Container(
            c.id, c.sandbox_id, cfg.metadata, cfg.image, c.image_ref, self._state(c), c.created_at,
            dict(cfg.labels), dict(cfg.annotations),
        )  # fmt: skip

    async def list_containers(self, filter: rt.ContainerFilter | None = None) -> list[rt.Container]:
        self._check("list_containers")
        f = filter or rt.ContainerFilter()
        rows = []
        for c in self.containers.values():
            self._settle(c)
            row = self._container_row(c)
            if (
                (not f.id or c.id == f.id)
                and (not f.pod_sandbox_id or c.sandbox_id == f.pod_sandbox_id)
                and (f.state is None or row.state == f.state)
                and all(c.config.labels.get(k) == v for k, v in f.label_selector.items())
            ):
                rows.append(row)
        return rows

    async def container_status(self, container_id: str) -> rt.ContainerStatus:
        self._check("container_status")
        c = self._container(container_id)
        row = self._container_row(c)
        finished_at, exit_code, reason = (self._ns(c.exited[0]), *c.exited[1:]) if c.exited else (0, 0, "")
        return rt.ContainerStatus(
            id=c.id,
            metadata=row.metadata,
            state=row.state,
            created_at=c.created_at,
            started_at=self._ns(c.started) if c.started is not None else 0,
            finished_at=finished_at,
            exit_code=exit_code,
            image=row.image,
            image_ref=row.image_ref,
            reason=reason,
            labels=row.labels,
            annotations=row.annotations,
            log_path=c.log_path,
        )

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float = 0) -> rt.ExecResult:  # noqa: ASYNC109 - CRI's own parameter, sent to the runtime
        self._check("exec_sync")
        c = self._container(container_id)
        if self._state(c) != rt.ContainerState.RUNNING:
            raise rt.RuntimeServiceError(f"container {container_id!r} is not running")
        if seconds := exec_seconds(cmd):  # ``sleep N`` takes N seconds (a slow hook or probe)
            await self._sleep(min(seconds, timeout) if timeout else seconds)
            if timeout and seconds > timeout:
                raise rt.ExecTimeoutError(f"command {cmd!r} timed out after {timeout:g}s")
        return simulate_exec(c.behaviour, cmd)

    async def exec(self, request: rt.ExecRequest) -> rt.StreamEndpoint:
        result = await self.exec_sync(request.container_id, request.cmd)
        echo_stdin = bool(request.cmd) and request.cmd[0].rsplit("/", 1)[-1] == "cat" and request.stdin
        return rt.StreamEndpoint(session=ExecSession(result, echo_stdin=echo_stdin))

    async def attach(self, request: rt.AttachRequest) -> rt.StreamEndpoint:
        c = self._container(request.container_id)
        lines = self.read_container_log(c.id, rt.LogOptions(tail=0, follow=True))
        session = ExecSession.following(lines, self._exit_code_when_done(c))
        await asyncio.sleep(0)  # let the follower take its place at the end of the log
        return rt.StreamEndpoint(session=session)

    def _exit_code_when_done(self, c: _Container) -> Callable[[], Awaitable[int]]:
        async def wait() -> int:
            while True:
                self._settle(c)
                if c.exited is not None or c.id not in self.containers:
                    return c.exited[1] if c.exited else 0
                c.changed.clear()
                await c.changed.wait()

        return wait

    async def reopen_container_log(self, container_id: str) -> None:
        self._container(container_id)  # nothing to reopen: the log lives in memory

    async def read_container_log(
        self, container_id: str, options: rt.LogOptions
    ) -> AsyncIterator[rt.LogLine]:
        c = self._container(container_id)
        seen = c.logged
        for line in select(list(c.logs), options):
            yield line
        while options.follow:
            self._settle(c)
            done = c.exited is not None or c.id not in self.containers
            new, seen = list(c.logs)[len(c.logs) - min(c.logged - seen, len(c.logs)) :], c.logged
            for line in new:
                yield line
            if done:
                return
            c.changed.clear()
            await c.changed.wait()

    # --- ImageService ----------------------------------------------------------

    async def list_images(self) -> list[rt.Image]:
        return list(self.images.values())

    async def image_status(self, image: str) -> rt.Image | None:
        return self.images.get(normalize_image(image))

    async def pull_image(self, image: str, sandbox_config: rt.PodSandboxConfig | None = None) -> str:
        self._check("pull_image")
        await self._sleep(self.pull_delay)
        name = normalize_image(image)
        if self.missing_images.search(image):
            raise rt.ImagePullError(
                f'failed to pull and unpack image "{name}": failed to resolve reference "{name}": '
                f"{name}: not found (simulated: the name matches {self.missing_images.pattern!r})"
            )
        found = self.images.setdefault(name, rt.Image(image_id(name), [name], [], 1 << 20))
        return found.id

    async def remove_image(self, image: str) -> None:
        self.images.pop(normalize_image(image), None)

    def preload(self, *images: str) -> None:
        """Mark images as present without a pull (a node provisioned with them)."""
        for image in images:
            name = normalize_image(image)
            self.images[name] = rt.Image(image_id(name), [name], [], 1 << 20)


if TYPE_CHECKING:  # mypy checks that both protocols are implemented in full
    _runtime: rt.RuntimeService = SimulatedRuntime()
    _images: rt.ImageService = SimulatedRuntime()
