"""syncJob as data: from a Job and its pods, what to create, delete, count and write.

:func:`plan` is one sync of the Job controller up to the finalizer removals, with
no I/O: it decides the pods to delete and create (``manageJob``), the status to
write first (counters, the uids of newly finished pods in
``uncountedTerminatedPods``, the interim ``FailureTarget`` / ``SuccessCriteriaMet``
condition) and the pods whose tracking finalizer to remove; :func:`finish` then
computes the status once the removals are done (uids counted, terminal condition).
A suspended Job is one whose every active pod is to be deleted and none created;
the ``Suspended`` condition and the ``Suspended`` / ``Resumed`` event come with the
plan (``ensure_condition``, job_status.py).
The controller (job.py) performs the calls in between; tests drive both with a fake
clock. The conditions and the finalizer-based counting are job_status.py; the pods
manageJob creates and which active ones it deletes, job_pods.py.

Mirrors: pkg/controller/job/job_controller.go (syncJob, manageJob, jobSuspended,
pastActiveDeadline, canRemoveFinalizer, trackJobStatusAndRemoveFinalizers,
getFailJobMessage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from client.cache import copy
from controllers import job_index_failures as fails
from controllers import job_indexes as ix
from controllers.job_failure import (
    DEFAULT_POD_FAILURE_BACKOFF,
    MAX_POD_FAILURE_BACKOFF,
    BackoffRecord,
    is_pod_failed,
    is_pod_terminating,
    match_pod_failure_policy,
    next_backoff_record,
    only_replace_failed_pods,
    past_backoff_limit_on_failure,
    remaining_backoff,
)
from controllers.job_pods import active_pods_for_removal
from controllers.job_status import (
    clean_uncounted,
    ensure_condition,
    has_tracking_finalizer,
    new_condition,
    set_uncounted,
)
from controllers.job_success import REASON as SUCCESS_POLICY
from controllers.job_success import match_success_policy
from controllers.util import (
    Obj,
    epoch,
    find_condition,
    is_pod_active,
    is_pod_ready,
    meta,
    pod_phase,
    set_condition,
    timestamp,
)

DEFAULT_BACKOFF_LIMIT = 6
#: Keep .status.uncountedTerminatedPods under ~20 KB; the rest waits for the next sync.
MAX_UNCOUNTED_PODS = 500
MAX_POD_CREATE_DELETE_PER_SYNC = 500
#: syncJobBatchPeriod: the shortest requeue delay.
SYNC_JOB_BATCH_PERIOD = 1.0


@dataclass
class JobPlan:
    """One sync's decisions, as data: the pod changes, then the status writes."""

    #: the status to write before removing finalizers (counters, new uncounted uids,
    #: the interim FailureTarget / SuccessCriteriaMet condition)
    status: dict[str, Any]
    flush: bool = False
    #: one entry per pod to create: its completion index (Indexed) or None
    create: list[int | None] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)
    remove_finalizers: list[Obj] = field(default_factory=list)
    #: uids of the pods that still carry the tracking finalizer
    with_finalizer: set[str] = field(default_factory=set)
    #: the terminal condition (Complete / Failed) to add once every pod is counted
    finished: dict[str, Any] | None = None
    terminating: int = 0
    capped: bool = False  # MAX_UNCOUNTED_PODS reached: finish counting next sync
    backoff: BackoffRecord = field(default_factory=BackoffRecord)
    requeue_after: float | None = None
    #: remove the tracking finalizer of the pods in ``delete`` before deleting them
    #: (``deleteJobPods``: pods removed by manageJob are not counted as failed)
    release: bool = False
    #: per index to create: the failure-count annotations of its pod (backoffLimitPerIndex)
    annotations: dict[int, dict[str, str]] = field(default_factory=dict)
    #: (reason, message) of a Normal event to record: ``Suspended`` or ``Resumed``
    event: tuple[str, str] | None = None


def plan(
    job: Obj,
    pods: list[Obj],
    now: float,
    *,
    satisfied: bool = True,
    expected_removals: frozenset[str] | set[str] = frozenset(),
    backoff: BackoffRecord | None = None,
    backoff_base: float = DEFAULT_POD_FAILURE_BACKOFF,
    backoff_cap: float = MAX_POD_FAILURE_BACKOFF,
) -> JobPlan:
    """What to do for this Job and its pods (``syncJob`` + ``manageJob`` +
    ``trackJobStatusAndRemoveFinalizers`` up to the finalizer removals)."""
    spec = job.get("spec") or {}
    status = copy(job.get("status") or {})
    uncounted = status.setdefault("uncountedTerminatedPods", {})
    uncounted_succeeded = set(uncounted.get("succeeded") or [])
    uncounted_failed = set(uncounted.get("failed") or [])
    indexed = ix.is_indexed(job)
    completions = spec.get("completions")
    parallelism = int(spec.get("parallelism", 1))
    backoff_limit = int(spec.get("backoffLimit", DEFAULT_BACKOFF_LIMIT))
    deadline = spec.get("activeDeadlineSeconds")
    policy = spec.get("podFailurePolicy")
    suspended = bool(spec.get("suspend"))  # jobSuspended
    per_index = indexed and fails.has_backoff_limit_per_index(job)

    def uid(p: Obj) -> str:
        return str(meta(p).get("uid", ""))

    def valid_index(p: Obj) -> bool:
        i = ix.completion_index(p)
        return i is not None and i < int(completions or 0)

    def uncounted_yet(p: Obj) -> bool:  # getValidPodsWithFilter
        return (
            has_tracking_finalizer(p) and uid(p) not in expected_removals and (not indexed or valid_index(p))
        )

    active = [p for p in pods if is_pod_active(p)]
    terminating = sum(1 for p in pods if is_pod_terminating(p))
    new_succeeded = [
        p
        for p in pods
        if uncounted_yet(p) and uid(p) not in uncounted_succeeded and pod_phase(p) == "Succeeded"
    ]
    new_failed = [
        p for p in pods if uncounted_yet(p) and uid(p) not in uncounted_failed and is_pod_failed(p, job)
    ]
    succeeded = int(status.get("succeeded", 0)) + len(new_succeeded) + len(uncounted_succeeded)
    counted_failures = sum(1 for p in new_failed if match_pod_failure_policy(policy, p)[1])
    failed = int(status.get("failed", 0)) + counted_failures + len(uncounted_failed)
    if not status.get("startTime") and not suspended:  # the Job's first start
        status["startTime"] = timestamp(now)
    running = bool(status.get("startTime")) and not suspended  # the deadline's clock runs
    result = JobPlan(
        status, backoff=next_backoff_record(backoff or BackoffRecord(), new_succeeded, new_failed)
    )

    # --- is the Job done? ---------------------------------------------------------------
    finished: dict[str, Any] | None = None
    conditions = list(status.get("conditions") or [])
    met = find_condition(conditions, "SuccessCriteriaMet")
    target = find_condition(conditions, "FailureTarget")
    if met is not None and met.get("status") == "True":
        finished = met
    elif target is not None and target.get("status") == "True":
        finished = new_condition("Failed", target.get("reason", ""), target.get("message", ""), now)
    elif policy is not None:
        for p in pods:
            if is_pod_failed(p, job) and (message := match_pod_failure_policy(policy, p)[0]):
                finished = new_condition("FailureTarget", "PodFailurePolicy", message, now)
                break
    if finished is None:
        if failed > backoff_limit or past_backoff_limit_on_failure(job, pods, backoff_limit):
            finished = new_condition(
                "FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit", now
            )
        elif deadline is not None and running and epoch(status["startTime"]) + int(deadline) <= now:
            finished = new_condition(
                "FailureTarget", "DeadlineExceeded", "Job was active longer than specified deadline", now
            )
        elif deadline is not None and running:
            result.requeue_after = epoch(status["startTime"]) + int(deadline) - now

    previous_indexes: list[ix.Interval] = []
    succeeded_indexes: list[ix.Interval] = []
    failed_indexes: list[ix.Interval] | None = None  # tracked with backoffLimitPerIndex only
    delayed: dict[int, Obj] = {}  # per index, the failed pod its replacement waits for
    if indexed:  # calculateSucceededIndexes
        previous_indexes = ix.parse(status.get("completedIndexes"), int(completions or 0))
        succeeded_indexes = ix.with_indexes(
            previous_indexes,
            (
                i
                for p in pods
                if pod_phase(p) == "Succeeded" and has_tracking_finalizer(p) and valid_index(p)
                and (i := ix.completion_index(p)) is not None
            ),
        )  # fmt: skip
        succeeded = ix.total(succeeded_indexes)
        counted = [p for p in pods if uncounted_yet(p)]
        if per_index:
            failed_indexes = fails.failed_indexes(job, pods, counted)
            n_failed = ix.total(failed_indexes)
            max_failed = spec.get("maxFailedIndexes")
            if finished is not None:
                pass
            elif max_failed is not None and n_failed > int(max_failed):
                message = "Job has exceeded the specified maximal number of failed indexes"
                finished = new_condition("FailureTarget", "MaxFailedIndexesExceeded", message, now)
            elif n_failed > 0 and n_failed + succeeded >= int(completions or 0):
                finished = new_condition("FailureTarget", "FailedIndexes", "Job has failed indexes", now)
            delayed = fails.pods_with_delayed_deletion(
                job, counted, active, succeeded_indexes, failed_indexes
            )
        if finished is None and (
            message := match_success_policy(
                spec.get("successPolicy"), int(completions or 0), succeeded_indexes
            )
        ):
            finished = new_condition("SuccessCriteriaMet", SUCCESS_POLICY, message, now)

    # --- manage pods --------------------------------------------------------------------
    n_active = len(active)
    ready = sum(1 for p in active if is_pod_ready(p))
    manage = suspend_changed = False
    if finished is not None:
        result.delete = active  # deleteActivePods: the finalizers stay until counted
        if not satisfied:
            finished = None  # pods we created may not be in the cache yet
        n_active, ready = 0, 0
        terminating += len(active)
    elif manage := satisfied and not meta(job).get("deletionTimestamp"):
        want = 0  # suspended: delete every active pod, create none
        if not suspended:
            want = (
                parallelism if completions is None else max(0, min(int(completions) - succeeded, parallelism))
            )
            if completions is None and succeeded > 0:
                want = n_active
        to_delete = active_pods_for_removal(job, active, max(0, n_active - want))
        if not suspended:
            to_delete = to_delete[:MAX_POD_CREATE_DELETE_PER_SYNC]
        if to_delete:  # deleteJobPods: released first, so not counted as failed
            result.delete, result.release = to_delete, True
            n_active -= len(to_delete)
            ready -= sum(1 for p in to_delete if is_pod_ready(p))
            terminating += len(to_delete)
        elif (diff := want - (terminating if only_replace_failed_pods(job) else 0) - n_active) > 0:
            # with backoffLimitPerIndex each index waits out its own back-off instead
            wait = 0.0 if per_index else remaining_backoff(result.backoff, now, backoff_base, backoff_cap)
            diff = min(diff, MAX_POD_CREATE_DELETE_PER_SYNC)
            if wait == 0 and indexed:
                busy = ix.with_indexes(
                    ix.merge(succeeded_indexes, failed_indexes or []),
                    (i for p in pods if only_replace_failed_pods(job) and is_pod_terminating(p)
                     and (i := ix.completion_index(p)) is not None),
                )  # fmt: skip
                pending = ix.first_pending_indexes(active, busy, diff, int(completions or 0))
                if per_index:  # getPodCreationInfoForIndependentIndexes
                    pending, wait = fails.indexes_past_backoff(
                        pending, delayed, now, backoff_base, backoff_cap
                    )
                    result.annotations = {
                        i: fails.replacement_annotations(job, delayed.get(i)) for i in pending
                    }
                result.create = list(pending)
            elif wait == 0:
                result.create = [None] * diff
            if wait > 0:
                wait = max(wait, SYNC_JOB_BATCH_PERIOD)
                result.requeue_after = min(result.requeue_after or wait, wait)
            n_active += len(result.create)
    if finished is None and (
        (completions is None and succeeded > 0 and n_active == 0)
        or (completions is not None and succeeded >= int(completions) and n_active == 0)
    ):
        message = "Reached expected number of succeeded pods"
        finished = new_condition("SuccessCriteriaMet", "CompletionsReached", message, now)
    elif finished is None and manage:  # only when manageJob ran, as upstream
        if suspended:
            conditions, changed = ensure_condition(
                conditions, "Suspended", "True", "JobSuspended", "Job suspended", now
            )
            if changed:
                result.event = ("Suspended", "Job suspended")
        else:
            conditions, changed = ensure_condition(
                conditions, "Suspended", "False", "JobResumed", "Job resumed", now
            )
            if changed:
                result.event = ("Resumed", "Job resumed")
                # ActiveDeadlineSeconds counts the seconds a Job is continuously active
                status["startTime"] = timestamp(now)
        suspend_changed = changed
    if finished is not None:
        result.requeue_after = None

    # --- trackJobStatusAndRemoveFinalizers, up to the finalizer removals -----------------
    flush = (
        suspend_changed
        or status.get("active") != n_active
        or status.get("ready") != ready
        or status.get("terminating") != terminating
    )
    status.update(active=n_active, ready=ready, terminating=terminating)
    result.terminating = terminating
    result.with_finalizer = {
        uid(p) for p in pods if has_tracking_finalizer(p) and uid(p) not in expected_removals
    }
    flush = clean_uncounted(status, result.with_finalizer) or flush
    uncounted = status["uncountedTerminatedPods"]
    add_succeeded, add_failed, new_indexes = (
        list(uncounted.get("succeeded") or []),
        list(uncounted.get("failed") or []),
        [],
    )
    ordered = sorted(pods, key=lambda p: ix.completion_index(p) or 0) if indexed else pods
    for pod in ordered:
        if not has_tracking_finalizer(pod) or uid(pod) in expected_removals:
            continue  # counted in an earlier sync
        considered_failed = is_pod_failed(pod, job)
        if not (
            meta(job).get("deletionTimestamp")
            or finished is not None
            or pod_phase(pod) == "Succeeded"
            or considered_failed
        ):
            continue  # canRemoveFinalizer: still running
        if (
            finished is None
            and not meta(job).get("deletionTimestamp")
            and pod_phase(pod) != "Succeeded"
            and (i := ix.completion_index(pod)) is not None
            and uid(delayed.get(i) or {}) == uid(pod)
        ):
            continue  # its replacement inherits its failure count: keep it until then
        result.remove_finalizers.append(pod)
        if pod_phase(pod) == "Succeeded" and uid(pod) not in uncounted_failed:
            if indexed:
                i = ix.completion_index(pod)
                if i is not None and i < int(completions or 0) and not ix.has(previous_indexes, i):
                    new_indexes.append(i)
                    flush = True
            elif uid(pod) not in uncounted_succeeded:
                add_succeeded.append(uid(pod))
                flush = True
        elif considered_failed or (finished is not None and finished["type"] != "SuccessCriteriaMet"):
            # once the Job is finished (failing), every pod not yet terminated counts as failed
            if uid(pod) not in uncounted_failed and (not indexed or valid_index(pod)):
                if match_pod_failure_policy(policy, pod)[1]:
                    add_failed.append(uid(pod))
                    flush = True
        if len(new_indexes) + len(add_succeeded) + len(add_failed) >= MAX_UNCOUNTED_PODS:
            result.capped = True
            break
    set_uncounted(status, add_succeeded, add_failed)
    if indexed:
        succeeded_indexes = ix.with_indexes(succeeded_indexes, new_indexes)
        text = ix.format_intervals(succeeded_indexes)
        flush = flush or text != (status.get("completedIndexes") or "")
        status["succeeded"] = ix.total(succeeded_indexes)
        if text:
            status["completedIndexes"] = text
        else:
            status.pop("completedIndexes", None)
        if failed_indexes is not None:
            text = ix.format_intervals(failed_indexes)
            flush = flush or status.get("failedIndexes") != text
            status["failedIndexes"] = text
        elif "failedIndexes" in status:
            flush = True
            status.pop("failedIndexes")
    if finished is not None and finished["type"] == "FailureTarget":
        conditions = set_condition(conditions, finished)
        flush = True
        finished = new_condition("Failed", finished["reason"], finished["message"], now)
    if finished is not None and finished["type"] == "SuccessCriteriaMet":
        if met is None or met.get("status") != "True":
            conditions = set_condition(conditions, finished)
            flush = True
        finished = new_condition("Complete", finished["reason"], finished["message"], now)
    if conditions:
        status["conditions"] = conditions
    result.finished, result.flush = finished, flush
    return result
