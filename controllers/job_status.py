"""A Job's status: its conditions, and counting finished pods through their finalizer.

Every Job pod carries the finalizer ``batch.kubernetes.io/job-tracking``. A finished
pod is counted in two steps that survive a crash between them: its uid goes into
``status.uncountedTerminatedPods`` (status written), its finalizer is removed, and
uids whose finalizer is gone move into ``status.succeeded`` / ``status.failed``
(:func:`clean_uncounted`). :func:`finish` is the status after the removals: the
terminal condition (``Complete`` with ``completionTime``, or ``Failed``) once nothing
is uncounted or terminating. Conditions are set with :func:`ensure_condition`, which
adds a False condition only where one was there already.

Mirrors: pkg/controller/job/job_controller.go (newCondition, ensureJobConditionStatus,
cleanUncountedPodsWithoutFinalizers, enactJobFinished, hasJobTrackingFinalizer) and
pkg/controller/job/util (IsJobFinished).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from client.cache import copy
from controllers.util import Obj, find_condition, meta, timestamp

if TYPE_CHECKING:
    from controllers.job_sync import JobPlan


TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking"


def is_finished(job: Obj) -> bool:
    conds = (job.get("status") or {}).get("conditions")
    return any(
        (c := find_condition(conds, t)) is not None and c.get("status") == "True"
        for t in ("Complete", "Failed")
    )


def new_condition(ctype: str, reason: str, message: str, now: float) -> dict[str, Any]:
    t = timestamp(now)
    return {
        "type": ctype,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": t,
        "lastTransitionTime": t,
    }


def ensure_condition(
    conditions: list[dict[str, Any]], ctype: str, status: str, reason: str, message: str, now: float
) -> tuple[list[dict[str, Any]], bool]:
    """Conditions with ``ctype`` at this status, reason and message; a False condition is
    not added where there was none (``ensureJobConditionStatus``). Returns (conditions, changed)."""
    old = find_condition(conditions, ctype)
    if old is None and status == "False":
        return conditions, False
    if old is not None and (old.get("status"), old.get("reason"), old.get("message")) == (
        status,
        reason,
        message,
    ):
        return conditions, False
    new = {**new_condition(ctype, reason, message, now), "status": status}
    if old is None:
        return [*conditions, new], True
    return [new if c is old else c for c in conditions], True


def has_tracking_finalizer(pod: Obj) -> bool:
    return TRACKING_FINALIZER in (meta(pod).get("finalizers") or [])


def set_uncounted(status: dict[str, Any], succeeded: list[str], failed: list[str]) -> None:
    uncounted: dict[str, Any] = {}
    if succeeded:
        uncounted["succeeded"] = succeeded
    if failed:
        uncounted["failed"] = failed
    status["uncountedTerminatedPods"] = uncounted


def clean_uncounted(status: dict[str, Any], with_finalizer: set[str]) -> bool:
    """Move uncounted uids whose pod lost its finalizer (or is gone) into the counters
    (``cleanUncountedPodsWithoutFinalizers``). True if anything moved."""
    uncounted = status.setdefault("uncountedTerminatedPods", {})
    changed = False
    for kind in ("succeeded", "failed"):
        old = list(uncounted.get(kind) or [])
        kept = [u for u in old if u in with_finalizer]
        if len(kept) != len(old):
            changed = True
            status[kind] = int(status.get(kind, 0)) + len(old) - len(kept)
        set_uncounted(
            status,
            kept if kind == "succeeded" else list(uncounted.get("succeeded") or []),
            kept if kind == "failed" else list(uncounted.get("failed") or []),
        )
        uncounted = status["uncountedTerminatedPods"]
    return changed


def finish(status: dict[str, Any], p: JobPlan, removed: set[str], now: float) -> tuple[dict[str, Any], bool]:
    """The status after the finalizer removals: counters, then the terminal condition
    once nothing is uncounted or terminating (``enactJobFinished``). Returns
    (status, whether it changed)."""
    status = copy(status)
    changed = clean_uncounted(status, p.with_finalizer - removed)
    uncounted = status["uncountedTerminatedPods"]
    if p.finished is None or p.capped or uncounted.get("succeeded") or uncounted.get("failed"):
        return status, changed
    if p.terminating > 0:
        return status, changed  # delayTerminalCondition: wait for the pods to go
    cond = find_condition(status.get("conditions"), p.finished["type"])
    if cond is None or any(cond.get(k) != p.finished[k] for k in ("status", "reason", "message")):
        others = [c for c in status.get("conditions") or [] if c.get("type") != p.finished["type"]]
        status["conditions"] = [*others, p.finished]
    if p.finished["type"] == "Complete":
        status["completionTime"] = p.finished["lastTransitionTime"]
    return status, True
