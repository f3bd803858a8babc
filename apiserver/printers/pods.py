"""The pod printer: READY, STATUS and RESTARTS as ``kubectl get pods`` shows them.

A line-by-line port of ``printPod`` in
``k8s.io/kubernetes/pkg/printers/internalversion/printers.go``. STATUS is not a stored
field; it is a story told from several:

1. start from ``status.reason`` or else ``status.phase`` (``SchedulingGated`` wins if
   the PodScheduled condition says so);
2. walk the init containers in order: the first one not finished successfully decides
   (``Init:1/3``, ``Init:CrashLoopBackOff``, ``Init:Error``, ``Init:ExitCode:2``...),
   except that a started sidecar (init container with ``restartPolicy: Always``) counts
   as done;
3. once initialised, walk the app containers from the last to the first, so the first
   container's waiting/terminated reason wins (``ContainerCreating``, ``Completed``);
4. a pod being deleted shows ``Terminating`` (``Unknown`` if its node was lost).

RESTARTS adds up restart counts and, if any container has a last termination time,
says how long ago the latest one was: ``3 (5m ago)``.
"""

from __future__ import annotations

from datetime import datetime

from .columns import DOC, age_column, column, name_column
from .format import Obj, parse_time, translate_timestamp_since
from .printer import Cells, Printer

POD_COLUMNS = (
    name_column(),
    column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    column("Status", "The aggregate status of the containers in this pod."),
    column(
        "Restarts",
        "The number of times the containers in this pod have been restarted and when the last container "
        "in this pod has restarted.",
    ),
    age_column(),
    column("IP", DOC["PodStatus.podIP"], priority=1),
    column("Node", DOC["PodSpec.nodeName"], priority=1),
    column("Nominated Node", DOC["PodStatus.nominatedNodeName"], priority=1),
    column("Readiness Gates", DOC["PodSpec.readinessGates"], priority=1),
)

# node.NodeUnreachablePodReason: set by the node lifecycle controller on pods of a lost node.
NODE_UNREACHABLE_POD_REASON = "NodeLost"


def pod_conditions(pod: Obj) -> list[Obj]:
    """The row condition that lets ``kubectl get`` dim finished pods."""
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        message = "The pod has completed successfully."
    elif phase == "Failed":
        message = "The pod failed."
    else:
        return []
    return [{"type": "Completed", "status": "True", "reason": phase, "message": message}]


def _is_restartable_init_container(container: Obj | None) -> bool:
    return container is not None and container.get("restartPolicy") == "Always"


def _last_termination(status: Obj) -> datetime | None:
    terminated = (status.get("lastState") or {}).get("terminated")
    return parse_time(terminated.get("finishedAt")) if terminated is not None else None


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _has_condition(status: Obj, type_: str) -> bool:
    """True if the first condition of ``type_`` has status True."""
    for condition in status.get("conditions") or []:
        if condition.get("type") == type_:
            return bool(condition.get("status") == "True")
    return False


def _terminated_reason(terminated: Obj, prefix: str = "") -> str:
    if terminated.get("reason"):
        return prefix + terminated["reason"]
    if terminated.get("signal"):
        return f"{prefix}Signal:{terminated['signal']}"
    return f"{prefix}ExitCode:{terminated.get('exitCode', 0)}"


def pod_cells(pod: Obj, now: datetime) -> Cells:
    meta, spec, status = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    init_specs = list(spec.get("initContainers") or [])
    init_by_name = {c.get("name"): c for c in init_specs}

    restarts = restartable_restarts = ready = 0
    last_restart: datetime | None = None
    last_restartable_restart: datetime | None = None
    total = len(spec.get("containers") or []) + sum(
        1 for c in init_specs if _is_restartable_init_container(c)
    )

    phase = status.get("phase", "")
    reason = status.get("reason") or phase
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        restarts += cs.get("restartCount", 0)
        last_restart = _later(last_restart, _last_termination(cs))
        sidecar = _is_restartable_init_container(init_by_name.get(cs.get("name")))
        if sidecar:
            restartable_restarts += cs.get("restartCount", 0)
            last_restartable_restart = _later(last_restartable_restart, _last_termination(cs))
        state = cs.get("state") or {}
        terminated, waiting = state.get("terminated"), state.get("waiting")
        if terminated is not None and terminated.get("exitCode", 0) == 0:
            continue
        if sidecar and cs.get("started") is True:
            ready += 1 if cs.get("ready") else 0
            continue
        if terminated is not None:
            reason = _terminated_reason(terminated, "Init:")
        elif waiting is not None and waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        initializing = True
        break

    if not initializing or _has_condition(status, "Initialized"):
        # Init containers are done: only sidecar restarts still count.
        restarts, last_restart = restartable_restarts, last_restartable_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += cs.get("restartCount", 0)
            last_restart = _later(last_restart, _last_termination(cs))
            state = cs.get("state") or {}
            terminated, waiting = state.get("terminated"), state.get("waiting")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif terminated is not None:
                reason = _terminated_reason(terminated)
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        # A completed container next to a running one: the pod is still running.
        if reason == "Completed" and has_running:
            reason = "Running" if _has_condition(status, "Ready") else "NotReady"

    if meta.get("deletionTimestamp") and status.get("reason") == NODE_UNREACHABLE_POD_REASON:
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"

    restarts_cell = str(restarts)
    if restarts != 0 and last_restart is not None:
        restarts_cell = f"{restarts} ({translate_timestamp_since(last_restart.isoformat(), now)} ago)"

    pod_ips = status.get("podIPs") or ([{"ip": status["podIP"]}] if status.get("podIP") else [])
    gates = spec.get("readinessGates") or []
    readiness_gates = "<none>"
    if gates:
        true_conditions = sum(1 for gate in gates if _has_condition(status, gate.get("conditionType", "")))
        readiness_gates = f"{true_conditions}/{len(gates)}"
    return [
        meta.get("name", ""),
        f"{ready}/{total}",
        reason,
        restarts_cell,
        translate_timestamp_since(meta.get("creationTimestamp"), now),
        (pod_ips[0].get("ip") if pod_ips else "") or "<none>",
        spec.get("nodeName") or "<none>",
        status.get("nominatedNodeName") or "<none>",
        readiness_gates,
    ]


POD_PRINTER = Printer(POD_COLUMNS, pod_cells, pod_conditions)
