"""Helpers every controller shares: pod state, ownerReferences, conditions, time.

* pod state as upstream classifies it: *active* (not terminated, not being deleted),
  *ready* (condition ``Ready=True``), *available* (ready for ``minReadySeconds``);
* ``ownerReferences``: the controller reference (``controller: true``) and building one;
* status conditions: find one, set one keeping ``lastTransitionTime`` when the status
  does not change (as ``SetDeploymentCondition`` and friends do).

Mirrors: pkg/controller/controller_utils.go (IsPodActive, FilterActivePods),
pkg/api/v1/pod/util.go (IsPodReady, IsPodAvailable),
apimachinery/pkg/apis/meta/v1/controller_ref.go (GetControllerOf, NewControllerRef).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from apimachinery.meta import format_time, parse_time

Obj = dict[str, Any]


def meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    return obj.get("metadata") or {}


def to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def timestamp(seconds: float) -> str:
    """RFC 3339 (seconds precision) for a wall-clock time in epoch seconds."""
    return format_time(to_datetime(seconds))


def epoch(text: str | None) -> float:
    """Epoch seconds of an RFC 3339 timestamp (0 for a missing one)."""
    return parse_time(text).timestamp() if text else 0.0


# --- pods -------------------------------------------------------------------------------


def pod_phase(pod: Mapping[str, Any]) -> str:
    return (pod.get("status") or {}).get("phase", "Pending") or "Pending"


def is_pod_active(pod: Mapping[str, Any]) -> bool:
    """Not Succeeded, not Failed and not being deleted (``IsPodActive``)."""
    return pod_phase(pod) not in ("Succeeded", "Failed") and not meta(pod).get("deletionTimestamp")


def is_pod_terminated(pod: Mapping[str, Any]) -> bool:
    return pod_phase(pod) in ("Succeeded", "Failed")


def pod_condition(pod: Mapping[str, Any], ctype: str) -> dict[str, Any] | None:
    return find_condition((pod.get("status") or {}).get("conditions"), ctype)


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    cond = pod_condition(pod, "Ready")
    return cond is not None and cond.get("status") == "True"


def is_pod_available(pod: Mapping[str, Any], min_ready_seconds: int, now: float) -> bool:
    """Ready, and ready for at least ``minReadySeconds`` (``IsPodAvailable``)."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    cond = pod_condition(pod, "Ready") or {}
    since = epoch(cond.get("lastTransitionTime"))
    return since > 0 and since + min_ready_seconds <= now


def restart_count(pod: Mapping[str, Any]) -> int:
    return sum(
        int(s.get("restartCount", 0)) for s in (pod.get("status") or {}).get("containerStatuses") or []
    )


# --- owner references ---------------------------------------------------------------------


def controller_of(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ownerReference with ``controller: true``, if any (``GetControllerOf``)."""
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return dict(ref)
    return None


def controller_ref(owner: Mapping[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    """An ownerReference naming ``owner`` as controller (``NewControllerRef``)."""
    m = meta(owner)
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": m["name"],
        "uid": m["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_controlled_by(obj: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    ref = controller_of(obj)
    return ref is not None and ref.get("uid") == meta(owner).get("uid")


# --- conditions ------------------------------------------------------------------------------


def find_condition(conditions: list[dict[str, Any]] | None, ctype: str) -> dict[str, Any] | None:
    for cond in conditions or []:
        if cond.get("type") == ctype:
            return cond
    return None


def set_condition(conditions: list[dict[str, Any]], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Conditions with ``new`` in place of the one of the same type.

    As ``SetDeploymentCondition``: nothing changes when status and reason are the
    same; a changed reason with the same status keeps ``lastTransitionTime``.
    """
    old = find_condition(conditions, new["type"])
    new = dict(new)
    if old is not None and old.get("status") == new.get("status"):
        if old.get("reason") == new.get("reason"):
            return conditions
        new["lastTransitionTime"] = old.get("lastTransitionTime", new.get("lastTransitionTime"))
    out = [c for c in conditions if c.get("type") != new["type"]]
    out.append(new)
    return out


def remove_condition(conditions: list[dict[str, Any]], ctype: str) -> list[dict[str, Any]]:
    return [c for c in conditions if c.get("type") != ctype]
