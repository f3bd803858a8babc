"""Probes: liveness, readiness and startup checks, each run on its own period.

Mirrors pkg/kubelet/prober/ (``prober_manager.go``, ``worker.go``, ``prober.go``). Every
running container with a probe gets one worker per probe kind, which sleeps
``initialDelaySeconds``, then runs the probe every ``periodSeconds`` and turns raw
results into a verdict with the thresholds: ``failureThreshold`` failures in a row make
it fail, ``successThreshold`` successes in a row make it pass. Defaults
(pkg/apis/core/v1/defaults.go): period 10 s, timeout 1 s, success 1, failure 3, delay 0.

What each verdict does (the pod worker reads them):

* **startup**: until it passes, liveness and readiness do not run and ``started`` is false;
  a failure restarts the container like a liveness failure;
* **liveness**: a failure kills the container (event ``Killing``: ``Container c failed
  liveness probe, will be restarted``) and the restart policy decides what follows;
* **readiness**: gates the container's ``ready``, hence ``ContainersReady`` and ``Ready``
  (and the pod's place in Service endpoints). It starts as not ready.

Each failed attempt is a ``Warning`` event ``Unhealthy``: ``Liveness probe failed: <output>``.

Handlers: ``exec`` (``ExecSync`` in the container; exit 0 passes), ``httpGet`` (a status
in 200..399 passes) and ``tcpSocket`` (the connection opens). With the simulated
runtime there is no network to probe, so ``httpGet``/``tcpSocket`` are asked of the
runtime as an exec of ``["httpGet", url]`` / ``["tcpSocket", addr]``, which answers
like any simulated exec (``sim.pykube.io/exec-exit-code``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from client.events import WARNING, EventRecorder
from kubelet.lifecycle import resolve_port
from kubelet.ref import container_ref
from kubelet.runtime import interface as rt

log = logging.getLogger(__name__)

KINDS = ("startup", "liveness", "readiness")


@dataclass(frozen=True)
class ProbeSpec:
    handler: dict[str, Any]
    initial_delay: float = 0
    period: float = 10
    timeout: float = 1
    success_threshold: int = 1
    failure_threshold: int = 3
    #: Why the handler cannot run (a named port the container does not have): every try fails.
    error: str = ""

    @classmethod
    def from_probe(cls, probe: dict[str, Any], container: dict[str, Any] | None = None) -> ProbeSpec:
        """The probe with its ``port`` resolved against ``container`` (a named port is
        one of its ``ports``, as prober.go's ResolveContainerPort)."""
        handler, error = probe, ""
        for kind in ("httpGet", "tcpSocket"):
            if container is not None and kind in probe and "port" in probe[kind]:
                try:
                    port = resolve_port(probe[kind]["port"], container)
                except ValueError as e:
                    error = str(e)
                else:
                    handler = {**probe, kind: {**probe[kind], "port": port}}
        return cls(
            handler=handler,
            error=error,
            initial_delay=probe.get("initialDelaySeconds", 0),
            period=probe.get("periodSeconds", 10),
            timeout=probe.get("timeoutSeconds", 1),
            success_threshold=probe.get("successThreshold", 1),
            failure_threshold=probe.get("failureThreshold", 3),
        )


class Thresholds:
    """Consecutive raw results -> verdict (worker.go ``doProbe``). ``verdict`` is None until decided."""

    def __init__(self, spec: ProbeSpec, initial: bool | None) -> None:
        self.spec, self.verdict = spec, initial
        self._run, self._last = 0, None  # type: tuple[int, bool | None]

    def observe(self, ok: bool) -> bool | None:
        self._run = self._run + 1 if self._last == ok else 1
        self._last = ok
        needed = self.spec.success_threshold if ok else self.spec.failure_threshold
        if self._run >= needed:
            self.verdict = ok
        return self.verdict


async def run_probe(
    runtime: rt.RuntimeService, container_id: str, spec: ProbeSpec, pod_ip: str, real_network: bool
) -> tuple[bool, str]:
    """One attempt: (passed, output). Mirrors prober.go ``runProbe``."""
    if spec.error:
        return False, spec.error
    probe = spec.handler
    if "exec" in probe:
        try:
            code, out, err = await runtime.exec_sync(
                container_id, probe["exec"].get("command", []), spec.timeout
            )
        except rt.ExecTimeoutError:
            return False, f"command timed out after {spec.timeout:g}s"
        except rt.RuntimeServiceError as e:
            return False, str(e)
        text = (out + err).decode(errors="replace")
        return code == 0, text if code == 0 or text else f"command failed with exit code {code}"
    if "httpGet" in probe:
        h = probe["httpGet"]
        scheme = str(h.get("scheme", "HTTP")).lower()
        url = f"{scheme}://{h.get('host') or pod_ip}:{h.get('port')}{h.get('path', '/')}"
        if not real_network:
            code, _, _ = await runtime.exec_sync(container_id, ["httpGet", url])
            return code == 0, "" if code == 0 else "HTTP probe failed with statuscode: 500"
        try:
            async with httpx.AsyncClient(verify=False, timeout=spec.timeout) as client:
                headers = {x["name"]: x["value"] for x in h.get("httpHeaders") or []}
                response = await client.get(url, headers={"User-Agent": "kube-probe/1.32", **headers})
        except httpx.HTTPError as e:
            return False, f'Get "{url}": {e or type(e).__name__}'
        if 200 <= response.status_code < 400:
            return True, ""
        return False, f"HTTP probe failed with statuscode: {response.status_code}"
    if "tcpSocket" in probe:
        t = probe["tcpSocket"]
        addr = f"{t.get('host') or pod_ip}:{t.get('port')}"
        if not real_network:
            code, _, _ = await runtime.exec_sync(container_id, ["tcpSocket", addr])
            return code == 0, "" if code == 0 else f"dial tcp {addr}: connect: connection refused"
        try:
            async with asyncio.timeout(spec.timeout):
                _, writer = await asyncio.open_connection(t.get("host") or pod_ip, int(t["port"]))
            writer.close()
        except (OSError, TimeoutError) as e:
            return False, f"dial tcp {addr}: {e}"
        return True, ""
    return True, ""  # grpc probes: not supported, never fail


class ProbeManager:
    """The probe workers of one node, and their verdicts keyed by container id."""

    def __init__(
        self,
        runtime: rt.RuntimeService,
        events: EventRecorder,
        on_change: Callable[[str], None],
        real_network: bool = True,
    ) -> None:
        self.runtime, self.events, self.on_change, self.real_network = (
            runtime,
            events,
            on_change,
            real_network,
        )
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}  # (container id, kind)
        self._verdicts: dict[tuple[str, str], Thresholds] = {}
        self.outputs: dict[tuple[str, str], str] = {}
        self._pod_of: dict[tuple[str, str], str] = {}  # (container id, kind) -> pod uid

    def verdict(self, container_id: str, kind: str) -> bool | None:
        t = self._verdicts.get((container_id, kind))
        return None if t is None else t.verdict

    def ready(self, container_id: str, container: dict[str, Any]) -> bool:
        if not self.started(container_id, container):
            return False
        if "readinessProbe" not in container:
            return True
        return self.verdict(container_id, "readiness") is True

    def started(self, container_id: str, container: dict[str, Any]) -> bool:
        return "startupProbe" not in container or self.verdict(container_id, "startup") is True

    def failed(self, container_id: str) -> str:
        """ "liveness" or "startup" when that probe has failed, else ""."""
        for kind in ("liveness", "startup"):
            if self.verdict(container_id, kind) is False:
                return kind
        return ""

    def ensure(self, pod: dict[str, Any], running: dict[str, str], pod_ip: str) -> None:
        """Probe workers for exactly the running containers (name -> id) of ``pod``."""
        uid = pod["metadata"]["uid"]
        wanted = set()
        for container in pod["spec"]["containers"]:
            cid = running.get(container["name"])
            if cid is None:
                continue
            for kind in KINDS:
                probe = container.get(f"{kind}Probe")
                if probe is None:
                    continue
                wanted.add((cid, kind))
                if (cid, kind) not in self._workers:
                    spec = ProbeSpec.from_probe(probe, container)
                    initial = {"liveness": True, "readiness": False, "startup": None}[kind]
                    self._verdicts[(cid, kind)] = Thresholds(spec, initial)
                    task = asyncio.get_running_loop().create_task(
                        self._worker(pod, container, cid, kind, spec, pod_ip), name=f"probe {kind} {cid}"
                    )
                    self._workers[(cid, kind)] = task
        for key in [k for k in self._workers if k not in wanted and self._pod_of.get(k) == uid]:
            self._stop(key)
        for key in wanted:
            self._pod_of[key] = uid

    def forget_pod(self, uid: str) -> None:
        for key in [k for k, v in self._pod_of.items() if v == uid]:
            self._stop(key)

    def _stop(self, key: tuple[str, str]) -> None:
        if (task := self._workers.pop(key, None)) is not None:
            task.cancel()
        self._verdicts.pop(key, None)
        self._pod_of.pop(key, None)

    async def stop(self) -> None:
        tasks = list(self._workers.values())
        for key in list(self._workers):
            self._stop(key)
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _worker(
        self,
        pod: dict[str, Any],
        container: dict[str, Any],
        cid: str,
        kind: str,
        spec: ProbeSpec,
        pod_ip: str,
    ) -> None:
        uid, name = pod["metadata"]["uid"], container["name"]
        thresholds = self._verdicts[(cid, kind)]
        await asyncio.sleep(spec.initial_delay)
        while True:
            if kind != "startup" and "startupProbe" in container and self.verdict(cid, "startup") is not True:
                await asyncio.sleep(spec.period)
                continue
            before = thresholds.verdict
            try:
                ok, output = await run_probe(self.runtime, cid, spec, pod_ip, self.real_network)
            except Exception as e:
                ok, output = False, str(e)
            if not ok:
                self.events.event(
                    container_ref(pod, name),
                    WARNING,
                    "Unhealthy",
                    f"{kind.capitalize()} probe failed: {output}".rstrip(),
                )
                self.outputs[(cid, kind)] = output
            after = thresholds.observe(ok)
            if after != before:
                self.on_change(uid)
            if after is False and kind in ("liveness", "startup"):
                return  # the container is about to be killed; its successor gets a new worker
            await asyncio.sleep(spec.period)
