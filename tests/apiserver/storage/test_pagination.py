"""remainingItemCount on every page, counted once; ``more`` right without counting."""

from __future__ import annotations

import orjson

from apiserver.storage.interface import Backend
from apiserver.storage.store import ObjectStore

P = "/registry/configmaps/ns/"


async def _fill(backend: Backend, n: int) -> None:
    for i in range(n):
        name = f"c{i:02d}"
        await backend.create(P + name, orjson.dumps({"metadata": {"name": name, "namespace": "ns"}}))


async def test_remaining_item_count_on_every_page(backend: Backend) -> None:
    await _fill(backend, 10)
    store = ObjectStore(backend)
    seen, remaining, token = [], [], ""
    while True:
        page = await store.list(P, limit=3, continue_token=token)
        seen += [o["metadata"]["name"] for o in page.items]
        remaining.append(page.remaining_item_count)
        token = page.continue_token
        if not token:
            break
        if len(remaining) == 1:
            # Written after the first page: not in this snapshot (nor ever decoded).
            await backend.create(P + "zz-after-first-page", b"{}")
    assert seen == [f"c{i:02d}" for i in range(10)]
    assert remaining == [7, 4, 1, None]


async def test_more_without_count(backend: Backend) -> None:
    await _fill(backend, 4)
    full = await backend.list(P, limit=2, count=False)
    assert [kv.key for kv in full.kvs] == [P + "c00", P + "c01"]
    assert full.more is True
    last = await backend.list(P, start_key=P + "c02", limit=2, count=False)
    assert last.more is False
    counted = await backend.list(P, limit=2)
    assert counted.count == 4
