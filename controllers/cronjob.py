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

Events on the CronJob, from ``cronjob-controller``, in upstream's words:
``SuccessfulCreate`` "Created job NAME", ``SawCompletedJob`` "Saw completed job: NAME,
condition: Complete", ``SuccessfulDelete`` "Deleted job NAME" (history and ``Replace``),
``JobAlreadyActive`` (``Forbid``), ``MissSchedule``, ``UnexpectedJob`` (an unfinished
Job of ours that ``status.active`` does not list), ``MissingJob``, ``FailedCreate``,
``UnparseableSchedule``, ``TooManyMissedTimes``.

Mirrors: pkg/controller/cronjob/cronjob_controllerv2.go (syncCronJob,
cleanupFinishedJobs, getJobFromTemplate2, nextScheduleTimeDuration) and utils.go
(mostRecentScheduleTime, getJobName).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from apimachinery import cron, errors
from apimachinery.meta import format_time
from client.cache import copy
from client.events import NORMAL, WARNING
from controllers.base import CRONJOBS, JOBS, Context, Controller, Result, Watch
from controllers.job import is_finished
from controllers.podcontrol import namespace_terminating
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


def _zone(cj: Obj, schedule: cron.Schedule | cron.Every) -> ZoneInfo | None:
    """``spec.timeZone``, else a ``TZ=`` prefix of the schedule, else UTC (``formatSchedule``)."""
    tz = (cj.get("spec") or {}).get("timeZone") or schedule.zone
    return ZoneInfo(tz) if tz else None


def most_recent_schedule(cj: Obj, now: float) -> Due:
    """The latest scheduled time in (earliest, now] (``mostRecentScheduleTime``)."""
    spec = cj.get("spec") or {}
    schedule = cron.parse(spec["schedule"])
    last = (cj.get("status") or {}).get("lastScheduleTime")
    earliest = epoch(last) if last else epoch(meta(cj).get("creationTimestamp"))
    deadline = spec.get("startingDeadlineSeconds")
    if deadline is not None:
        earliest = max(earliest, now - int(deadline))
    if isinstance(schedule, cron.Every):
        due = _every_due(schedule, earliest, now)
    else:
        due = _calendar_due(schedule, _zone(cj, schedule) or UTC, earliest, now)
    if due.scheduled is not None and deadline is not None and due.scheduled.timestamp() + int(deadline) < now:
        due.too_late = True
    return due


def _every_due(schedule: cron.Every, earliest: float, now: float) -> Due:
    """``@every d``: activations at ``t1 + k*d``, where ``t1`` is the first after
    ``earliest`` (on the second); counted, not walked, as upstream's arithmetic keeps
    ``@every`` on that grid however far behind the controller is."""
    first = math.floor(earliest) + schedule.seconds
    if now < first:
        return Due(None, _utc(first))
    k = int((now - first) // schedule.seconds)
    scheduled = first + k * schedule.seconds
    return Due(_utc(scheduled), _utc(scheduled + schedule.seconds), k + 1)


def _utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def _calendar_due(schedule: cron.Schedule, zone: tzinfo, earliest: float, now: float) -> Due:
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

    return Due(aware(scheduled), aware(next_run), missed)


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


def rfc1123z(t: datetime) -> str:
    """Go's ``time.RFC1123Z`` in UTC: ``Mon, 02 Jan 2006 15:04:05 +0000``."""
    return t.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")


class CronJobController(Controller):
    name = "cronjob"

    def __init__(self, ctx: Context, **options: Any) -> None:
        super().__init__(ctx, **options)
        self.recorder = ctx.recorder("cronjob-controller")

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
        await self._record_job_changes(cj, jobs)
        active = [j for j in jobs if not is_finished(j) and not meta(j).get("deletionTimestamp")]
        status["active"] = [object_reference(j) for j in active] or None
        succeeded = [epoch((j.get("status") or {}).get("completionTime")) for j in jobs if job_succeeded(j)]
        if succeeded:
            status["lastSuccessfulTime"] = format_time(datetime.fromtimestamp(max(succeeded), UTC))
        for job in history_to_delete(cj, jobs):
            await self._delete_job(cj, job)

        try:
            due = most_recent_schedule(cj, now)
        except cron.CronError as err:
            schedule = (cj.get("spec") or {}).get("schedule", "")
            self.recorder.eventf(
                cj, WARNING, "UnparseableSchedule", 'unparseable schedule: "%s" : %s', schedule, err
            )
            await self._write_status(cj, status)
            return None  # an unparseable schedule: nothing to do until the spec changes
        spec = cj.get("spec") or {}
        if due.missed > MAX_MISSED:
            self.recorder.eventf(
                cj,
                WARNING,
                "TooManyMissedTimes",
                "too many missed start times: %d. Set or decrease .spec.startingDeadlineSeconds or check clock skew",
                due.missed,
            )
        if due.scheduled is not None and not spec.get("suspend") and not due.too_late:
            name = job_name(meta(cj)["name"], due.scheduled)
            policy = spec.get("concurrencyPolicy", "Allow")
            exists = any(meta(j)["name"] == name for j in jobs)
            if not exists and policy == "Forbid" and active:
                self.recorder.event(
                    cj,
                    NORMAL,
                    "JobAlreadyActive",
                    "Not starting job because prior execution is running and concurrency policy is Forbid",
                )
            if not exists and not (policy == "Forbid" and active):
                if policy == "Replace":
                    for job in active:
                        await self._delete_job(cj, job)
                    status["active"] = None
                try:
                    created = await self.ctx.client.create(
                        JOBS, job_from_template(cj, due.scheduled), namespace=ns
                    )
                    status["active"] = [*(status.get("active") or []), object_reference(created)]
                    self.recorder.eventf(
                        cj, NORMAL, "SuccessfulCreate", "Created job %s", meta(created)["name"]
                    )
                except errors.StatusError as err:
                    if not errors.is_already_exists(err):
                        if not namespace_terminating(err):
                            self.recorder.eventf(cj, WARNING, "FailedCreate", "Error creating job: %s", err)
                        raise
                status["lastScheduleTime"] = format_time(due.scheduled)
        elif due.scheduled is not None and due.too_late:
            self.recorder.eventf(
                cj,
                WARNING,
                "MissSchedule",
                "Missed scheduled time to start a job: %s",
                rfc1123z(due.scheduled),
            )
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

    async def _record_job_changes(self, cj: Obj, jobs: list[Obj]) -> None:
        """Compare the Jobs with ``status.active`` as upstream's syncCronJob does, for its events."""
        listed = {ref.get("uid"): ref for ref in (cj.get("status") or {}).get("active") or []}
        ns = meta(cj).get("namespace", "")
        for job in jobs:
            uid, name = meta(job).get("uid"), meta(job)["name"]
            if uid not in listed and not is_finished(job) and not meta(job).get("deletionTimestamp"):
                # Our own create may be newer than our cache: ask the server, as upstream does.
                fresh = await self.ctx.client.get(CRONJOBS, meta(cj)["name"], namespace=ns)
                if not any(r.get("uid") == uid for r in (fresh.get("status") or {}).get("active") or []):
                    self.recorder.eventf(
                        cj,
                        WARNING,
                        "UnexpectedJob",
                        "Saw a job that the controller did not create or forgot: %s",
                        name,
                    )
            elif uid in listed and is_finished(job):
                condition = "Complete" if job_succeeded(job) else "Failed"
                self.recorder.eventf(
                    cj, NORMAL, "SawCompletedJob", "Saw completed job: %s, condition: %s", name, condition
                )
        present = {meta(j).get("uid") for j in jobs}
        for uid, ref in listed.items():
            if uid in present:
                continue
            try:
                await self.ctx.client.get(JOBS, ref.get("name", ""), namespace=ns)
            except errors.StatusError as err:
                if not errors.is_not_found(err):
                    raise
                self.recorder.eventf(
                    cj, NORMAL, "MissingJob", "Active job went missing: %s", ref.get("name", "")
                )

    async def _delete_job(self, cj: Obj, job: Obj) -> None:
        try:
            await self.ctx.client.delete(
                JOBS,
                meta(job)["name"],
                namespace=meta(job).get("namespace", ""),
                propagation_policy="Background",
            )
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                self.recorder.eventf(cj, WARNING, "FailedDelete", "Deleted job: %s", err)
                raise
            return
        self.recorder.eventf(cj, NORMAL, "SuccessfulDelete", "Deleted job %s", meta(job)["name"])
