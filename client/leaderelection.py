"""Leader election over a Lease: of several replicas, exactly one does the work.

Each candidate runs a :class:`LeaderElector` with its own identity against one
``coordination.k8s.io/v1`` Lease. The Lease's spec is the lock::

    holderIdentity: controller-manager-a     who leads
    leaseDurationSeconds: 15                 how long others must wait for a silent leader
    acquireTime / renewTime: MicroTime       when it took the lease / last renewed it
    leaseTransitions: 3                      how many times the holder changed

The algorithm (``tryAcquireOrRenew``), run every ``retry_period`` seconds:

1. GET the lease; if there is none, CREATE it naming ourselves: we lead.
2. If someone else holds it and the lease has not expired, we are a follower.
   *Expired* is judged by our own clock: the lease counts as valid until
   ``leaseDurationSeconds`` after the moment **we last saw it change**, never by
   comparing its ``renewTime`` to our wall clock (clocks of different machines disagree).
3. Otherwise UPDATE it (PUT with the resourceVersion we read) naming ourselves,
   bumping ``leaseTransitions`` if the holder changes. Two candidates racing both
   send a PUT; the API server's compare-and-swap lets one win and gives the other
   409 Conflict.

The leader keeps renewing (step 1-3 again) every ``retry_period``; if it cannot
renew for ``renew_deadline`` seconds it stops leading (``on_stopped_leading``) *before*
the lease can expire for others (``lease_duration`` > ``renew_deadline``), so two
leaders never overlap as long as clocks run at the same rate. On shutdown, with
``release_on_cancel``, the leader writes an empty ``holderIdentity`` so a follower
takes over at its next retry instead of waiting out the lease.

Defaults are client-go's: lease 15 s, renew deadline 10 s, retry 2 s (with jitter).

Mirrors: k8s.io/client-go/tools/leaderelection/leaderelection.go (Run, acquire,
renew, release, tryAcquireOrRenew, maybeReportTransition) and
tools/leaderelection/resourcelock/leaselock.go.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from apimachinery import errors
from apimachinery.meta import format_micro_time, parse_time
from client.rest import LEASES, RESTClient
from client.transport import TransportError

log = logging.getLogger(__name__)

#: leaderelection.go JitterFactor: the acquire loop waits retry_period * (1 + rand*1.2).
JITTER_FACTOR = 1.2


@dataclass(frozen=True)
class LeaderElectionRecord:
    """The lock's content, independent of where it is stored (resourcelock.LeaderElectionRecord)."""

    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    leader_transitions: int = 0


class LeaseLock:
    """A LeaderElectionRecord kept in the spec of a Lease (resourcelock.LeaseLock)."""

    def __init__(self, rest: RESTClient, namespace: str, name: str, identity: str) -> None:
        self.rest, self.namespace, self.name, self.identity = rest, namespace, name, identity
        self._lease: dict[str, Any] | None = (
            None  # as last read or written: its resourceVersion guards updates
        )

    async def get(self) -> LeaderElectionRecord:
        """Read the lease (raises NotFound if there is none)."""
        self._lease = await self.rest.get(LEASES, self.name, namespace=self.namespace)
        spec = self._lease.get("spec") or {}
        return LeaderElectionRecord(
            holder_identity=spec.get("holderIdentity") or "",
            lease_duration_seconds=spec.get("leaseDurationSeconds") or 0,
            acquire_time=parse_time(spec["acquireTime"]) if spec.get("acquireTime") else None,
            renew_time=parse_time(spec["renewTime"]) if spec.get("renewTime") else None,
            leader_transitions=spec.get("leaseTransitions") or 0,
        )

    async def create(self, record: LeaderElectionRecord) -> None:
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": self._spec(record),
        }
        self._lease = await self.rest.create(LEASES, lease, namespace=self.namespace)

    async def update(self, record: LeaderElectionRecord) -> None:
        """Write ``record`` over the lease last read; 409 Conflict if it changed since."""
        if self._lease is None:
            raise RuntimeError("lease not initialized: call get() or create() first")
        lease = {**self._lease, "spec": self._spec(record)}
        self._lease = await self.rest.update(LEASES, lease, namespace=self.namespace)

    def describe(self) -> str:
        return f"{self.namespace}/{self.name}"

    @staticmethod
    def _spec(r: LeaderElectionRecord) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "holderIdentity": r.holder_identity,
            "leaseDurationSeconds": r.lease_duration_seconds,
            "leaseTransitions": r.leader_transitions,
        }
        if r.acquire_time is not None:
            spec["acquireTime"] = format_micro_time(r.acquire_time)
        if r.renew_time is not None:
            spec["renewTime"] = format_micro_time(r.renew_time)
        return spec


class LeaderElector:
    """Campaigns for ``lock``; runs ``on_started_leading`` while it leads."""

    def __init__(
        self,
        lock: LeaseLock,
        *,
        on_started_leading: Callable[[], Coroutine[Any, Any, None]],
        on_stopped_leading: Callable[[], None] | None = None,
        on_new_leader: Callable[[str], None] | None = None,
        lease_duration: int = 15,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        release_on_cancel: bool = True,
    ) -> None:
        if lease_duration <= renew_deadline:
            raise ValueError("lease_duration must be greater than renew_deadline")
        if renew_deadline <= JITTER_FACTOR * retry_period:
            raise ValueError(f"renew_deadline must be greater than retry_period*{JITTER_FACTOR}")
        if lease_duration < 1 or retry_period <= 0:
            raise ValueError("lease_duration must be at least 1 s and retry_period positive")
        self.lock = lock
        self.identity = lock.identity
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.on_new_leader = on_new_leader
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.release_on_cancel = release_on_cancel
        # The record as we last saw it, and when (monotonic): the lease expires for us
        # lease_duration_seconds after observed_time, whatever its renewTime says.
        self.observed_record = LeaderElectionRecord()
        self.observed_time = 0.0
        self._reported_leader = ""

    def is_leader(self) -> bool:
        return self.observed_record.holder_identity == self.identity

    def get_leader(self) -> str:
        return self.observed_record.holder_identity

    async def run(self) -> None:
        """Campaign, lead while renewals succeed, then return (or, when cancelled, release)."""
        await self._acquire()
        leading = asyncio.get_running_loop().create_task(self.on_started_leading())
        try:
            await self._renew()
        finally:
            leading.cancel()
            await asyncio.gather(leading, return_exceptions=True)
            if self.release_on_cancel:
                await self.release()
            # client-go calls OnStoppedLeading even when Run ends before ever leading;
            # here it is called only after having led.
            if self.on_stopped_leading is not None:
                self.on_stopped_leading()

    async def _acquire(self) -> None:
        log.info("%s: attempting to acquire leader lease %s", self.identity, self.lock.describe())
        while True:
            acquired = await self._try_acquire_or_renew()
            self._maybe_report_transition()
            if acquired:
                log.info("%s: successfully acquired lease %s", self.identity, self.lock.describe())
                return
            await asyncio.sleep(self.retry_period * (1 + random.random() * JITTER_FACTOR))

    async def _renew(self) -> None:
        """Renew every retry_period; return once a renewal has failed for renew_deadline."""
        while True:
            renewed = await self._renew_within_deadline()
            self._maybe_report_transition()
            if not renewed:
                log.info("%s: failed to renew lease %s", self.identity, self.lock.describe())
                return
            await asyncio.sleep(self.retry_period)

    async def _renew_within_deadline(self) -> bool:
        """Try every retry_period until one try succeeds or renew_deadline passes (PollImmediateUntil)."""
        try:
            async with asyncio.timeout(self.renew_deadline):
                while True:
                    if await self._try_acquire_or_renew():
                        return True
                    await asyncio.sleep(self.retry_period)
        except TimeoutError:
            return False

    async def release(self) -> bool:
        """Give the lease up if we hold it: empty holder, so others need not wait for expiry."""
        if not self.is_leader():
            return True
        now = datetime.now(UTC)
        record = LeaderElectionRecord(
            lease_duration_seconds=1,
            acquire_time=now,
            renew_time=now,
            leader_transitions=self.observed_record.leader_transitions,
        )
        try:
            async with asyncio.timeout(self.renew_deadline):
                for attempt in range(3):
                    # Read first: a renewal cut short by cancellation may have landed on
                    # the server after all (or still be landing), leaving the
                    # resourceVersion we hold stale: 409, read again, retry.
                    current = await self.lock.get()
                    if current.holder_identity != self.identity:
                        self._observe(current)
                        return True  # someone else holds it now: nothing of ours to release
                    try:
                        await self.lock.update(record)
                        break
                    except errors.StatusError as err:
                        if not errors.is_conflict(err) or attempt == 2:
                            raise
        except (errors.StatusError, TransportError, TimeoutError) as err:
            log.warning("%s: failed to release lease %s: %s", self.identity, self.lock.describe(), err)
            return False
        self._observe(record)
        return True

    async def _try_acquire_or_renew(self) -> bool:
        now = datetime.now(UTC)
        record = LeaderElectionRecord(
            holder_identity=self.identity,
            lease_duration_seconds=self.lease_duration,
            acquire_time=now,
            renew_time=now,
        )
        # 1. Obtain the lease, or create it.
        try:
            old = await self.lock.get()
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                log.warning("%s: error retrieving lease %s: %s", self.identity, self.lock.describe(), err)
                return False
            try:
                await self.lock.create(record)
            except (errors.StatusError, TransportError) as err:
                log.info("%s: error creating lease %s: %s", self.identity, self.lock.describe(), err)
                return False
            self._observe(record)
            return True
        except TransportError as err:
            log.warning("%s: error retrieving lease %s: %s", self.identity, self.lock.describe(), err)
            return False

        # 2. Someone else holds an unexpired lease: we follow.
        if old != self.observed_record:
            self._observe(old)
        if old.holder_identity and self._lease_valid() and not self.is_leader():
            return False

        # 3. Take it over, or renew it.
        if self.is_leader():
            record = replace(record, acquire_time=old.acquire_time, leader_transitions=old.leader_transitions)
        else:
            record = replace(record, leader_transitions=old.leader_transitions + 1)
        try:
            await self.lock.update(record)
        except (errors.StatusError, TransportError) as err:
            log.info("%s: failed to update lease %s: %s", self.identity, self.lock.describe(), err)
            return False
        self._observe(record)
        return True

    def _observe(self, record: LeaderElectionRecord) -> None:
        self.observed_record = record
        self.observed_time = time.monotonic()

    def _lease_valid(self) -> bool:
        return self.observed_time + self.observed_record.lease_duration_seconds > time.monotonic()

    def _maybe_report_transition(self) -> None:
        holder = self.observed_record.holder_identity
        if holder == self._reported_leader:
            return
        self._reported_leader = holder
        if holder and self.on_new_leader is not None:
            self.on_new_leader(holder)
