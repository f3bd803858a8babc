"""How a Job treats failed pods: the back-off before replacing them, and podFailurePolicy.

**Back-off.** After pods fail, the Job controller waits before creating
replacements: 10 s after one failure since the last success, then 20 s, 40 s, ...
capped (``DefaultJobPodFailureBackOff``, ``MaxJobPodFailureBackOff``), counted from
the moment the last failed pod finished. The controller keeps, per Job and in
memory, a :class:`BackoffRecord` (failures since the last success, time of the last
failure); each sync folds the newly finished pods into it, and ``manageJob`` asks
for the remaining time and, if any, requeues the Job for then instead of creating.

**podFailurePolicy.** ``spec.podFailurePolicy.rules`` are tried in order against a
failed pod; the first that matches decides:

=========  ==========================================================================
FailJob    the whole Job fails now (reason ``PodFailurePolicy``)
Ignore     the failure does not count against ``backoffLimit``
Count      the failure counts, as without a policy
FailIndex  (Indexed Jobs with ``backoffLimitPerIndex``) the index fails
=========  ==========================================================================

A rule matches on ``onExitCodes`` (a terminated container, optionally by name, with
a non-zero exit code ``In`` / ``NotIn`` the values) or on ``onPodConditions`` (a pod
condition of that type and status, e.g. ``DisruptionTarget=True`` set when a pod is
preempted or evicted).

**Failed pods.** A pod counts as failed when its phase is ``Failed`` or, unless
only failed pods are replaced (``podReplacementPolicy: Failed``, implied by a
podFailurePolicy), when it is deleted before succeeding; with ``restartPolicy:
OnFailure`` container restarts count against ``backoffLimit`` too.

Mirrors: pkg/controller/job/job_controller.go (isPodFailed, onlyReplaceFailedPods,
pastBackoffLimitOnFailure), pkg/controller/job/backoff_utils.go (newBackoffRecord,
getFinishedTime, getRemainingTimeForFailuresCount) and
pkg/controller/job/pod_failure_policy.go (matchPodFailurePolicy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from controllers.util import Obj, epoch, meta, pod_condition, pod_phase

DEFAULT_POD_FAILURE_BACKOFF = 10.0
#: Upstream's MaxJobPodFailureBackOff (10 minutes in job_controller.go today; the
#: kubernetes.io Job page still says six).
MAX_POD_FAILURE_BACKOFF = 600.0


# --- failed pods ---


def only_replace_failed_pods(job: Obj) -> bool:
    """Replace a pod only once it is Failed, not while it terminates (``onlyReplaceFailedPods``)."""
    spec = job.get("spec") or {}
    return spec.get("podReplacementPolicy") == "Failed" or spec.get("podFailurePolicy") is not None


def is_pod_failed(pod: Obj, job: Obj) -> bool:
    """Failed, or (unless only failed pods are replaced) deleted before succeeding."""
    if pod_phase(pod) == "Failed":
        return True
    if only_replace_failed_pods(job):
        return False
    return bool(meta(pod).get("deletionTimestamp")) and pod_phase(pod) != "Succeeded"


def is_pod_terminating(pod: Obj) -> bool:
    return bool(meta(pod).get("deletionTimestamp")) and pod_phase(pod) not in ("Succeeded", "Failed")


def past_backoff_limit_on_failure(job: Obj, pods: list[Obj], backoff_limit: int) -> bool:
    """restartPolicy OnFailure: container restarts of running pods count as failures."""
    if ((job.get("spec") or {}).get("template") or {}).get("spec", {}).get("restartPolicy") != "OnFailure":
        return False
    restarts = sum(
        int(cs.get("restartCount", 0))
        for p in pods
        if pod_phase(p) in ("Running", "Pending")
        for key in ("initContainerStatuses", "containerStatuses")
        for cs in (p.get("status") or {}).get(key) or []
    )
    return restarts > 0 if backoff_limit == 0 else restarts >= backoff_limit


# --- back-off -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BackoffRecord:
    failures_after_last_success: int = 0
    last_failure_time: float | None = None


def finished_time(pod: Obj) -> float:
    """When a pod finished (``getFinishedTime``): its containers' last ``finishedAt``;
    else its ``Ready=False`` transition; else its deletion time minus the grace period;
    else its creation."""
    times: list[float] = []
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        terminated = (status.get("state") or {}).get("terminated")
        if not terminated or not terminated.get("finishedAt"):
            times = []
            break
        times.append(epoch(terminated["finishedAt"]))
    if times:
        return max(times)
    ready = pod_condition(pod, "Ready")
    if ready is not None and ready.get("status") == "False" and ready.get("lastTransitionTime"):
        return epoch(ready["lastTransitionTime"])
    m = meta(pod)
    if m.get("deletionTimestamp"):
        return epoch(m["deletionTimestamp"]) - float(m.get("deletionGracePeriodSeconds") or 0)
    return epoch(m.get("creationTimestamp"))


def next_backoff_record(old: BackoffRecord, succeeded: Sequence[Obj], failed: Sequence[Obj]) -> BackoffRecord:
    """Fold newly finished pods into the record (``newBackoffRecord``)."""
    if not failed:
        return BackoffRecord() if succeeded else old
    failed_times = sorted(finished_time(p) for p in failed)
    if not succeeded:
        return BackoffRecord(old.failures_after_last_success + len(failed), failed_times[-1])
    last_success = max(finished_time(p) for p in succeeded)
    after = [t for t in failed_times if t > last_success]
    return BackoffRecord(len(after), after[-1] if after else None)


def remaining_backoff(
    record: BackoffRecord,
    now: float,
    base: float = DEFAULT_POD_FAILURE_BACKOFF,
    cap: float = MAX_POD_FAILURE_BACKOFF,
) -> float:
    """Seconds left before replacement pods may be created (0: now)."""
    if record.failures_after_last_success == 0 or record.last_failure_time is None:
        return 0.0
    delay = min(base * 2 ** (record.failures_after_last_success - 1), cap)
    return max(0.0, delay - (now - record.last_failure_time))


# --- podFailurePolicy -----------------------------------------------------------------------


def _matching_container(pod: Obj, requirement: dict[str, Any]) -> dict[str, Any] | None:
    status = pod.get("status") or {}
    name, operator = requirement.get("containerName"), requirement.get("operator")
    values = set(requirement.get("values") or [])
    for statuses in (status.get("containerStatuses"), status.get("initContainerStatuses")):
        for cs in statuses or []:
            terminated = (cs.get("state") or {}).get("terminated")
            if terminated is None or (name and name != cs.get("name")):
                continue
            code = int(terminated.get("exitCode", 0))
            if code != 0 and (
                (operator == "In" and code in values) or (operator == "NotIn" and code not in values)
            ):
                return cs
    return None


def _matching_condition(pod: Obj, patterns: list[dict[str, Any]]) -> dict[str, Any] | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        for pattern in patterns:
            if cond.get("type") == pattern.get("type") and cond.get("status") == pattern.get(
                "status", "True"
            ):
                return dict(cond)
    return None


def match_pod_failure_policy(policy: dict[str, Any] | None, pod: Obj) -> tuple[str | None, bool, str | None]:
    """(FailJob message or None, whether the failure counts, the matched action or None)."""
    if policy is None:
        return None, True, None
    ns, name = meta(pod).get("namespace", ""), meta(pod).get("name", "")
    for index, rule in enumerate(policy.get("rules") or []):
        action = rule.get("action")
        if rule.get("onExitCodes") is not None:
            cs = _matching_container(pod, rule["onExitCodes"])
            if cs is None:
                continue
            what = f"Container {cs.get('name')} for pod {ns}/{name} failed with exit code {cs['state']['terminated'].get('exitCode')}"
        elif rule.get("onPodConditions") is not None:
            cond = _matching_condition(pod, rule["onPodConditions"])
            if cond is None:
                continue
            what = f"Pod {ns}/{name} has condition {cond.get('type')}"
        else:
            continue
        if action == "Ignore":
            return None, False, action
        if action in ("FailIndex", "Count"):
            return None, True, action
        if action == "FailJob":
            return f"{what} matching FailJob rule at index {index}", True, action
    return None, True, None
