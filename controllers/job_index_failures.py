"""backoffLimitPerIndex: an Indexed Job's retries counted per index, not for the whole Job.

With ``spec.backoffLimitPerIndex`` (Indexed Jobs only) each index may fail that many
times before it is given up; the other indexes go on. The count travels with the
pods, not in the Job: the controller writes it on each pod it creates, in the
annotation ``batch.kubernetes.io/job-index-failure-count`` (failures that counted)
and ``batch.kubernetes.io/job-index-ignored-failure-count`` (failures a
podFailurePolicy ``Ignore`` rule let go). A replacement gets the failed pod's counts
plus one, which is why the failed pod keeps its tracking finalizer (so it cannot
vanish) until its replacement exists: :func:`pods_with_delayed_deletion`.

An index **fails** when its failed pod already carries ``backoffLimitPerIndex``
counted failures, or matched a ``FailIndex`` rule of the podFailurePolicy. Failed
indexes are written to ``status.failedIndexes`` in the interval format of
``completedIndexes`` (``"1,3-5"``) and never run again. The Job fails with reason
``MaxFailedIndexesExceeded`` once more than ``spec.maxFailedIndexes`` indexes failed,
or ``FailedIndexes`` once every index either succeeded or failed and some failed.
Each index waits out its own back-off (10 s, 20 s, ... after its last failure); the
Job-wide back-off of job_failure.py does not apply.

Mirrors: pkg/controller/job/indexed_job_utils.go (calculateFailedIndexes, isIndexFailed,
getPodsWithDelayedDeletionPerIndex, addIndexFailureCountAnnotation,
getNewIndexFailureCounts, getIndexFailureCount) and backoff_utils.go
(getRemainingTimePerIndex).
"""

from __future__ import annotations

from collections.abc import Iterable

from controllers import job_indexes as ix
from controllers.job_failure import (
    BackoffRecord,
    finished_time,
    is_pod_failed,
    match_pod_failure_policy,
    remaining_backoff,
)
from controllers.util import Obj, meta

INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
INDEX_IGNORED_FAILURE_COUNT = "batch.kubernetes.io/job-index-ignored-failure-count"
MAX_INT32 = 2**31 - 1


def has_backoff_limit_per_index(job: Obj) -> bool:
    return (job.get("spec") or {}).get("backoffLimitPerIndex") is not None


def _annotation_count(pod: Obj, key: str) -> int:
    """An annotation as a count: 0 when missing, not a number, negative or too big."""
    try:
        value = int((meta(pod).get("annotations") or {}).get(key, "0"))
    except ValueError:
        return 0
    return value if 0 <= value <= MAX_INT32 else 0


def failure_count(pod: Obj) -> int:
    return _annotation_count(pod, INDEX_FAILURE_COUNT)


def absolute_failure_count(pod: Obj) -> int:
    return failure_count(pod) + _annotation_count(pod, INDEX_IGNORED_FAILURE_COUNT)


def is_index_failed(job: Obj, pod: Obj) -> bool:
    """Does this pod's failure give its index up (``isIndexFailed``)?"""
    if not is_pod_failed(pod, job):
        return False
    _, counts, action = match_pod_failure_policy((job.get("spec") or {}).get("podFailurePolicy"), pod)
    if action == "FailIndex":
        return True
    return counts and failure_count(pod) >= int(job["spec"]["backoffLimitPerIndex"])


def failed_indexes(job: Obj, pods: Iterable[Obj], counted: Iterable[Obj]) -> list[ix.Interval]:
    """``status.failedIndexes`` plus the indexes of ``counted`` (pods still carrying the
    tracking finalizer, with a valid index) that failed since (``calculateFailedIndexes``)."""
    completions = int(job["spec"]["completions"])
    previous = ix.parse((job.get("status") or {}).get("failedIndexes"), completions)
    return ix.with_indexes(
        previous,
        (i for p in counted if (i := ix.completion_index(p)) is not None and is_index_failed(job, p)),
    )


def pods_with_delayed_deletion(
    job: Obj,
    counted: Iterable[Obj],
    active: Iterable[Obj],
    succeeded: list[ix.Interval],
    failed: list[ix.Interval],
) -> dict[int, Obj]:
    """Per index still to be retried, its latest failed pod: it keeps its finalizer until
    its replacement exists, which inherits its failure counts
    (``getPodsWithDelayedDeletionPerIndex``)."""
    active_indexes = {i for p in active if (i := ix.completion_index(p)) is not None}
    result: dict[int, Obj] = {}
    for pod in counted:
        i = ix.completion_index(pod)
        if i is None or not is_pod_failed(pod, job):
            continue
        if ix.has(succeeded, i) or ix.has(failed, i) or i in active_indexes:
            continue
        last = result.get(i)
        if last is None or (
            absolute_failure_count(last) <= absolute_failure_count(pod)
            and finished_time(pod) >= finished_time(last)
        ):
            result[i] = pod
    return result


def replacement_annotations(job: Obj, replaced: Obj | None) -> dict[str, str]:
    """The failure-count annotations of the pod that replaces ``replaced`` in its index
    (``addIndexFailureCountAnnotation``)."""
    if replaced is None:
        return {INDEX_FAILURE_COUNT: "0"}
    counted = failure_count(replaced)
    ignored = _annotation_count(replaced, INDEX_IGNORED_FAILURE_COUNT)
    if match_pod_failure_policy((job.get("spec") or {}).get("podFailurePolicy"), replaced)[1]:
        counted += 1
    else:
        ignored += 1
    result = {INDEX_FAILURE_COUNT: str(counted)}
    if ignored > 0:
        result[INDEX_IGNORED_FAILURE_COUNT] = str(ignored)
    return result


def remaining_backoff_per_index(last_failed: Obj | None, now: float, base: float, cap: float) -> float:
    """Seconds before the index of ``last_failed`` may run again (``getRemainingTimePerIndex``)."""
    if last_failed is None:
        return 0.0
    record = BackoffRecord(absolute_failure_count(last_failed) + 1, finished_time(last_failed))
    return remaining_backoff(record, now, base, cap)


def indexes_past_backoff(
    pending: list[int], delayed: dict[int, Obj], now: float, base: float, cap: float
) -> tuple[list[int], float]:
    """The pending indexes whose own back-off has passed; if none, the shortest wait
    (``getPodCreationInfoForIndependentIndexes``)."""
    waits = {i: remaining_backoff_per_index(delayed.get(i), now, base, cap) for i in pending}
    ready = [i for i in pending if waits[i] == 0]
    return ready, 0.0 if ready or not waits else min(waits.values())
