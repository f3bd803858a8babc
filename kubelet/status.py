"""Pod status: computed from what runs, written to ``pods/{name}/status`` only on change.

Two halves, as upstream:

* :func:`generate` is pkg/kubelet/kubelet_pods.go ``generateAPIPodStatus`` plus
  ``convertToAPIContainerStatuses`` and ``getPhase``: a pure function from the pod,
  the runtime's view (:class:`~kubelet.podstate.RuntimePod`), the worker's waiting
  reasons (``CrashLoopBackOff``, ``ImagePullBackOff`` ...) and the probe verdicts to
  the ``status`` dict;
* :class:`StatusManager` is pkg/kubelet/status/status_manager.go: it remembers what
  it last wrote and PATCHes only a status that differs. Condition
  ``lastTransitionTime`` is carried over while a condition's status stays the same,
  so an unchanged pod produces an identical status and no write.

The phase (getPhase)::

    an init container failed and restartPolicy Never   -> Failed
    init containers not all done                        -> Pending
    any container waiting (never ran yet)               -> Pending
    some container running                              -> Running
    all stopped: Always -> Running; all exit 0 -> Succeeded; Never -> Failed; OnFailure -> Running

A container waiting to restart (``CrashLoopBackOff``) counts as stopped, not waiting:
that is why a crash-looping pod is ``Running``.

Conditions (pkg/kubelet/status/generate.go): the kubelet owns ``PodReadyToStartContainers``,
``Initialized``, ``ContainersReady``, ``Ready`` and ``PodScheduled``
(``kubetypes.PodConditionsByKubelet``); any other condition in the pod's status
belongs to someone else and is carried over untouched. ``Ready`` is
``GeneratePodReadyCondition``: ``ContainersReady``'s verdict, and when that is True,
also every ``spec.readinessGates[].conditionType`` condition must be True, else
``ReadinessGatesNotReady`` with one message per gate::

    corresponding condition of pod readiness gate "x" does not exist.
    the status of pod readiness gate "x" is not "True", but False

The write is a *strategic merge* patch carrying only the kubelet's own conditions:
``conditions`` merge by ``type``, so a gate condition set by a controller (or
``kubectl patch --subresource=status``) in the meantime survives even if this
kubelet's cache has not seen it yet (upstream reaches the same end by diffing against
a fresh GET, status_manager.go ``syncPod``/``mergePodStatus``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apimachinery import errors
from apimachinery.meta import format_time, now
from client.rest import PODS, PatchType, RESTClient
from kubelet.podstate import RuntimePod
from kubelet.runtime import interface as rt

log = logging.getLogger(__name__)

Waiting = dict[str, tuple[str, str]]  # container name -> (reason, message)

#: kubetypes.PodConditionsByKubelet: the conditions the kubelet writes; others are left alone.
KUBELET_CONDITIONS = frozenset(
    {"PodScheduled", "Ready", "Initialized", "ContainersReady", "PodReadyToStartContainers"}
)


def rfc3339(ns: int) -> str:
    return format_time(datetime.fromtimestamp(ns / 1e9, UTC)) if ns else ""


def terminated(c: rt.ContainerStatus, prefix: str) -> dict[str, Any]:
    state: dict[str, Any] = {
        "exitCode": c.exit_code,
        "reason": c.reason or ("Completed" if c.exit_code == 0 else "Error"),
    }
    if c.started_at:
        state["startedAt"] = rfc3339(c.started_at)
    if c.finished_at:
        state["finishedAt"] = rfc3339(c.finished_at)
    state["containerID"] = f"{prefix}://{c.id}"
    if c.message:
        state["message"] = c.message
    return {"terminated": state}


def container_status(
    spec: dict[str, Any],
    instances: list[rt.ContainerStatus],
    waiting: tuple[str, str] | None,
    ready: Callable[[str], bool],
    started: Callable[[str], bool],
    prefix: str,
    default_waiting: str = "ContainerCreating",
) -> dict[str, Any]:
    """One ``containerStatuses[]`` entry (convertToAPIContainerStatuses)."""
    out: dict[str, Any] = {"name": spec["name"], "image": spec.get("image", ""), "imageID": "", "ready": False,
                           "restartCount": 0, "started": False, "state": {}, "lastState": {}}  # fmt: skip
    reason, message = waiting or (default_waiting, "")
    if not instances:
        out["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        return out
    latest = instances[0]
    out.update(
        imageID=latest.image_ref, containerID=f"{prefix}://{latest.id}", restartCount=latest.metadata.attempt
    )
    if latest.state == rt.ContainerState.RUNNING:
        out["state"] = {"running": {"startedAt": rfc3339(latest.started_at)}}
        out["started"] = started(latest.id)
        out["ready"] = ready(latest.id)
        if len(instances) > 1:
            out["lastState"] = terminated(instances[1], prefix)
    elif latest.state == rt.ContainerState.EXITED:
        if waiting is not None:  # about to restart (or backing off): waiting, the exit goes to lastState
            out["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
            out["lastState"] = terminated(latest, prefix)
        else:
            out["state"] = terminated(latest, prefix)
            if len(instances) > 1:
                out["lastState"] = terminated(instances[1], prefix)
    else:
        out["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
    return out


def _condition(type_: str, ok: bool, reason: str = "", message: str = "") -> dict[str, Any]:
    c: dict[str, Any] = {"type": type_, "status": "True" if ok else "False"}
    if not ok and reason:
        c["reason"] = reason
    if not ok and message:
        c["message"] = message
    return c


def ready_condition(
    spec: dict[str, Any], containers_ready: dict[str, Any], conditions: list[dict[str, Any]]
) -> dict[str, Any]:
    """GeneratePodReadyCondition: ContainersReady's verdict, then every readiness gate's."""
    if containers_ready["status"] != "True":
        return {**containers_ready, "type": "Ready"}
    status = {c["type"]: c.get("status") for c in conditions}
    unready = []
    for gate in spec.get("readinessGates") or []:
        kind = gate["conditionType"]
        if kind not in status:
            unready.append(
                f"corresponding condition of pod readiness gate {json.dumps(kind)} does not exist."
            )
        elif status[kind] != "True":
            unready.append(
                f'the status of pod readiness gate {json.dumps(kind)} is not "True", but {status[kind]}'
            )
    if unready:
        return _condition("Ready", False, "ReadinessGatesNotReady", ", ".join(unready))
    return _condition("Ready", True)


def phase(pod: dict[str, Any], inits: list[dict[str, Any]], containers: list[dict[str, Any]]) -> str:
    spec = pod["spec"]
    policy = spec.get("restartPolicy", "Always")
    for s in inits:
        t = s["state"].get("terminated") or (
            s["lastState"].get("terminated") if "waiting" in s["state"] else None
        )
        if t and t["exitCode"] != 0 and policy == "Never":
            return "Failed"
    if not all((s["state"].get("terminated") or {}).get("exitCode", 1) == 0 for s in inits):
        return "Pending"
    running = waiting = stopped = succeeded = 0
    for s in containers:
        state = s["state"]
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"]["exitCode"] == 0
        elif "terminated" in s["lastState"]:
            stopped += 1
        else:
            waiting += 1
    if waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if policy == "Never" else "Running"
    return "Pending"


def generate(
    pod: dict[str, Any],
    runtime_pod: RuntimePod,
    waiting: Waiting,
    ready: Callable[[str, dict[str, Any]], bool],
    started: Callable[[str, dict[str, Any]], bool],
    host_ip: str,
    prefix: str,
) -> dict[str, Any]:
    """The pod's status (without lastTransitionTimes: :func:`with_transitions` adds them)."""
    spec, old = pod["spec"], pod.get("status") or {}

    def one(c: dict[str, Any], default_waiting: str) -> dict[str, Any]:
        return container_status(
            c, runtime_pod.containers.get(c["name"], []), waiting.get(c["name"]),
            lambda cid: ready(cid, c), lambda cid: started(cid, c), prefix, default_waiting,
        )  # fmt: skip

    init_specs = spec.get("initContainers") or []
    inits = [one(c, "PodInitializing") for c in init_specs]
    initialized = all((s["state"].get("terminated") or {}).get("exitCode", 1) == 0 for s in inits)
    containers = [
        one(c, "ContainerCreating" if initialized else "PodInitializing") for c in spec["containers"]
    ]
    pod_phase = phase(pod, inits, containers)
    if old.get("phase") in ("Succeeded", "Failed"):
        pod_phase = old["phase"]  # terminal is forever
    sandbox = runtime_pod.ready_sandbox()
    host_network = bool(spec.get("hostNetwork"))
    pod_ip = host_ip if host_network and sandbox else (sandbox.ip if sandbox else "") or old.get("podIP", "")
    terminal = pod_phase in ("Succeeded", "Failed")
    not_ready = [s["name"] for s in containers if not s["ready"]]
    incomplete = [s["name"] for s, c in zip(inits, init_specs, strict=True)
                  if (s["state"].get("terminated") or {}).get("exitCode", 1) != 0]  # fmt: skip
    if terminal:
        ready_reason, ready_msg = "PodCompleted", ""
    else:
        ready_reason, ready_msg = (
            "ContainersNotReady",
            f"containers with unready status: [{' '.join(not_ready)}]",
        )
    containers_ready = _condition("ContainersReady", not not_ready and not terminal, ready_reason, ready_msg)
    old_conditions = old.get("conditions") or []
    foreign = [dict(c) for c in old_conditions if c["type"] not in KUBELET_CONDITIONS]
    conditions = [
        _condition("PodReadyToStartContainers", sandbox is not None),
        _condition("Initialized", initialized or (terminal and not incomplete), "ContainersNotInitialized",
                   f"containers with incomplete status: [{' '.join(incomplete)}]"),
        ready_condition(spec, containers_ready, foreign),
        containers_ready,
    ]  # fmt: skip
    # PodScheduled is the scheduler's; a pod created with spec.nodeName never had it.
    scheduled = [c for c in old_conditions if c["type"] == "PodScheduled"]
    conditions += scheduled or [_condition("PodScheduled", True)]
    conditions += foreign  # readiness gates and anything else others set: kept as they are
    status: dict[str, Any] = {
        "phase": pod_phase,
        "conditions": conditions,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}] if host_ip else [],
        "startTime": old.get("startTime") or now(),
        "containerStatuses": containers,
    }
    if pod_ip:
        status.update(podIP=pod_ip, podIPs=[{"ip": pod_ip}])
    if inits:
        status["initContainerStatuses"] = inits
    if "qosClass" in old:
        status["qosClass"] = old["qosClass"]
    return status


def with_transitions(status: dict[str, Any], old: dict[str, Any], at: str) -> dict[str, Any]:
    """Stamp ``lastTransitionTime``: kept from ``old`` while a condition's status is unchanged."""
    before = {c["type"]: c for c in old.get("conditions") or []}
    for c in status["conditions"]:
        if c["type"] not in KUBELET_CONDITIONS:
            continue  # someone else's: as they wrote it
        prev = before.get(c["type"])
        if prev is not None and prev.get("status") == c["status"] and prev.get("lastTransitionTime"):
            c["lastTransitionTime"] = prev["lastTransitionTime"]
        else:
            c.setdefault("lastTransitionTime", at)
    return status


def _comparable(status: dict[str, Any]) -> dict[str, Any]:
    """What a change is: everything but probe times (``None`` on both sides anyway)."""
    return {k: v for k, v in status.items() if v not in (None, [], {})}


def status_patch(status: dict[str, Any]) -> dict[str, Any]:
    """The strategic merge patch that makes the API's status this one, leaving others' conditions.

    ``conditions`` merge by ``type``: only the kubelet's own are sent, each with ``null``
    for the fields it no longer has (a merge would keep the old ``reason``); the pod IP
    lists merge by ``ip`` and are replaced whole (``$patch: replace``); container
    statuses are atomic lists and replace the old ones anyway.
    """
    patch = dict(status)
    patch["conditions"] = [
        {"reason": None, "message": None, **c}
        for c in status["conditions"]
        if c["type"] in KUBELET_CONDITIONS
    ]
    for key in ("podIPs", "hostIPs"):
        if key in patch:
            patch[key] = [*patch[key], {"$patch": "replace"}]
    return patch


class StatusManager:
    """Writes each pod's status when it changed since the last write (or since the API's copy)."""

    def __init__(self, rest: RESTClient | None) -> None:
        self.rest = rest
        self._written: dict[str, dict[str, Any]] = {}  # pod uid -> last status written
        self.writes = 0

    def last(self, uid: str) -> dict[str, Any] | None:
        return self._written.get(uid)

    async def set(self, pod: dict[str, Any], status: dict[str, Any]) -> bool:
        uid = pod["metadata"]["uid"]
        base = self._written.get(uid) or pod.get("status") or {}
        with_transitions(status, base, now())
        if _comparable(status) == _comparable(self._written.get(uid) or {}) or _comparable(
            status
        ) == _comparable(pod.get("status") or {}):
            self._written[uid] = status
            return False
        if self.rest is not None:
            meta = pod["metadata"]
            try:
                await self.rest.patch(
                    PODS, meta["name"], {"metadata": {"uid": uid}, "status": status_patch(status)},
                    namespace=meta.get("namespace", ""), subresource="status", patch_type=PatchType.STRATEGIC,
                )  # fmt: skip
            except errors.StatusError as err:
                if errors.is_not_found(err) or errors.is_conflict(err):
                    return False
                raise
        self._written[uid] = status
        self.writes += 1
        return True

    def forget(self, uid: str) -> None:
        self._written.pop(uid, None)
