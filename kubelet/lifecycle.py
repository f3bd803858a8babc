"""Container lifecycle hooks: the ``postStart`` and ``preStop`` handlers.

Mirrors pkg/kubelet/lifecycle/handlers.go (``handlerRunner.Run``). A handler is one of

* ``exec``: ``ExecSync`` of the command in the container (no timeout, as upstream);
  it fails when the command exits non-zero or cannot run;
* ``httpGet``: a GET to ``scheme://host:port/path`` (host: the pod IP unless given;
  a named port is looked up in the container's ``ports``); it fails only when the
  request does (connection refused, timeout): the status code is not checked;
* ``sleep``: wait ``seconds``.

What failure means is the caller's (kuberuntime.py): a failed ``postStart`` kills the
container (``FailedPostStartHook``), a failed ``preStop`` is only reported. Upstream
keeps the handler's message out of the Event (it may hold secrets); it becomes the
container's waiting message instead (``PostStartHookError``).

With the simulated runtime there is no network, so ``httpGet`` is asked of the runtime
as an exec of ``["httpGet", url]``, as probes.py does for its probes.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from kubelet.podconfig import pod_ref
from kubelet.runtime import interface as rt


class HookError(Exception):
    """A handler failed: ``str(err)`` is upstream's message for the container status."""


def _q(text: str) -> str:
    """Go's ``%q``."""
    return json.dumps(text, ensure_ascii=False)


def resolve_port(value: Any, container: dict[str, Any]) -> int:
    """resolvePort (handlers.go) and ResolveContainerPort (prober): an int, a numeric
    string, or the name of one of the container's ports; ValueError if none matches."""
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    for p in container.get("ports") or []:
        if p.get("name") == value:
            return int(p["containerPort"])
    raise ValueError(f"couldn't find port: {value} in {container.get('name')}")


async def run_handler(
    runtime: rt.RuntimeService,
    pod: dict[str, Any],
    container: dict[str, Any],
    container_id: str,
    handler: dict[str, Any],
    pod_ip: str,
    real_network: bool,
) -> None:
    """Run one lifecycle handler to the end; raise :class:`HookError` when it fails."""
    name, who = container["name"], pod_ref(pod)
    if "exec" in handler:
        command = list(handler["exec"].get("command") or [])
        try:
            code, out, err = await runtime.exec_sync(container_id, command, 0)
            output, error = (out + err).decode(errors="replace"), ""
            if code != 0:  # cri-client ExecSync's error
                error = f"command '{' '.join(command)}' exited with {code}: {err.decode(errors='replace')}"
        except rt.RuntimeServiceError as e:
            output, error = "", str(e)
        if error:
            raise HookError(
                f"Exec lifecycle hook ([{' '.join(command)}]) for Container {_q(name)} in Pod {_q(who)} "
                f"failed - error: {error}, message: {_q(output)}"
            )
    elif "httpGet" in handler:
        h = handler["httpGet"]
        path = h.get("path", "")
        try:
            url = (
                f"{str(h.get('scheme', 'HTTP')).lower()}://{h.get('host') or pod_ip}:"
                f"{resolve_port(h.get('port'), container)}/{path.lstrip('/')}"
            )
            await _http_get(runtime, container_id, url, h, real_network)
        except (HookError, ValueError) as e:
            raise HookError(
                f"HTTP lifecycle hook ({path}) for Container {_q(name)} in Pod {_q(who)} failed - error: {e}"
            ) from None
    elif "sleep" in handler:
        await asyncio.sleep(float(handler["sleep"].get("seconds", 0)))
    else:
        raise HookError(f"Cannot run handler: invalid handler: {handler}")


async def _http_get(
    runtime: rt.RuntimeService, container_id: str, url: str, h: dict[str, Any], real_network: bool
) -> None:
    if not real_network:
        code, _, _ = await runtime.exec_sync(container_id, ["httpGet", url])
        if code != 0:
            host = url.split("://", 1)[1].split("/", 1)[0]
            raise HookError(f'Get "{url}": dial tcp {host}: connect: connection refused')
        return
    headers = {x["name"]: x["value"] for x in h.get("httpHeaders") or []}
    try:
        async with httpx.AsyncClient(verify=False, timeout=None) as client:
            await client.get(url, headers={"User-Agent": "kube-lifecycle/1.32", **headers})
    except httpx.HTTPError as e:
        raise HookError(f'Get "{url}": {e or type(e).__name__}') from None
