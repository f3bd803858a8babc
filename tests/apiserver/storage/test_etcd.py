"""What only a real etcd can show: key layout, restarts, dead endpoints, foreign data.

The shared suites (test_backend.py, test_store.py) check the storage contract on
every backend; these tests check what is specific to apiserver/storage/etcd.py and
etcd_watch.py, against a real etcd process (tests/etcd_server.py) and the real
``etcdctl``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest

from apiserver.storage.errors import CorruptValueError, UnavailableError
from apiserver.storage.etcd import EtcdBackend
from apiserver.storage.interface import Event, EventType
from apiserver.storage.store import ObjectStore
from tests.etcd_server import EtcdServer, free_port

pytestmark = pytest.mark.etcd


@pytest.fixture
async def etcd(etcd_server: EtcdServer) -> AsyncIterator[EtcdBackend]:
    await etcd_server.wipe()
    backend = EtcdBackend([etcd_server.endpoint])
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()


def pod(name: str, namespace: str = "default") -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace}}


async def test_keys_are_laid_out_as_kube_apiserver_does(etcd: EtcdBackend, etcd_server: EtcdServer) -> None:
    if etcd_server.etcdctl is None:
        pytest.skip("no etcdctl binary")
    store = ObjectStore(etcd)
    await store.create("/registry/pods/default/web", pod("web"))
    await store.create("/registry/apps/deployments/kube-system/dns", {"metadata": {"name": "dns"}})
    await store.create("/registry/namespaces/default", {"metadata": {"name": "default"}})

    keys = etcd_server.ctl("get", "--prefix", "/registry/", "--keys-only").stdout.decode().split()
    assert keys == [
        "/registry/apps/deployments/kube-system/dns",
        "/registry/namespaces/default",
        "/registry/pods/default/web",
    ]
    # The value is the object's JSON, without resourceVersion (the revision is the version).
    value = etcd_server.ctl("get", "/registry/pods/default/web", "--print-value-only").stdout.strip()
    assert value == b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"default"}}'


class Collector:
    """Runs a watch in the background, keeping every event it delivers."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._grew = asyncio.Event()

    async def run(self, backend: EtcdBackend, prefix: str, start: int) -> None:
        async for batch in backend.watch(prefix, start):
            self.events.extend(batch.events)
            self._grew.set()

    async def wait_for(self, count: int) -> None:
        async with asyncio.timeout(20):
            while len(self.events) < count:
                self._grew.clear()
                await self._grew.wait()


@pytest.mark.slow
@pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])
async def test_watch_survives_an_etcd_restart_without_losing_or_repeating_events(
    etcd_server: EtcdServer, kill: bool
) -> None:
    await etcd_server.wipe()
    etcd = EtcdBackend([etcd_server.endpoint], timeout=1.0)
    await etcd.start()
    prefix = "/registry/configmaps/default/"
    start = await etcd.current_revision() + 1
    collector = Collector()
    watcher = asyncio.create_task(collector.run(etcd, prefix, start))
    try:
        written = [await etcd.create(f"{prefix}before-{i}", b"{}") for i in range(20)]
        await collector.wait_for(10)  # the watch is mid-stream

        await asyncio.to_thread(etcd_server.stop, kill=kill)
        # While etcd is down a write fails, promptly and by name; the watch keeps trying.
        t0 = time.monotonic()
        with pytest.raises(UnavailableError, match=etcd_server.endpoint):
            await etcd.create(f"{prefix}while-down", b"{}")
        assert time.monotonic() - t0 < etcd.timeout + 2
        await asyncio.to_thread(etcd_server.start)

        written += [await etcd.update(f"{prefix}before-{i}", b'{"v":2}', written[i]) for i in range(5)]
        written += [await etcd.create(f"{prefix}after-{i}", b"{}") for i in range(20)]
        written.append((await etcd.delete(f"{prefix}after-0"))[0])
        await collector.wait_for(len(written))
        await asyncio.sleep(0.5)  # room for a duplicate to show up, if there were one
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        await etcd.close()
        etcd_server.start()  # no-op if running; later tests need it

    seen = collector.events
    assert [e.revision for e in seen] == written  # each once, in order
    assert [e.type for e in seen[20:25]] == [EventType.UPDATE] * 5
    assert seen[-1].type is EventType.DELETE and seen[-1].prev_value == b"{}"


async def test_unreachable_etcd_is_unavailable_naming_the_endpoint_within_the_timeout() -> None:
    dead = f"127.0.0.1:{free_port()}"
    backend = EtcdBackend([dead], timeout=1.0, watch_retry_timeout=1.0)
    try:
        t0 = time.monotonic()
        with pytest.raises(UnavailableError) as info:
            await backend.start()
        assert time.monotonic() - t0 < 3.0
        assert dead in str(info.value) and info.value.endpoint == dead

        with pytest.raises(UnavailableError, match=dead):
            await backend.get("/registry/pods/default/x")
        t0 = time.monotonic()
        with pytest.raises(UnavailableError, match=dead):
            await anext(backend.watch("/registry/pods/", 0))
        assert time.monotonic() - t0 < 3.0
    finally:
        await backend.close()


async def test_a_dead_first_endpoint_fails_over_to_the_next(etcd_server: EtcdServer) -> None:
    await etcd_server.wipe()
    backend = EtcdBackend([f"127.0.0.1:{free_port()}", etcd_server.endpoint], timeout=2.0)
    try:
        t0 = time.monotonic()
        await backend.start()
        rev = await backend.create("/registry/pods/default/a", b"{}")
        kv, _ = await backend.get("/registry/pods/default/a")
        assert kv is not None and kv.mod_revision == rev
        batch = await anext(backend.watch("/registry/pods/", rev))
        assert [e.revision for e in batch.events] == [rev]
        assert time.monotonic() - t0 < 3.0
    finally:
        await backend.close()


@pytest.mark.parametrize(
    "value",
    [b"not json at all", b"[1, 2, 3]", b'{"kind": "Pod"}', b"\x00\xff binary"],
    ids=["garbage", "json-array", "no-metadata", "binary"],
)
async def test_a_foreign_value_is_a_corrupt_value_error_naming_the_key(
    etcd: EtcdBackend, etcd_server: EtcdServer, value: bytes
) -> None:
    if etcd_server.etcdctl is None:
        pytest.skip("no etcdctl binary")
    key = "/registry/pods/default/foreign"
    etcd_server.ctl("put", key, input=value)  # value from stdin: any bytes
    store = ObjectStore(etcd)
    with pytest.raises(CorruptValueError) as info:
        await store.get(key)
    assert info.value.key == key and key in str(info.value)
    with pytest.raises(CorruptValueError, match=key):
        await store.list("/registry/pods/")


async def test_compaction_by_another_client_is_found(etcd: EtcdBackend, etcd_server: EtcdServer) -> None:
    if etcd_server.etcdctl is None:
        pytest.skip("no etcdctl binary")
    revs = [await etcd.create(f"/registry/pods/default/p{i}", b"{}") for i in range(5)]
    etcd_server.ctl("compact", str(revs[2]))
    assert await etcd.compacted_revision() == revs[2]
    await etcd.compact(revs[3])
    assert await etcd.compacted_revision() == revs[3]


async def test_idle_watch_gets_progress_notifications(etcd: EtcdBackend) -> None:
    await etcd.create("/registry/secrets/default/elsewhere", b"{}")
    now = await etcd.current_revision()
    it = etcd.watch("/registry/pods/", now + 1)
    try:
        batch = await asyncio.wait_for(anext(it), 5.0)
    finally:
        await it.aclose()  # type: ignore[attr-defined]
    assert batch.events == [] and batch.revision >= now
