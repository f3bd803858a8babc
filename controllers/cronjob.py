"""The CronJob controller: create a Job at every scheduled time.

Each reconcile of a CronJob:

1. refreshes ``status.active`` (its unfinished Jobs) and ``lastSuccessfulTime``;
2. deletes finished Jobs beyond ``successfulJobsHistoryLimit`` (3) and
   ``failedJobsHistoryLimit`` (1), oldest first;
3. finds the most recent scheduled time not after now and after
   ``lastScheduleTime`` (or creation): none → nothing due; older than
   ``startingDeadlineSeconds`` → missed;
4. applies ``concurrencyPolicy``: ``Allow`` runs Jobs side by side, ``Forbid`` skips
   this run while one is active, ``Replace`` deletes the active ones first;
5. creates the Job ``<cronjob>-<scheduled time in minutes since the epoch>``: the
   name is a function of the time, so creating it twice is impossible (AlreadyExists);
6. asks to be reconciled again at the next scheduled time: a timer, not a poll.

``spec.suspend`` stops step 5. ``spec.timeZone`` (an IANA name) sets the zone the
schedule is read in (UTC by default).

Mirrors: pkg/controller/cronjob/cronjob_controllerv2.go (syncCronJob,
cleanupFinishedJobs, getJobFromTemplate2, nextScheduleTimeDuration) and utils.go
(mostRecentScheduleTime, getJobName).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apimachinery import errors
from apimachinery.meta import format_time
from client.cache import copy
from controllers import cron
from controllers.base import CRONJOBS, JOBS, Controller, Result, Watch
from controllers.job import is_finished
from controllers.replicaset import pod_owner_keys
from controllers.util import Obj, controller_ref, epoch, find_condition, is_controlled_by, meta

SCHEDULED_TIMESTAMP = "batch.kubernetes.io/cronjob-scheduled-timestamp"
#: Upstream gives up (and warns) beyond this many missed runs.
MAX_MISSED = 100


def job_name(cronjob: str, scheduled: datetime) -> str:
    """``<name>-<minutes since the epoch>`` (``getJobName``)."""
    return f"{cronjob}-{int(scheduled.timestamp()) // 60}"


@dataclass
class Due:
    scheduled: datetime | None  # the run to start now, if any
    next_run: datetime | None  # the run after now
    missed: int = 0
    too_late: bool = False


def _zone(cj: Obj) -> ZoneInfo | None:
    tz = (cj.get("spec") or {}).get("timeZone")
    return ZoneInfo(tz) if tz else None


def most_recent_schedule(cj: Obj, now: float) -> Due:
    """The latest scheduled time in (earliest, now] (``mostRecentScheduleTime``)."""
    spec = cj.get("spec") or {}
    schedule = cron.parse(spec["schedule"])
    zone = _zone(cj) or UTC
    last = (cj.get("status") or {}).get("lastScheduleTime")
    earliest = epoch(last) if last else epoch(meta(cj).get("creationTimestamp"))
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None:
        earliest = max(earliest, now - int(deadline))
    t = datetime.fromtimestamp(earliest, zone).replace(tzinfo=None)
    now_local = datetime.fromtimestamp(now, zone).replace(tzinfo=None)
    scheduled: datetime | None = None
    missed = 0
    while True:
        nxt = cron.next_after(schedule, t)
        if nxt is None or nxt > now_local:
            break
        scheduled, t, missed = nxt, nxt, missed + 1
        if missed > MAX_MISSED * 10:  # far behind: jump close to now
            t = now_local - timedelta(minutes=1)
    next_run = cron.next_after(schedule, now_local)

    def aware(x: datetime | None) -> datetime | None:
        return x.replace(tzinfo=zone).astimezone(UTC) if x is not None else None

    due = Due(aware(scheduled), aware(next_run), missed)
    if due.scheduled is not None and deadline is not None and due.scheduled.timestamp() + int(deadline) < now:
        due.too_late = True
    return due


def job_from_template(cj: Obj, scheduled: datetime) -> Obj:
    template = copy((cj.get("spec") or {}).get("jobTemplate") or {})
    tmeta = template.get("metadata") or {}
    annotations = dict(tmeta.get("annotations") or {})
    annotations[SCHEDULED_TIMESTAMP] = format_time(scheduled)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(meta(cj)["name"], scheduled),
            "namespace": meta(cj).get("namespace", ""),
            "labels": dict(tmeta.get("labels") or {}),
            "annotations": annotations,
            "ownerReferences": [controller_ref(cj, "batch/v1", "CronJob")],
        },
        "spec": template.get("spec") or {},
    }


def job_succeeded(job: Obj) -> bool:
    c = find_condition((job.get("status") or {}).get("conditions"), "Complete")
    return c is not None and c.get("status") == "True"


def history_to_delete(cj: Obj, jobs: list[Obj]) -> list[Obj]:
    spec = cj.get("spec") or {}
    out: list[Obj] = []
    for succeeded, field, default in (
        (True, "successfulJobsHistoryLimit", 3),
        (False, "failedJobsHistoryLimit", 1),
    ):
        limit = spec.get(field, default)
        if limit is None:
            continue
        done = [j for j in jobs if is_finished(j) and job_succeeded(j) == succeeded]
        done.sort(
            key=lambda j: (
                epoch((j.get("status") or {}).get("startTime")),
                epoch(meta(j).get("creationTimestamp")),
            )
        )
        out += done[: max(0, len(done) - int(limit))]
    return out


def object_reference(job: Obj) -> dict[str, Any]:
    m = meta(job)
    return {
        "kind": "Job",
        "namespace": m.get("namespace", ""),
        "name": m["name"],
        "uid": m.get("uid", ""),
        "apiVersion": "batch/v1",
        "resourceVersion": m.get("resourceVersion", ""),
    }


class CronJobController(Controller):
    name = "cronjob"

    def watches(self) -> list[Watch]:
        return [Watch(CRONJOBS), Watch(JOBS, keys=pod_owner_keys("CronJob"))]

    async def reconcile(self, key: str) -> Result | None:
        cj = self.cache(CRONJOBS).get(key)
        if cj is None or meta(cj).get("deletionTimestamp"):
            return None
        ns = meta(cj).get("namespace", "")
        now = self.ctx.now()
        jobs = [j for j in self.cache(JOBS).by_index("owner", meta(cj)["uid"]) if is_controlled_by(j, cj)]
        status = dict(cj.get("status") or {})
        active = [j for j in jobs if not is_finished(j) and not meta(j).get("deletionTimestamp")]
        status["active"] = [object_reference(j) for j in active] or None
        succeeded = [epoch((j.get("status") or {}).get("completionTime")) for j in jobs if job_succeeded(j)]
        if succeeded:
            status["lastSuccessfulTime"] = format_time(datetime.fromtimestamp(max(succeeded), UTC))
        for job in history_to_delete(cj, jobs):
            await self._delete_job(job)

        try:
            due = most_recent_schedule(cj, now)
        except cron.CronError:
            await self._write_status(cj, status)
            return None  # an unparseable schedule: nothing to do until the spec changes
        spec = cj.get("spec") or {}
        if due.scheduled is not None and not spec.get("suspend") and not due.too_late:
            name = job_name(meta(cj)["name"], due.scheduled)
            policy = spec.get("concurrencyPolicy", "Allow")
            exists = any(meta(j)["name"] == name for j in jobs)
            if not exists and not (policy == "Forbid" and active):
                if policy == "Replace":
                    for job in active:
                        await self._delete_job(job)
                    status["active"] = None
                try:
                    created = await self.ctx.client.create(
                        JOBS, job_from_template(cj, due.scheduled), namespace=ns
                    )
                    status["active"] = [*(status.get("active") or []), object_reference(created)]
                except errors.StatusError as err:
                    if not errors.is_already_exists(err):
                        raise
                status["lastScheduleTime"] = format_time(due.scheduled)
        elif due.scheduled is not None and due.too_late:
            status["lastScheduleTime"] = format_time(due.scheduled)  # missed: don't try again
        if status.get("active") is None:
            status.pop("active", None)
        await self._write_status(cj, status)
        if due.next_run is None:
            return None
        return Result(requeue_after=max(0.1, due.next_run.timestamp() - now + 0.1))

    async def _write_status(self, cj: Obj, status: dict[str, Any]) -> None:
        if status != (cj.get("status") or {}):
            updated = copy(cj)
            updated["status"] = status
            await self.ctx.client.update(
                CRONJOBS, updated, namespace=meta(cj).get("namespace", ""), subresource="status"
            )

    async def _delete_job(self, job: Obj) -> None:
        try:
            await self.ctx.client.delete(
                JOBS,
                meta(job)["name"],
                namespace=meta(job).get("namespace", ""),
                propagation_policy="Background",
            )
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                raise
