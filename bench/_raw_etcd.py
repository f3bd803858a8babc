"""The raw etcd ceiling: the same requests through aetcd's generated gRPC stubs, no layer above.

These are the stubs ``apiserver/storage/etcd.py`` itself calls (``client.kvstub``,
``rpc.WatchStub``), against the same throwaway etcd, with the same concurrency as the
backend side, in the same request shapes kube-apiserver sends: create =
``Txn(mod_revision == 0 ? Put)``, update = ``Range`` then ``Txn(mod_revision ==
read ? Put)``, get = ``Range``, list = ``Range(limit, revision)`` pages, watch = one
``Watch`` stream with ``prev_kv``. What the raw side skips is exactly what the
backend adds: endpoint selection, deadlines, error mapping, ``KeyValue``/``Event``
objects, JSON, and (via the cacher) fan-out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aetcd
from aetcd import rpc

from apiserver.storage.etcd import prefix_end

from ._common import rate, rate_per_writer
from ._fanout import Writer


def _mod_is(key: bytes, revision: int) -> Any:
    return rpc.Compare(result=rpc.Compare.EQUAL, target=rpc.Compare.MOD, key=key, mod_revision=revision)


class RawEtcd:
    def __init__(self, endpoint: str) -> None:
        host, port = endpoint.rsplit(":", 1)
        self.client = aetcd.Client(host=host, port=int(port), timeout=10)

    async def start(self) -> None:
        await self.client.connect()

    async def close(self) -> None:
        await self.client.close()

    async def _put_if(self, key: bytes, value: bytes, revision: int) -> int:
        resp = await self.client.kvstub.Txn(
            rpc.TxnRequest(
                compare=[_mod_is(key, revision)],
                success=[rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value))],
                failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=key))],
            )
        )
        assert resp.succeeded
        return int(resp.header.revision)

    async def _get(self, key: bytes) -> Any:
        return (await self.client.kvstub.Range(rpc.RangeRequest(key=key))).kvs[0]

    async def creates(self, n: int, workers: int, key: Callable[[int], bytes], value: bytes) -> float:
        return await rate(n, workers, lambda i: self._put_if(key(i), value, 0))

    async def cas_updates(self, n: int, workers: int, key: Callable[[int], bytes], value: bytes) -> float:
        """Writer ``w`` reads and compare-and-swaps ``key(w)``, its own key."""

        async def cas(w: int) -> None:
            kv = await self._get(key(w))
            await self._put_if(key(w), value, kv.mod_revision)

        return await rate_per_writer(n, workers, cas)

    async def gets(self, n: int, workers: int, key: Callable[[int], bytes]) -> float:
        return await rate(n, workers, lambda i: self._get(key(i)))

    async def list_all(self, prefix: bytes, limit: int) -> tuple[int, float]:
        t = time.perf_counter()
        start, revision, seen = prefix, 0, 0
        while True:
            req = rpc.RangeRequest(key=start, range_end=prefix_end(prefix), limit=limit, revision=revision)
            resp = await self.client.kvstub.Range(req)
            revision = revision or resp.header.revision
            seen += len(resp.kvs)
            if not resp.more:
                return seen, time.perf_counter() - t
            start = resp.kvs[-1].key + b"\x00"

    async def watch_latencies(self, prefix: bytes, total: int, rate: float, writer: Writer) -> list[float]:
        """One raw watch stream on ``prefix`` while ``writer`` writes; seconds from write start to event."""
        call = rpc.WatchStub(self.client.channel).Watch()
        create = rpc.WatchCreateRequest(key=prefix, range_end=prefix_end(prefix), prev_kv=True)
        await call.write(rpc.WatchRequest(create_request=create))
        created = await call.read()
        assert created.created
        receipts: list[tuple[int, float]] = []

        async def read() -> None:
            while len(receipts) < total:
                resp = await call.read()
                now = time.perf_counter()
                receipts.extend((int(ev.kv.mod_revision), now) for ev in resp.events)

        reader = asyncio.create_task(read())
        try:
            started = await writer(total, rate)
            await asyncio.wait_for(reader, 30)
        finally:
            call.cancel()
        return [t - started[rev] for rev, t in receipts]
