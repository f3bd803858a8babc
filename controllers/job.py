"""The Job controller: run pods until enough succeed, or give up after too many fail.

A Job wants ``spec.completions`` successful pods (default 1), running at most
``spec.parallelism`` at a time (default 1); with ``completionMode: Indexed`` it
wants one successful pod per index ``0 .. completions-1`` (job_indexes.py). Each
sync (``syncJob``) looks at the Job's pods (by controller reference) and

* **suspends** it while ``spec.suspend`` is true: no pod is created, the active ones are
  deleted (their tracking finalizer removed first, so they do not count as failed),
  the condition ``Suspended`` is True (reason ``JobSuspended``, "Job suspended") and
  ``activeDeadlineSeconds`` does not run; once resumed, the condition turns False
  (``JobResumed``, "Job resumed") and ``status.startTime`` restarts at that moment;
* **fails** the Job when a failed pod matches a ``FailJob`` rule of
  ``podFailurePolicy`` (reason ``PodFailurePolicy``), when counted failures exceed
  ``backoffLimit`` (default 6; reason ``BackoffLimitExceeded``, "Job has reached the
  specified backoff limit"), or when ``activeDeadlineSeconds`` have passed since
  ``startTime`` (``DeadlineExceeded``), or, with ``backoffLimitPerIndex``
  (job_index_failures.py), when more than ``maxFailedIndexes`` indexes failed
  (``MaxFailedIndexesExceeded``) or every index finished and some failed
  (``FailedIndexes``): it deletes the active pods, writes the interim
  condition ``FailureTarget``, and ``Failed`` once no pod is terminating;
* **completes** it when ``succeeded >= completions`` (Indexed: every index succeeded)
  and nothing runs, or a ``successPolicy`` rule is met (job_success.py):
  ``SuccessCriteriaMet``, then ``Complete`` (reason ``CompletionsReached`` or
  ``SuccessPolicy``) with ``completionTime``. That is what
  ``kubectl wait --for=condition=complete job/x`` waits for;
* otherwise keeps ``min(parallelism, completions - succeeded)`` pods active (Indexed:
  one per pending index, the lowest first), creating in slow-start batches or deleting
  the difference; after failures it creates replacements only once the exponential
  back-off since the last failure has passed, requeueing itself for that moment
  (job_failure.py).

Events on the Job, from ``job-controller``: ``SuccessfulCreate`` / ``SuccessfulDelete``
/ ``FailedCreate`` per pod (controllers/podcontrol.py), ``Suspended`` "Job suspended"
and ``Resumed`` "Job resumed" when the ``Suspended`` condition changes, then, once the finished status
is written, ``Completed`` "Job completed", or a Warning with the failure's reason and
message (``BackoffLimitExceeded``, ``DeadlineExceeded``, ``PodFailurePolicy``,
``MaxFailedIndexesExceeded``, ``FailedIndexes``):
``recordJobFinished``.

**Finalizer-based tracking.** Every pod is created with the finalizer
``batch.kubernetes.io/job-tracking``, so it cannot vanish before the controller has
counted it. A finished pod is counted in two steps that survive a crash between them:
its uid goes into ``status.uncountedTerminatedPods`` (status written), its finalizer is
removed, and uids whose finalizer is gone move into ``status.succeeded`` /
``status.failed`` (status written again). Counts therefore never depend on pods
still existing: pod GC, ``kubectl delete pod`` or a TTL may remove them. Pods whose
Job is gone or finished have their finalizer removed too (the ``pod:`` keys below),
otherwise they would stay forever.

Mirrors: pkg/controller/job/job_controller.go (syncJob, manageJob,
trackJobStatusAndRemoveFinalizers, flushUncountedAndRemoveFinalizers,
cleanUncountedPodsWithoutFinalizers, enactJobFinished, syncOrphanPod,
pastBackoffLimitOnFailure, isPodFailed), tracking_utils.go (uidTrackingExpectations)
and pkg/controller/job/util (IsJobFinished).
"""

from __future__ import annotations

import asyncio
from typing import Any

from apimachinery import errors
from apimachinery.meta import object_key, split_key
from client.cache import copy
from client.events import NORMAL, WARNING
from client.rest import PatchType
from controllers.base import JOBS, PODS, Context, Controller, Result, Watch
from controllers.expectations import Expectations
from controllers.job_failure import DEFAULT_POD_FAILURE_BACKOFF, MAX_POD_FAILURE_BACKOFF, BackoffRecord
from controllers.job_pods import job_pod
from controllers.job_status import TRACKING_FINALIZER, finish, has_tracking_finalizer, is_finished
from controllers.job_sync import plan
from controllers.podcontrol import PodControl
from controllers.replicaset import pod_owner_keys, run_in_batches
from controllers.util import Obj, controller_of, find_condition, is_controlled_by, meta

__all__ = ["JobController", "is_finished", "job_pod", "plan"]

#: Key prefix of a pod whose tracking finalizer has no live Job to remove it (orphanQueue).
ORPHAN_POD = "pod:"

REMOVE_FINALIZER_PATCH = {"metadata": {"$deleteFromPrimitiveList/finalizers": [TRACKING_FINALIZER]}}


def finished_condition(status: dict[str, Any]) -> dict[str, Any] | None:
    """The ``Complete`` or ``Failed`` condition that is True, if any (``FinishedCondition``)."""
    for ctype in ("Complete", "Failed"):
        c = find_condition(status.get("conditions"), ctype)
        if c is not None and c.get("status") == "True":
            return c
    return None


class JobController(Controller):
    name = "job"

    def __init__(self, ctx: Context, **options: Any) -> None:
        super().__init__(ctx, **options)
        self.expectations = Expectations(ctx.now)
        self.recorder = ctx.recorder("job-controller")
        self.pod_control = PodControl(ctx.client, self.recorder)
        #: finalizerExpectations: per Job, uids whose finalizer removal is not yet seen
        self.removals: dict[str, set[str]] = {}
        #: podBackoffStore: per Job, failures since the last success
        self.backoffs: dict[str, BackoffRecord] = {}
        self.backoff_base = float(options.get("pod_failure_backoff", DEFAULT_POD_FAILURE_BACKOFF))
        self.backoff_cap = float(options.get("max_pod_failure_backoff", MAX_POD_FAILURE_BACKOFF))
        #: per Job, the resourceVersions our own status writes replaced: a cached Job at one
        #: of them is older than what we wrote (see reconcile)
        self.superseded: dict[str, set[str]] = {}

    def watches(self) -> list[Watch]:
        return [
            Watch(JOBS, observe=self._observe_job),
            Watch(PODS, keys=self._pod_keys, observe=self._observe),
        ]

    def _job_of(self, pod: Obj) -> Obj | None:
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "Job":
            return None
        job = self.cache(JOBS).get(f"{meta(pod).get('namespace', '')}/{ref.get('name')}")
        return job if job is not None and meta(job).get("uid") == ref.get("uid") else None

    def _pod_keys(self, pod: Obj) -> list[str]:
        keys = pod_owner_keys("Job")(pod)
        if has_tracking_finalizer(pod):
            ref = controller_of(pod)
            if ref is None or ref.get("kind") == "Job":
                job = self._job_of(pod)
                if job is None or is_finished(job):
                    keys.append(ORPHAN_POD + object_key(pod))  # no sync will remove it
        return keys

    def _observe(self, event: str, old: Obj | None, pod: Obj) -> None:
        for key in pod_owner_keys("Job")(pod):
            if event == "add" and not meta(pod).get("deletionTimestamp"):
                self.expectations.creation_observed(key)
            elif event == "delete" or meta(pod).get("deletionTimestamp"):
                self.expectations.deletion_observed(key, object_key(pod))
            if event == "delete" or not has_tracking_finalizer(pod):
                self.removals.get(key, set()).discard(str(meta(pod).get("uid")))

    def _observe_job(self, event: str, old: Obj | None, job: Obj) -> None:
        if event == "delete" or is_finished(job):  # cleanupPodFinalizers
            for pod in self.cache(PODS).by_index("owner", meta(job).get("uid", "")):
                if has_tracking_finalizer(pod):
                    self.enqueue(ORPHAN_POD + object_key(pod))

    async def reconcile(self, key: str) -> Result | None:
        if key.startswith(ORPHAN_POD):
            await self._sync_orphan_pod(key.removeprefix(ORPHAN_POD))
            return None
        job = self.cache(JOBS).get(key)
        if job is None:
            self.expectations.forget(key)
            self.removals.pop(key, None)
            self.backoffs.pop(key, None)
            self.superseded.pop(key, None)
            return None
        if is_finished(job):
            self.backoffs.pop(key, None)
            return None
        ns = meta(job).get("namespace", "")
        rv = meta(job).get("resourceVersion", "")
        if rv in self.superseded.get(key, ()):
            # The cache has not seen our last status write yet. Counting from it would
            # miss the pods we counted and released last time (their finalizer is gone),
            # and create their replacements; the Job's watch event will bring us back.
            return None
        self.superseded.pop(key, None)
        satisfied = self.expectations.satisfied(key)
        pods = [p for p in self.cache(PODS).by_index("owner", meta(job)["uid"]) if is_controlled_by(p, job)]
        p = plan(
            job,
            pods,
            self.ctx.now(),
            satisfied=satisfied,
            expected_removals=frozenset(self.removals.get(key, ())),
            backoff=self.backoffs.get(key),
            backoff_base=self.backoff_base,
            backoff_cap=self.backoff_cap,
        )
        if p.event is not None:  # Suspended / Resumed
            self.recorder.event(job, NORMAL, *p.event)
        release_err: BaseException | None = None
        victims = p.delete
        if p.release:  # deleteJobPods: remove the finalizer, then delete
            released, release_err = await self._remove_finalizers(key, ns, victims)
            victims = [v for v in victims if str(meta(v).get("uid")) in released]
        await self._delete_pods(key, job, victims)
        if release_err is not None:
            raise release_err
        await self._create_pods(key, job, p.create, p.annotations)
        if p.flush:
            job = await self._write_status(job, p.status)
            self.backoffs[key] = p.backoff
        removed, err = await self._remove_finalizers(key, ns, p.remove_finalizers)
        status, changed = finish(p.status, p, removed, self.ctx.now())
        if changed:
            await self._write_status(job, status)
        if err is not None:
            raise err  # counted what could be; retry the rest
        return Result(requeue_after=p.requeue_after) if p.requeue_after else None

    async def _write_status(self, job: Obj, status: dict[str, Any]) -> Obj:
        updated = copy(job)
        updated["status"] = status
        out = await self.ctx.client.update(
            JOBS, updated, namespace=meta(job).get("namespace", ""), subresource="status"
        )
        self.superseded.setdefault(object_key(job), set()).add(meta(job).get("resourceVersion", ""))
        if not is_finished(job) and (finished := finished_condition(status)) is not None:
            self._record_finished(job, finished)  # it finished just now
        return out if isinstance(out, dict) and out.get("metadata") else updated

    def _record_finished(self, job: Obj, condition: dict[str, Any]) -> None:
        if condition["type"] == "Complete":
            self.recorder.event(job, NORMAL, "Completed", "Job completed")
        else:
            self.recorder.event(job, WARNING, condition.get("reason", ""), condition.get("message", ""))

    async def _create_pods(
        self, key: str, job: Obj, indexes: list[int | None], annotations: dict[int, dict[str, str]]
    ) -> None:
        if not indexes:
            return
        ns = meta(job).get("namespace", "")
        self.expectations.expect_creations(key, len(indexes))
        pending = list(indexes)

        async def create() -> None:
            index = pending.pop(0)
            extra = annotations.get(index) if index is not None else None
            await self.pod_control.create_pod(ns, job_pod(job, index, extra), job)

        skipped, err = await run_in_batches(len(indexes), create)
        for _ in range(skipped):
            self.expectations.creation_observed(key)
        if err is not None:
            raise err

    async def _delete_pods(self, key: str, job: Obj, victims: list[Obj]) -> None:
        if not victims:
            return
        ns = meta(job).get("namespace", "")
        self.expectations.expect_deletions(key, [object_key(v) for v in victims])
        for victim in victims:
            try:
                await self.pod_control.delete_pod(
                    ns, meta(victim)["name"], job, propagation_policy="Background"
                )
            except errors.StatusError as err:
                self.expectations.deletion_observed(key, object_key(victim))
                if not errors.is_not_found(err):
                    raise

    async def _remove_finalizers(
        self, key: str, ns: str, pods: list[Obj]
    ) -> tuple[set[str], BaseException | None]:
        """PATCH the tracking finalizer away: the uids it is gone from (or whose pod is gone),
        and the first error."""
        if not pods:
            return set(), None
        uids = [str(meta(p).get("uid")) for p in pods]
        self.removals.setdefault(key, set()).update(uids)

        async def remove(pod: Obj) -> None:
            await self.ctx.client.patch(
                PODS, meta(pod)["name"], REMOVE_FINALIZER_PATCH, namespace=ns, patch_type=PatchType.STRATEGIC
            )

        results = await asyncio.gather(*(remove(p) for p in pods), return_exceptions=True)
        removed: set[str] = set()
        first_error: BaseException | None = None
        for uid, res in zip(uids, results, strict=True):
            if isinstance(res, errors.StatusError) and errors.is_not_found(res):
                res = None
            if isinstance(res, BaseException):
                self.removals[key].discard(uid)  # no update will come for it
                first_error = first_error or res
            else:
                removed.add(uid)
        return removed, first_error

    async def _sync_orphan_pod(self, pod_key: str) -> None:
        """Remove the tracking finalizer of a pod no Job sync will handle (``syncOrphanPod``)."""
        pod = self.cache(PODS).get(pod_key)
        if pod is None or not has_tracking_finalizer(pod):
            return
        ref = controller_of(pod)
        if ref is not None:
            if ref.get("kind") != "Job" or ref.get("apiVersion") != "batch/v1":
                return
            job = self._job_of(pod)
            if job is None:  # the cache may lag: ask the API server before letting go
                try:
                    live = await self.ctx.client.get(
                        JOBS, ref["name"], namespace=meta(pod).get("namespace", "")
                    )
                    job = live if meta(live).get("uid") == ref.get("uid") else None
                except errors.StatusError as err:
                    if not errors.is_not_found(err):
                        raise
            if job is not None and not is_finished(job):
                return  # its Job will count it
        ns, name = split_key(pod_key)
        try:
            await self.ctx.client.patch(
                PODS, name, REMOVE_FINALIZER_PATCH, namespace=ns, patch_type=PatchType.STRATEGIC
            )
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                raise
