"""The Job controller: run pods until enough succeed, or give up after too many fail.

A Job wants ``spec.completions`` successful pods (default 1), running at most
``spec.parallelism`` at a time (default 1). Each reconcile counts the Job's pods
(by controller reference): *active* (not finished), *succeeded*, *failed*, and then

* **fails** the Job when failures exceed ``backoffLimit`` (default 6) — conditions
  ``FailureTarget`` then ``Failed``, reason ``BackoffLimitExceeded``, message "Job has
  reached the specified backoff limit" — or when ``activeDeadlineSeconds`` have
  passed since ``startTime`` (reason ``DeadlineExceeded``), deleting active pods;
* **completes** it when ``succeeded >= completions``: conditions ``SuccessCriteriaMet``
  and ``Complete`` (reason ``CompletionsReached``), ``completionTime`` set. That is
  what ``kubectl wait --for=condition=complete job/x`` waits for;
* otherwise keeps ``min(parallelism, completions - succeeded)`` pods active,
  creating (in slow-start batches) or deleting the difference.

Events on the Job, from ``job-controller``: ``SuccessfulCreate`` / ``SuccessfulDelete``
/ ``FailedCreate`` per pod (controllers/podcontrol.py), then, once the finished status
is written, ``Completed`` "Job completed", or a Warning with the failure's reason and
message (``BackoffLimitExceeded``, ``DeadlineExceeded``): ``recordJobFinished``.

Simplifications, documented: no pod-failure backoff delay between retries (upstream
waits 10 s, 20 s, 40 s ...), no Indexed completion mode, no podFailurePolicy, no
finalizer-based tracking (counts come from the pods that exist, never decreasing
below what status already recorded).

Mirrors: pkg/controller/job/job_controller.go (syncJob, manageJob, pastBackoffLimitOnFailure,
pastActiveDeadline, newCondition) and pkg/controller/job/util (IsJobFinished).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from apimachinery import errors
from client.cache import copy
from client.events import NORMAL, WARNING
from controllers.base import JOBS, PODS, Context, Controller, Result, Watch
from controllers.expectations import Expectations
from controllers.podcontrol import PodControl
from controllers.replicaset import deletion_order, pod_from_template, pod_owner_keys, run_in_batches
from controllers.util import (
    Obj,
    epoch,
    find_condition,
    is_controlled_by,
    is_pod_active,
    is_pod_ready,
    meta,
    pod_phase,
    set_condition,
    timestamp,
)

DEFAULT_BACKOFF_LIMIT = 6


def is_finished(job: Obj) -> bool:
    conds = (job.get("status") or {}).get("conditions")
    return any(
        (c := find_condition(conds, t)) is not None and c.get("status") == "True"
        for t in ("Complete", "Failed")
    )


def _condition(ctype: str, reason: str, message: str, now: float) -> dict[str, Any]:
    t = timestamp(now)
    return {
        "type": ctype,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": t,
        "lastTransitionTime": t,
    }


@dataclass
class JobPlan:
    status: dict[str, Any]
    create: int = 0
    delete: list[Obj] = field(default_factory=list)
    requeue_after: float | None = None


def plan(job: Obj, pods: list[Obj], now: float) -> JobPlan:
    """What to do for this Job and its pods (``syncJob`` + ``manageJob``), as data."""
    spec = job.get("spec") or {}
    status = dict(job.get("status") or {})
    active = [p for p in pods if is_pod_active(p)]
    succeeded = max(int(status.get("succeeded", 0)), sum(1 for p in pods if pod_phase(p) == "Succeeded"))
    failed = max(int(status.get("failed", 0)), sum(1 for p in pods if pod_phase(p) == "Failed"))
    status.update(
        active=len(active),
        succeeded=succeeded,
        failed=failed,
        ready=sum(1 for p in active if is_pod_ready(p)),
    )
    status.setdefault("startTime", timestamp(now))
    result = JobPlan(status)
    conditions = list(status.get("conditions") or [])

    completions = spec.get("completions")
    parallelism = int(spec.get("parallelism", 1))
    backoff_limit = int(spec.get("backoffLimit", DEFAULT_BACKOFF_LIMIT))
    deadline = spec.get("activeDeadlineSeconds")

    failure: tuple[str, str] | None = None
    if failed > backoff_limit:
        failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    elif deadline is not None and epoch(status["startTime"]) + int(deadline) <= now:
        failure = ("DeadlineExceeded", "Job was active longer than specified deadline")
    elif deadline is not None:
        result.requeue_after = epoch(status["startTime"]) + int(deadline) - now

    if failure is not None:
        conditions = set_condition(conditions, _condition("FailureTarget", *failure, now))
        conditions = set_condition(conditions, _condition("Failed", *failure, now))
        result.delete = active
        result.requeue_after = None
    elif (completions is not None and succeeded >= int(completions)) or (
        completions is None and succeeded > 0 and not active
    ):
        message = "Reached expected number of succeeded pods"
        conditions = set_condition(
            conditions, _condition("SuccessCriteriaMet", "CompletionsReached", message, now)
        )
        conditions = set_condition(conditions, _condition("Complete", "CompletionsReached", message, now))
        status.setdefault("completionTime", timestamp(now))
        result.delete = active
        result.requeue_after = None
    else:
        if completions is not None:
            want = min(parallelism, int(completions) - succeeded)
        else:
            want = parallelism if succeeded == 0 else 0
        if len(active) < want:
            result.create = want - len(active)
        elif len(active) > want:
            result.delete = deletion_order(active)[: len(active) - want]
    if conditions:
        status["conditions"] = conditions
    return result


def job_pod(job: Obj) -> Obj:
    template = copy((job.get("spec") or {}).get("template") or {})
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    uid, name = meta(job)["uid"], meta(job)["name"]
    labels.update(
        {
            "batch.kubernetes.io/controller-uid": uid,
            "controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "job-name": name,
        }
    )
    return pod_from_template(job, template, "batch/v1", "Job")


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

    def watches(self) -> list[Watch]:
        return [Watch(JOBS), Watch(PODS, keys=pod_owner_keys("Job"), observe=self._observe)]

    def _observe(self, event: str, old: Obj | None, pod: Obj) -> None:
        for key in pod_owner_keys("Job")(pod):
            if event == "add":
                self.expectations.creation_observed(key)
            elif event == "delete" or meta(pod).get("deletionTimestamp"):
                self.expectations.deletion_observed(key, f"{meta(pod).get('namespace')}/{meta(pod)['name']}")

    async def reconcile(self, key: str) -> Result | None:
        job = self.cache(JOBS).get(key)
        if job is None:
            self.expectations.forget(key)
            return None
        if is_finished(job) or meta(job).get("deletionTimestamp"):
            return None
        ns = meta(job).get("namespace", "")
        pods = [p for p in self.cache(PODS).by_index("owner", meta(job)["uid"]) if is_controlled_by(p, job)]
        if not self.expectations.satisfied(key):
            return None  # the events of our last creations/deletions are still on the way
        p = plan(job, pods, self.ctx.now())
        if p.create:
            self.expectations.expect_creations(key, p.create)
            pod = job_pod(job)

            async def create() -> None:
                await self.pod_control.create_pod(ns, pod, job)

            skipped, err = await run_in_batches(p.create, create)
            for _ in range(skipped):
                self.expectations.creation_observed(key)
            if err is not None:
                raise err
        if p.delete:
            self.expectations.expect_deletions(key, [f"{ns}/{meta(v)['name']}" for v in p.delete])
            for victim in p.delete:
                try:
                    await self.pod_control.delete_pod(
                        ns, meta(victim)["name"], job, propagation_policy="Background"
                    )
                except errors.StatusError as err:
                    self.expectations.deletion_observed(key, f"{ns}/{meta(victim)['name']}")
                    if not errors.is_not_found(err):
                        raise
        if p.status != (job.get("status") or {}):
            updated = copy(job)
            updated["status"] = p.status
            await self.ctx.client.update(JOBS, updated, namespace=ns, subresource="status")
            finished = finished_condition(p.status)
            if finished is not None:  # is_finished(job) was False: it finished just now
                self._record_finished(job, finished)
        return Result(requeue_after=p.requeue_after) if p.requeue_after else None

    def _record_finished(self, job: Obj, condition: dict[str, Any]) -> None:
        if condition["type"] == "Complete":
            self.recorder.event(job, NORMAL, "Completed", "Job completed")
        else:
            self.recorder.event(job, WARNING, condition.get("reason", ""), condition.get("message", ""))
