"""The etcd backend: the storage contract over a real etcd v3 cluster.

Mirrors k8s.io/apiserver/pkg/storage/etcd3/store.go (which key-value calls each
storage verb becomes) and speaks etcd's own protocol, ``api/etcdserverpb/rpc.proto``,
through the generated stubs that the ``aetcd`` client ships (``aetcd.rpc``): its
high-level API can neither range with ``limit``/``revision`` nor report watch
progress notifications, both of which the apiserver needs.

Every verb is one etcd request, in the only shapes kube-apiserver sends:

=============  ==========================================================================
create         ``Txn(if mod_revision(key) == 0 then Put else Range)``
update         ``Txn(if mod_revision(key) == expected then Put else Range)``
delete         ``DeleteRange(prev_kv)``, or with a precondition
               ``Txn(if mod_revision(key) == expected then DeleteRange(prev_kv) else Range)``
get / list     ``Range(key, range_end, limit, revision)``: one consistent snapshot
compact        ``Compact(revision)``
watch          one ``Watch`` stream per call (``etcd_watch.py``, after etcd3/watcher.go)
=============  ==========================================================================

Keys are stored verbatim (``/registry/pods/default/x``) and values are the object
JSON, so ``etcdctl get --prefix /registry/`` shows exactly what the server wrote.

**Connections and failure.** The backend holds one gRPC channel per endpoint and
talks to one at a time, moving to the next when one is unreachable (what etcd's Go
client does with several ``--etcd-servers``). Every request has a deadline: an etcd
that cannot be reached within ``timeout`` seconds is an :class:`UnavailableError`
naming the endpoints, never a hang. Reads are retried on another endpoint freely;
a write whose connection broke after it was sent is *not* retried (it may have been
applied), it fails with :class:`UnavailableError` and the caller decides.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import aetcd
import grpc
from aetcd import rpc

from .errors import (
    CompactedError,
    ConflictError,
    KeyExistsError,
    KeyNotFoundError,
    StorageError,
    UnavailableError,
)
from .interface import KeyValue, ListResult, WatchBatch

T = TypeVar("T")

#: gRPC channel options: accept responses of any size (a list or a watch catch-up
#: easily passes gRPC's default 4 MiB; etcd's Go client accepts up to 2 GiB too),
#: reconnect quickly after etcd comes back (gRPC's default backoff grows to 120 s),
#: and ping an idle connection so a silently dead peer is noticed within ~15 s
#: (etcd refuses pings more often than every 5 s).
CHANNEL_OPTIONS = {
    "grpc.max_receive_message_length": 2**31 - 1,
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.min_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 1000,
    "grpc.keepalive_time_ms": 10_000,
    "grpc.keepalive_timeout_ms": 5_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.max_pings_without_data": 0,
}

#: A key no object ever has: reads of it only learn the store revision.
_PROBE_KEY = b"\x00"


def key_bytes(key: str) -> bytes:
    return key.encode("utf-8", "surrogateescape")


def key_str(key: bytes) -> str:
    return key.decode("utf-8", "surrogateescape")


def prefix_end(prefix: bytes) -> bytes:
    """The first key after every key starting with ``prefix`` (clientv3.GetPrefixRangeEnd)."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\x00"  # the whole key space


def to_key_value(kv: Any) -> KeyValue:
    """An ``mvccpb.KeyValue`` as the protocol's :class:`KeyValue`."""
    return KeyValue(key_str(kv.key), kv.value, kv.create_revision, kv.mod_revision)


def _mod_revision_is(key: bytes, revision: int) -> Any:
    return rpc.Compare(result=rpc.Compare.EQUAL, target=rpc.Compare.MOD, key=key, mod_revision=revision)


class Endpoint:
    """One etcd endpoint ``host:port`` and its (lazily connecting) gRPC channel."""

    def __init__(self, address: str, timeout: float) -> None:
        address = address.removeprefix("http://").removeprefix("https://").rstrip("/")
        host, sep, port = address.rpartition(":")
        if not sep or not port.isdigit():
            raise ValueError(f"etcd endpoint {address!r}: expected HOST:PORT")
        self.address = address
        self.client = aetcd.Client(host=host, port=int(port), timeout=timeout, options=CHANNEL_OPTIONS)

    async def ready(self, within: float) -> bool:
        """True once the channel is connected; False if it fails or takes over ``within`` seconds.

        A channel in TRANSIENT_FAILURE answers False at once, so a dead endpoint costs
        one refused connection, not a whole deadline, before the next one is tried.
        """
        await self.client.connect()  # builds the channel; no network yet
        channel = self.client.channel
        state = channel.get_state(try_to_connect=True)
        try:
            async with asyncio.timeout(within):
                while state is not grpc.ChannelConnectivity.READY:
                    if state is grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                        return False
                    await channel.wait_for_state_change(state)
                    state = channel.get_state(try_to_connect=True)
        except TimeoutError:
            return False
        return True

    @property
    def kv(self) -> Any:
        return self.client.kvstub

    @property
    def channel(self) -> Any:
        return self.client.channel

    async def close(self) -> None:
        await self.client.close()


class EtcdBackend:
    """:class:`~apiserver.storage.interface.Backend` over etcd at ``endpoints`` ("host:port")."""

    def __init__(
        self, endpoints: list[str], *, timeout: float = 5.0, watch_retry_timeout: float = 60.0
    ) -> None:
        if not endpoints:
            raise ValueError("EtcdBackend needs at least one endpoint")
        self.endpoints = [Endpoint(e, timeout) for e in endpoints]
        self.name = "etcd:" + ",".join(e.address for e in self.endpoints)
        #: Seconds a request may take, failover included, before UnavailableError.
        self.timeout = timeout
        #: Seconds a watch keeps trying to reconnect before it raises UnavailableError.
        self.watch_retry_timeout = watch_retry_timeout
        self.closed = False
        self._current = 0  # index of the endpoint that last answered
        self._compacted = 0  # highest compact revision seen; etcd reports it only in passing

    # --- connection management --------------------------------------------------------

    def unavailable(self, detail: str) -> UnavailableError:
        addresses = ", ".join(e.address for e in self.endpoints)
        return UnavailableError(f"etcd unavailable at {addresses}: {detail}", endpoint=addresses)

    async def connected(self, deadline: float) -> Endpoint:
        """An endpoint whose channel is READY, trying each in turn until ``deadline``."""
        loop = asyncio.get_running_loop()
        started, delay = loop.time(), 0.05
        while not self.closed:
            for _ in self.endpoints:
                endpoint = self.endpoints[self._current]
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                if await endpoint.ready(min(remaining, 1.0)):
                    return endpoint
                self._current = (self._current + 1) % len(self.endpoints)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self.unavailable(f"no endpoint answered in {loop.time() - started:.1f}s")
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.5)
        raise self.unavailable("backend closed")

    async def _call(self, call: Callable[[Any, float], Awaitable[T]], *, idempotent: bool) -> T:
        """Run ``call(kv_stub, timeout)`` on a reachable endpoint; map transport failures."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            endpoint = await self.connected(deadline)
            try:
                return await call(endpoint.kv, max(deadline - loop.time(), 0.001))
            except grpc.aio.AioRpcError as e:
                code = e.code()
                if code is grpc.StatusCode.UNAVAILABLE and idempotent and loop.time() < deadline:
                    self._current = (self._current + 1) % len(self.endpoints)
                    continue
                if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise self.unavailable(f"{endpoint.address}: {code.name}: {e.details()}") from None
                if code is grpc.StatusCode.OUT_OF_RANGE:
                    raise  # a compacted or future revision: the caller knows which one it asked
                raise StorageError(f"etcd at {endpoint.address}: {code.name}: {e.details()}") from None

    async def _range(self, request: Any) -> Any:
        """A Range, with a read at a compacted or future revision named as such."""
        try:
            return await self._call(lambda kv, t: kv.Range(request, timeout=t), idempotent=True)
        except grpc.aio.AioRpcError as e:  # OUT_OF_RANGE
            if "compacted" in (e.details() or ""):
                compacted = await self.compacted_revision()
                raise CompactedError(request.revision, compacted, key_str(request.key)) from None
            raise StorageError(
                f"revision {request.revision} is newer than the store's: {e.details()}",
                key=key_str(request.key),
                revision=request.revision,
            ) from None

    async def _txn(self, request: Any) -> Any:
        return await self._call(lambda kv, t: kv.Txn(request, timeout=t), idempotent=False)

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect, and fail now (UnavailableError) rather than on the first request."""
        self.closed = False
        await self.current_revision()

    async def close(self) -> None:
        self.closed = True
        for endpoint in self.endpoints:
            await endpoint.close()

    # --- revisions ----------------------------------------------------------------------

    async def current_revision(self) -> int:
        resp = await self._range(rpc.RangeRequest(key=_PROBE_KEY, count_only=True))
        return int(resp.header.revision)

    def note_compacted(self, revision: int) -> None:
        """Remember a compact revision etcd reported (watch responses carry it)."""
        self._compacted = max(self._compacted, revision)

    async def _readable(self, revision: int) -> bool:
        request = rpc.RangeRequest(key=_PROBE_KEY, count_only=True, revision=revision)
        try:
            await self._call(lambda kv, t: kv.Range(request, timeout=t), idempotent=True)
        except grpc.aio.AioRpcError as e:  # OUT_OF_RANGE
            if "compacted" in (e.details() or ""):
                return False
            raise StorageError(f"etcd: probing revision {revision}: {e.details()}") from None
        return True

    async def compacted_revision(self) -> int:
        """etcd's compact revision: reads below it fail, reads at it succeed (0: never).

        etcd has no call that returns it; another client may have compacted since we
        last looked. A read at revision 1 answers the common case; otherwise the
        remembered value is checked and, if stale, the boundary is found by binary
        search over read probes (about log2(revision) cheap requests).
        """
        if await self._readable(1):
            return 0
        low = max(self._compacted, 2)  # first revision that may be readable
        if await self._readable(low) and not await self._readable(low - 1):
            self._compacted = low
            return low
        high = await self.current_revision()  # always readable
        while low < high:
            mid = (low + high) // 2
            if await self._readable(mid):
                high = mid
            else:
                low = mid + 1
        self._compacted = low
        return low

    async def compact(self, revision: int) -> None:
        """Compact history before ``revision``.

        Not physical: etcd answers once the compaction is recorded and frees the space
        in the background. Already compacted that far is a no-op; a revision beyond the
        store's compacts at the current one (both as the embedded backend does).
        """
        request = rpc.CompactionRequest(revision=revision, physical=False)
        try:
            await self._call(lambda kv, t: kv.Compact(request, timeout=t), idempotent=True)
        except grpc.aio.AioRpcError as e:  # OUT_OF_RANGE
            if "future" in (e.details() or ""):
                return await self.compact(await self.current_revision())
            return  # "required revision has been compacted": nothing left to forget
        self.note_compacted(revision)

    # --- reads --------------------------------------------------------------------------

    async def get(self, key: str, revision: int = 0) -> tuple[KeyValue | None, int]:
        resp = await self._range(rpc.RangeRequest(key=key_bytes(key), revision=revision))
        kv = to_key_value(resp.kvs[0]) if resp.kvs else None
        return kv, revision or int(resp.header.revision)

    async def list(
        self, prefix: str, *, start_key: str = "", limit: int = 0, revision: int = 0, count: bool = True
    ) -> ListResult:
        """One ``Range`` over ``[max(prefix, start_key), prefix_end(prefix))``.

        etcd counts the range as part of every Range, so ``count`` changes nothing here.

        As in etcd3/store.go GetList: the returned revision is the one asked for, or
        the header revision of this read when none was (pin it for the next page).
        """
        begin = key_bytes(max(prefix, start_key))
        request = rpc.RangeRequest(
            key=begin, range_end=prefix_end(key_bytes(prefix)), limit=limit, revision=revision
        )
        resp = await self._range(request)
        return ListResult(
            kvs=[to_key_value(kv) for kv in resp.kvs],
            revision=revision or int(resp.header.revision),
            more=bool(resp.more),
            count=int(resp.count),
        )

    # --- writes -------------------------------------------------------------------------

    async def create(self, key: str, value: bytes) -> int:
        k = key_bytes(key)
        resp = await self._txn(
            rpc.TxnRequest(
                compare=[_mod_revision_is(k, 0)],
                success=[rpc.RequestOp(request_put=rpc.PutRequest(key=k, value=value))],
                failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=k))],
            )
        )
        if not resp.succeeded:
            existing = resp.responses[0].response_range.kvs
            raise KeyExistsError(key, existing[0].mod_revision if existing else 0)
        return int(resp.header.revision)

    async def update(self, key: str, value: bytes, expected_revision: int) -> int:
        k = key_bytes(key)
        compare = [_mod_revision_is(k, expected_revision)]
        if expected_revision == 0:  # "== 0" alone would mean "absent": require presence too
            compare.append(
                rpc.Compare(result=rpc.Compare.GREATER, target=rpc.Compare.VERSION, key=k, version=0)
            )
        resp = await self._txn(
            rpc.TxnRequest(
                compare=compare,
                success=[rpc.RequestOp(request_put=rpc.PutRequest(key=k, value=value))],
                failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=k))],
            )
        )
        if not resp.succeeded:
            self._raise_precondition(key, expected_revision, resp.responses[0].response_range.kvs)
        return int(resp.header.revision)

    async def delete(self, key: str, expected_revision: int = 0) -> tuple[int, KeyValue]:
        k = key_bytes(key)
        delete = rpc.DeleteRangeRequest(key=k, prev_kv=True)
        if expected_revision == 0:
            dresp = await self._call(lambda kv, t: kv.DeleteRange(delete, timeout=t), idempotent=False)
            if not dresp.deleted:
                raise KeyNotFoundError(key)
            return int(dresp.header.revision), to_key_value(dresp.prev_kvs[0])
        resp = await self._txn(
            rpc.TxnRequest(
                compare=[_mod_revision_is(k, expected_revision)],
                success=[rpc.RequestOp(request_delete_range=delete)],
                failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=k))],
            )
        )
        if not resp.succeeded:
            self._raise_precondition(key, expected_revision, resp.responses[0].response_range.kvs)
        deleted = resp.responses[0].response_delete_range
        return int(resp.header.revision), to_key_value(deleted.prev_kvs[0])

    @staticmethod
    def _raise_precondition(key: str, expected: int, current: Any) -> None:
        """A failed compare: the key is gone (NotFound) or was written since (Conflict)."""
        if not current:
            raise KeyNotFoundError(key)
        actual = int(current[0].mod_revision)
        raise ConflictError(f"{key}: mod_revision is {actual}, expected {expected}", key=key, revision=actual)

    # --- watch --------------------------------------------------------------------------

    def watch(self, prefix: str, start_revision: int) -> AsyncIterator[WatchBatch]:
        from .etcd_watch import watch

        return watch(self, prefix, start_revision)
