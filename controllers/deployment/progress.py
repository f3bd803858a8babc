"""A Deployment's status and its two conditions, as ``kubectl rollout status`` reads them.

Status sums the ReplicaSets: ``replicas`` (pods that exist), ``updatedReplicas``
(pods of the new ReplicaSet), ``readyReplicas``, ``availableReplicas``,
``unavailableReplicas`` (wanted but not available) and ``observedGeneration``.

``Available`` says whether at least ``replicas - maxUnavailable`` pods are available:
``True/MinimumReplicasAvailable`` "Deployment has minimum availability." or
``False/MinimumReplicasUnavailable``.

``Progressing`` tells the rollout's story, one reason at a time:

=======================  ======  =============================================
reason                   status  message
=======================  ======  =============================================
NewReplicaSetCreated     True    Created new replica set "web-7d4b9c"
FoundNewReplicaSet       True    Found new replica set "web-7d4b9c"
ReplicaSetUpdated        True    ReplicaSet "web-7d4b9c" is progressing.
NewReplicaSetAvailable   True    ReplicaSet "web-7d4b9c" has successfully progressed.
ProgressDeadlineExceeded False   ReplicaSet "web-7d4b9c" has timed out progressing.
DeploymentPaused         Unknown Deployment is paused
DeploymentResumed        Unknown Deployment is resumed
=======================  ======  =============================================

Every step of progress refreshes ``lastUpdateTime``; if ``progressDeadlineSeconds``
(default 600) pass without one, the rollout has timed out. ``kubectl rollout status``
then fails with ``deployment "web" exceeded its progress deadline``.

Mirrors: pkg/controller/deployment/progress.go (syncRolloutStatus,
requeueStuckDeployment), sync.go (calculateStatus), util/deployment_util.go
(DeploymentComplete, DeploymentProgressing, DeploymentTimedOut, condition reasons).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from controllers.deployment.rolling import max_unavailable, replicas, total_available, total_replicas
from controllers.util import Obj, epoch, find_condition, meta, remove_condition, set_condition, timestamp

PROGRESSING = "Progressing"
AVAILABLE = "Available"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"
MIN_AVAILABLE = "MinimumReplicasAvailable"
MIN_UNAVAILABLE = "MinimumReplicasUnavailable"


def condition(ctype: str, status: str, reason: str, message: str, now: float) -> dict[str, Any]:
    t = timestamp(now)
    return {
        "type": ctype,
        "status": status,
        "lastUpdateTime": t,
        "lastTransitionTime": t,
        "reason": reason,
        "message": message,
    }


def _status_int(obj: Obj, field: str) -> int:
    return int((obj.get("status") or {}).get(field, 0) or 0)


def calculate_status(d: Obj, all_rss: Sequence[Obj], new_rs: Obj | None, now: float) -> dict[str, Any]:
    """The status for these ReplicaSets, with the Available condition (``calculateStatus``)."""
    available = total_available(all_rss)
    status: dict[str, Any] = dict(d.get("status") or {})
    status.update(
        observedGeneration=meta(d).get("generation", 0),
        replicas=sum(_status_int(rs, "replicas") for rs in all_rss),
        updatedReplicas=_status_int(new_rs, "replicas") if new_rs is not None else 0,
        readyReplicas=sum(_status_int(rs, "readyReplicas") for rs in all_rss),
        availableReplicas=available,
        unavailableReplicas=max(0, total_replicas(all_rss) - available),
    )
    conditions = list(status.get("conditions") or [])
    if available >= replicas(d) - max_unavailable(d):
        cond = condition(AVAILABLE, "True", MIN_AVAILABLE, "Deployment has minimum availability.", now)
    else:
        cond = condition(
            AVAILABLE, "False", MIN_UNAVAILABLE, "Deployment does not have minimum availability.", now
        )
    status["conditions"] = set_condition(conditions, cond)
    return status


def has_progress_deadline(d: Obj) -> bool:
    return (d.get("spec") or {}).get("progressDeadlineSeconds", 600) is not None


def is_complete(d: Obj, status: dict[str, Any]) -> bool:
    """``DeploymentComplete``: every replica updated and available, spec observed."""
    want = replicas(d)
    return (
        status.get("updatedReplicas", 0) == want
        and status.get("replicas", 0) == want
        and status.get("availableReplicas", 0) == want
        and status.get("observedGeneration", 0) >= meta(d).get("generation", 0)
    )


def is_progressing(d: Obj, status: dict[str, Any]) -> bool:
    """``DeploymentProgressing``: more updated, fewer old, more ready or more available pods."""
    old = d.get("status") or {}
    old_old = old.get("replicas", 0) - old.get("updatedReplicas", 0)
    new_old = status.get("replicas", 0) - status.get("updatedReplicas", 0)
    return (
        status.get("updatedReplicas", 0) > old.get("updatedReplicas", 0)
        or new_old < old_old
        or status.get("readyReplicas", 0) > old.get("readyReplicas", 0)
        or status.get("availableReplicas", 0) > old.get("availableReplicas", 0)
    )


def timed_out(d: Obj, status: dict[str, Any], now: float) -> bool:
    cond = find_condition(status.get("conditions"), PROGRESSING)
    if not has_progress_deadline(d) or cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    deadline = int((d.get("spec") or {}).get("progressDeadlineSeconds", 600))
    return epoch(cond.get("lastUpdateTime")) + deadline < now


def rollout_status(
    d: Obj, all_rss: Sequence[Obj], new_rs: Obj | None, now: float
) -> tuple[dict[str, Any], float | None]:
    """The status after a rollout step, and when to look again for a deadline (``syncRolloutStatus``)."""
    status = calculate_status(d, all_rss, new_rs, now)
    conditions: list[dict[str, Any]] = status["conditions"]
    if not has_progress_deadline(d):
        conditions = remove_condition(conditions, PROGRESSING)
    current = find_condition(conditions, PROGRESSING)
    complete_before = (
        status["replicas"] == status["updatedReplicas"]
        and current is not None
        and current.get("reason") == NEW_RS_AVAILABLE
    )
    name = meta(new_rs)["name"] if new_rs is not None else ""
    if has_progress_deadline(d) and not complete_before:
        if is_complete(d, status):
            if new_rs is not None:
                msg = f'ReplicaSet "{name}" has successfully progressed.'
                conditions = set_condition(
                    conditions, condition(PROGRESSING, "True", NEW_RS_AVAILABLE, msg, now)
                )
        elif is_progressing(d, status):
            msg = (
                f'ReplicaSet "{name}" is progressing.' if new_rs is not None else "Deployment is progressing."
            )
            cond = condition(PROGRESSING, "True", RS_UPDATED, msg, now)
            if current is not None and current.get("status") == "True":
                cond["lastTransitionTime"] = current.get("lastTransitionTime")
            # Progress always refreshes lastUpdateTime: that is what the deadline measures.
            conditions = [*remove_condition(conditions, PROGRESSING), cond]
        elif timed_out(d, {**status, "conditions": conditions}, now):
            msg = (
                f'ReplicaSet "{name}" has timed out progressing.'
                if new_rs is not None
                else "Deployment has timed out progressing."
            )
            conditions = set_condition(conditions, condition(PROGRESSING, "False", TIMED_OUT, msg, now))
    status["conditions"] = conditions
    # requeueStuckDeployment: look again when the deadline would pass.
    after = None
    current = find_condition(conditions, PROGRESSING)
    if (
        current is not None
        and current.get("reason") not in (NEW_RS_AVAILABLE, TIMED_OUT)
        and not is_complete(d, status)
    ):
        deadline = int((d.get("spec") or {}).get("progressDeadlineSeconds", 600))
        after = max(1.0, epoch(current.get("lastUpdateTime")) + deadline - now + 1)
    return status, after


def paused_conditions(d: Obj, status: dict[str, Any], now: float) -> dict[str, Any]:
    """Progressing=Unknown while paused, and once more on resume (``checkPausedConditions``)."""
    if not has_progress_deadline(d):
        return status
    conditions = list(status.get("conditions") or [])
    current = find_condition(conditions, PROGRESSING)
    if current is not None and current.get("reason") == TIMED_OUT:
        return status
    paused = bool((d.get("spec") or {}).get("paused"))
    if paused and (current is None or current.get("reason") != PAUSED):
        conditions = set_condition(
            conditions, condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", now)
        )
    elif not paused and current is not None and current.get("reason") == PAUSED:
        conditions = set_condition(
            conditions, condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed", now)
        )
    return {**status, "conditions": conditions}


def set_progressing(status: dict[str, Any], reason: str, message: str, now: float) -> dict[str, Any]:
    conditions = set_condition(
        list(status.get("conditions") or []), condition(PROGRESSING, "True", reason, message, now)
    )
    return {**status, "conditions": conditions}
