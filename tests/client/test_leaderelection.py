"""client/leaderelection.py: two candidates racing for one Lease on the real API server.

Durations are short (lease 2 s, renew deadline 1.5 s, retry 0.2 s) so failover is
measured in seconds; the assertions bound how long each hand-over may take.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from apimachinery.errors import StatusError, is_conflict
from client.leaderelection import LeaderElector, LeaseLock
from client.rest import LEASES, RESTClient

LEASE, RENEW, RETRY = 2, 1.5, 0.2
MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class Candidate:
    def __init__(self, rest: RESTClient, ns: str, identity: str, *, release_on_cancel: bool = True) -> None:
        self.identity = identity
        self.leading = asyncio.Event()
        self.stopped = asyncio.Event()
        self.leaders_seen: list[str] = []
        self.elector = LeaderElector(
            LeaseLock(rest, ns, "ctrl", identity),
            on_started_leading=self._lead,
            on_stopped_leading=self.stopped.set,
            on_new_leader=self.leaders_seen.append,
            lease_duration=LEASE,
            renew_deadline=RENEW,
            retry_period=RETRY,
            release_on_cancel=release_on_cancel,
        )
        self.task = asyncio.create_task(self.elector.run())

    async def _lead(self) -> None:
        self.leading.set()
        await asyncio.Event().wait()  # "work" until leadership is lost

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def _first_leader(a: Candidate, b: Candidate) -> tuple[Candidate, Candidate]:
    async with asyncio.timeout(10):
        await asyncio.wait(
            [asyncio.create_task(a.leading.wait()), asyncio.create_task(b.leading.wait())],
            return_when=asyncio.FIRST_COMPLETED,
        )
    return (a, b) if a.leading.is_set() else (b, a)


async def test_only_one_leads_and_the_lease_records_it(rest: RESTClient, ns: str) -> None:
    a, b = Candidate(rest, ns, "a"), Candidate(rest, ns, "b")
    try:
        leader, follower = await _first_leader(a, b)
        await asyncio.sleep(3 * RETRY)  # several renewals: the follower must stay a follower
        assert not follower.leading.is_set()
        lease = await rest.get(LEASES, "ctrl", namespace=ns)
        spec = lease["spec"]
        assert spec["holderIdentity"] == leader.identity
        assert spec["leaseDurationSeconds"] == LEASE
        assert MICRO_TIME.match(spec["renewTime"]) and MICRO_TIME.match(spec["acquireTime"])
        assert follower.leaders_seen == [leader.identity] and leader.leaders_seen == [leader.identity]
    finally:
        await a.stop()
        await b.stop()


@pytest.mark.parametrize(
    ("release", "within"),
    [(False, LEASE + 3 * RETRY * 2.2 + 1), (True, 3 * RETRY * 2.2 + 0.5)],
    ids=["crash-waits-for-expiry", "release-hands-over-quickly"],
)
async def test_failover(rest: RESTClient, ns: str, release: bool, within: float) -> None:
    a = Candidate(rest, ns, "a", release_on_cancel=release)
    b = Candidate(rest, ns, "b", release_on_cancel=release)
    try:
        leader, follower = await _first_leader(a, b)
        before = (await rest.get(LEASES, "ctrl", namespace=ns))["spec"].get("leaseTransitions", 0)
        loop = asyncio.get_running_loop()
        stopped_at = loop.time()
        await leader.stop()  # without release: a crash, the lease is simply no longer renewed
        assert leader.stopped.is_set(), "on_stopped_leading runs once leading ends"
        async with asyncio.timeout(within):
            await follower.leading.wait()
        took = loop.time() - stopped_at
        if not release:
            assert took >= LEASE - 0.5, "a silent leader's lease must be waited out"
        lease = (await rest.get(LEASES, "ctrl", namespace=ns))["spec"]
        assert lease["holderIdentity"] == follower.identity
        assert lease["leaseTransitions"] == before + 1
        assert follower.leaders_seen[-1] == follower.identity
    finally:
        await a.stop()
        await b.stop()


async def test_a_leader_that_cannot_renew_stops_leading(rest: RESTClient, ns: str) -> None:
    a = Candidate(rest, ns, "a")
    try:
        async with asyncio.timeout(10):
            await a.leading.wait()
        # Someone else writes the lease: a's next renewal sees another holder with a
        # valid lease, fails until the renew deadline, and a steps down.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        # Keep the lease fresh so it stays valid for a, until a steps down (bounded).
        while not a.stopped.is_set() and loop.time() < deadline:
            lease = await rest.get(LEASES, "ctrl", namespace=ns)
            lease["spec"]["holderIdentity"] = "intruder"
            try:
                await rest.update(LEASES, lease, namespace=ns)
            except StatusError as err:
                if not is_conflict(err):
                    raise
                continue  # a renewed in between: read again at once, as any client would
            await asyncio.sleep(RETRY)
        async with asyncio.timeout(RENEW + 2):
            await a.stopped.wait()
        assert not a.elector.is_leader() and a.elector.get_leader() == "intruder"
    finally:
        await a.stop()


def test_config_is_validated(rest: RESTClient) -> None:
    lock = LeaseLock(rest, "default", "x", "me")

    async def noop() -> None:
        pass

    for kwargs in ({"lease_duration": 5, "renew_deadline": 5}, {"renew_deadline": 2.0, "retry_period": 2.0}):
        with pytest.raises(ValueError):
            LeaderElector(lock, on_started_leading=noop, **kwargs)
