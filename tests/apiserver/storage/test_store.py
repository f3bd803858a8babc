"""Objects over the backend (``store.py``), checked on every backend.

resourceVersions, preconditions, continue tokens, predicate filtering and watch
translation are written once over the Backend protocol; these tests pin the
behaviour k8s.io/apiserver's etcd3 store tests pin, on SQLite and on etcd.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from apiserver.storage.errors import ConflictError, CorruptValueError, KeyNotFoundError
from apiserver.storage.store import (
    InvalidContinueError,
    Object,
    ObjectEvent,
    ObjectStore,
    Preconditions,
    encode_continue,
)

P = "/registry/configmaps/"


def cm(name: str, ns: str = "default", **labels: str) -> Object:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{name}", "labels": labels},
        "data": {"k": "v"},
    }


def key(name: str, ns: str = "default") -> str:
    return f"{P}{ns}/{name}"


async def next_object_events(it: AsyncIterator[ObjectEvent], n: int) -> list[ObjectEvent]:
    out: list[ObjectEvent] = []
    async with asyncio.timeout(5):
        while len(out) < n:
            ev = await anext(it)
            if ev.type != "BOOKMARK":
                out.append(ev)
    return out


# --- resourceVersion -----------------------------------------------------------------


async def test_resource_version_is_the_mod_revision_and_never_stored(store: ObjectStore) -> None:
    obj = cm("a")
    obj["metadata"]["resourceVersion"] = "12345"  # a client's value is ignored
    created = await store.create(key("a"), obj)
    rev = await store.current_revision()
    assert created["metadata"]["resourceVersion"] == str(rev)
    assert (await store.get(key("a")))["metadata"]["resourceVersion"] == str(rev)
    kv, _ = await store.backend.get(key("a"))
    assert kv is not None and "resourceVersion" not in orjson.loads(kv.value)["metadata"]
    updated = await store.guaranteed_update(key("a"), lambda o: {**(o or {}), "data": {"k": "w"}})
    assert updated["metadata"]["resourceVersion"] == str(rev + 1)


async def test_an_update_that_changes_nothing_writes_nothing(store: ObjectStore) -> None:
    created = await store.create(key("a"), cm("a"))
    rev = await store.current_revision()
    same = await store.guaranteed_update(key("a"), lambda o: o or {})
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    assert await store.current_revision() == rev


# --- preconditions -----------------------------------------------------------------

PRECONDITIONS = [
    pytest.param(Preconditions(uid="uid-a"), None, id="uid-matches"),
    pytest.param(Preconditions(uid="other"), "UID in precondition", id="uid-differs"),
    pytest.param(Preconditions(resource_version="RV"), None, id="rv-matches"),
    pytest.param(Preconditions(resource_version="1"), "ResourceVersion in precondition", id="rv-stale"),
]


def resolve(pre: Preconditions, rv: str) -> Preconditions:
    return Preconditions(pre.uid, rv if pre.resource_version == "RV" else pre.resource_version)


@pytest.mark.parametrize(("pre", "error"), PRECONDITIONS)
async def test_update_preconditions(store: ObjectStore, pre: Preconditions, error: str | None) -> None:
    await store.create(key("x"), cm("x"))  # so that resourceVersion "1" is stale
    created = await store.create(key("a"), cm("a"))
    pre = resolve(pre, created["metadata"]["resourceVersion"])
    change = lambda o: {**(o or {}), "data": {"k": "changed"}}  # noqa: E731
    if error is None:
        assert (await store.guaranteed_update(key("a"), change, preconditions=pre))["data"] == {
            "k": "changed"
        }
    else:
        with pytest.raises(ConflictError, match=error):
            await store.guaranteed_update(key("a"), change, preconditions=pre)


@pytest.mark.parametrize(("pre", "error"), PRECONDITIONS)
async def test_delete_preconditions(store: ObjectStore, pre: Preconditions, error: str | None) -> None:
    await store.create(key("x"), cm("x"))
    created = await store.create(key("a"), cm("a"))
    pre = resolve(pre, created["metadata"]["resourceVersion"])
    if error is None:
        last = await store.delete(key("a"), preconditions=pre)
        assert last["metadata"]["uid"] == "uid-a"
        with pytest.raises(KeyNotFoundError):
            await store.get(key("a"))
    else:
        with pytest.raises(ConflictError, match=error):
            await store.delete(key("a"), preconditions=pre)
        await store.get(key("a"))  # still there


async def test_concurrent_guaranteed_updates_are_all_applied(store: ObjectStore) -> None:
    await store.create(key("counter"), {**cm("counter"), "data": {"n": "0"}})

    async def bump(o: Object | None) -> Object:
        assert o is not None
        await asyncio.sleep(0)  # interleave with the other writers: forces conflicts and retries
        return {**o, "data": {"n": str(int(o["data"]["n"]) + 1)}}

    await asyncio.gather(*(store.guaranteed_update(key("counter"), bump) for _ in range(20)))
    assert (await store.get(key("counter")))["data"]["n"] == "20"


# --- lists -------------------------------------------------------------------------


async def test_continue_tokens_page_through_one_snapshot(store: ObjectStore) -> None:
    for i in range(7):
        await store.create(key(f"c{i}"), cm(f"c{i}"))
    page = await store.list(P, limit=3)
    names, pages, remaining = [o["metadata"]["name"] for o in page.items], 1, [page.remaining_item_count]
    rv = page.resource_version
    await store.create(key("c0-late"), cm("c0-late"))  # after the snapshot: never seen
    await store.delete(key("c6"))  # deleted after the snapshot: still seen
    while page.continue_token:
        page = await store.list(P, limit=3, continue_token=page.continue_token)
        assert page.resource_version == rv
        names += [o["metadata"]["name"] for o in page.items]
        remaining.append(page.remaining_item_count)
        pages += 1
    assert names == [f"c{i}" for i in range(7)]
    assert pages == 3
    assert remaining == [4, 1, None]


@pytest.mark.parametrize(
    "token",
    [
        "%%%not-base64%%%",
        base64.urlsafe_b64encode(b"not json").decode(),
        base64.urlsafe_b64encode(orjson.dumps({"v": "v2", "rv": 1, "start": "a"})).decode(),
        base64.urlsafe_b64encode(orjson.dumps({"v": "meta.k8s.io/v1", "rv": 1, "start": ""})).decode(),
        base64.urlsafe_b64encode(orjson.dumps({"v": "meta.k8s.io/v1", "rv": 0, "start": "a"})).decode(),
        base64.urlsafe_b64encode(orjson.dumps({"v": "meta.k8s.io/v1", "rv": 1, "start": "../x"})).decode(),
    ],
    ids=["not-base64", "not-json", "unknown-version", "empty-start", "zero-rv", "path-escape"],
)
async def test_an_invalid_continue_token_is_rejected(store: ObjectStore, token: str) -> None:
    with pytest.raises(InvalidContinueError):
        await store.list(P, limit=2, continue_token=token)


async def test_a_predicate_filters_pages_without_losing_matches(store: ObjectStore) -> None:
    for i in range(12):
        await store.create(key(f"o{i:02d}"), cm(f"o{i:02d}", app="web" if i % 3 == 0 else "db"))
    is_web = lambda o: o["metadata"]["labels"].get("app") == "web"  # noqa: E731
    page = await store.list(P, limit=2, predicate=is_web)
    names = [o["metadata"]["name"] for o in page.items]
    assert names == ["o00", "o03"]
    assert page.remaining_item_count is None  # unknown when filtering
    while page.continue_token:
        page = await store.list(P, limit=2, continue_token=page.continue_token, predicate=is_web)
        assert len(page.items) <= 2
        names += [o["metadata"]["name"] for o in page.items]
    assert names == ["o00", "o03", "o06", "o09"]


async def test_a_token_from_another_revision_reads_that_revision(store: ObjectStore) -> None:
    await store.create(key("a"), cm("a"))
    rev = await store.current_revision()
    await store.create(key("b"), cm("b"))
    page = await store.list(P, continue_token=encode_continue(key("a"), P, rev))
    assert [o["metadata"]["name"] for o in page.items] == ["a"]


# --- corrupt data ------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [b"\x00\xffnot json", b"[1, 2, 3]", b'{"kind": "ConfigMap"}', b""],
    ids=["garbage", "not-an-object", "no-metadata", "empty"],
)
async def test_a_corrupt_value_is_a_named_error(store: ObjectStore, value: bytes) -> None:
    await store.create(key("good"), cm("good"))
    await store.backend.create(key("bad"), value)
    with pytest.raises(CorruptValueError) as err:
        await store.get(key("bad"))
    assert err.value.key == key("bad") and key("bad") in str(err.value)
    with pytest.raises(CorruptValueError, match=key("bad")):
        await store.list(P)
    assert (await store.get(key("good")))["metadata"]["name"] == "good"  # the store still works


# --- watch -------------------------------------------------------------------------


async def test_watch_applies_predicate_transitions(store: ObjectStore) -> None:
    """An object entering the selection is ADDED, leaving it is DELETED (etcd3/watcher.go)."""
    await store.create(key("seed"), cm("seed"))  # resourceVersion 0 would mean "from now on"
    rv = await store.current_revision()
    is_web = lambda o: o["metadata"]["labels"].get("app") == "web"  # noqa: E731
    it = store.watch(P, rv, predicate=is_web)

    def relabel(app: str) -> Any:
        return lambda o: {**o, "metadata": {**o["metadata"], "labels": {"app": app}}}

    try:
        await store.create(key("a"), cm("a", app="db"))  # not selected: nothing
        await store.guaranteed_update(key("a"), relabel("web"))  # enters: ADDED
        await store.guaranteed_update(key("a"), lambda o: {**(o or {}), "data": {"k": "2"}})  # MODIFIED
        await store.guaranteed_update(key("a"), relabel("db"))  # leaves: DELETED
        await store.create(key("b"), cm("b", app="web"))  # ADDED
        last = await store.delete(key("b"))  # DELETED
        events = await next_object_events(it, 5)
    finally:
        await it.aclose()  # type: ignore[attr-defined]
    assert [(e.type, e.object["metadata"]["name"]) for e in events] == [
        ("ADDED", "a"),
        ("MODIFIED", "a"),
        ("DELETED", "a"),
        ("ADDED", "b"),
        ("DELETED", "b"),
    ]
    deleted = events[-1]
    # The DELETED object is the last state, stamped with the revision of the delete.
    assert deleted.object["metadata"]["resourceVersion"] == str(deleted.revision)
    assert deleted.revision == int(last["metadata"]["resourceVersion"]) + 1
    assert all(e.object["metadata"]["resourceVersion"] == str(e.revision) for e in events)


async def test_watch_from_a_resource_version_is_exclusive(store: ObjectStore) -> None:
    a = await store.create(key("a"), cm("a"))
    b = await store.create(key("b"), cm("b"))
    it = store.watch(P, int(a["metadata"]["resourceVersion"]))
    try:
        (ev,) = await next_object_events(it, 1)
    finally:
        await it.aclose()  # type: ignore[attr-defined]
    assert (ev.type, ev.object["metadata"]["name"], ev.revision) == (
        "ADDED",
        "b",
        int(b["metadata"]["resourceVersion"]),
    )
