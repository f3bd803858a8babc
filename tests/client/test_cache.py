"""client/cache.py: the indexed store, tombstones and copies."""

from __future__ import annotations

from typing import Any

import pytest

from client.cache import (
    NAMESPACE_INDEX,
    DeletedFinalStateUnknown,
    Indexer,
    copy,
    deletion_handling_key,
    final_state,
    index_by_node_name,
    index_by_owner_uid,
)


def _pod(ns: str, name: str, node: str = "", owners: tuple[str, ...] = ()) -> dict[str, Any]:
    meta: dict[str, Any] = {"namespace": ns, "name": name}
    if owners:
        meta["ownerReferences"] = [{"uid": u, "name": u, "kind": "ReplicaSet"} for u in owners]
    return {"metadata": meta, "spec": {"nodeName": node} if node else {}}


def _store() -> Indexer:
    return Indexer({"node": index_by_node_name, "owner": index_by_owner_uid})


@pytest.mark.parametrize(
    ("index", "value", "expected"),
    [
        (NAMESPACE_INDEX, "a", ["a/p1", "a/p2"]),
        (NAMESPACE_INDEX, "b", ["b/p3"]),
        ("node", "n1", ["a/p1", "b/p3"]),
        ("node", "n2", []),
        ("owner", "rs1", ["a/p1", "a/p2"]),
        ("owner", "rs2", ["a/p2"]),
    ],
    ids=["ns-a", "ns-b", "node", "node-none", "owner", "second-owner"],
)
def test_by_index(index: str, value: str, expected: list[str]) -> None:
    s = _store()
    for p in (_pod("a", "p1", "n1", ("rs1",)), _pod("a", "p2", "", ("rs1", "rs2")), _pod("b", "p3", "n1")):
        s.add(p)
    assert s.index_keys(index, value) == expected
    assert [o["metadata"]["name"] for o in s.by_index(index, value)] == [k.split("/")[1] for k in expected]


def test_update_moves_the_object_between_index_values_and_delete_removes_it() -> None:
    s = _store()
    s.add(_pod("a", "p", "n1"))
    s.update(_pod("a", "p", "n2"))
    assert s.index_keys("node", "n1") == [] and s.index_keys("node", "n2") == ["a/p"]
    assert s.list_index_values("node") == ["n2"]
    s.delete(_pod("a", "p"))
    assert s.get("a/p") is None and s.list_index_values("node") == [] and len(s) == 0


def test_replace_and_late_indexer() -> None:
    s = Indexer()
    s.add(_pod("a", "gone"))
    s.replace([_pod("a", "p1", "n1"), _pod("", "cluster-scoped")])
    assert sorted(s.list_keys()) == ["a/p1", "cluster-scoped"]
    s.add_indexers({"node": index_by_node_name})  # computed for what is already stored
    assert s.index_keys("node", "n1") == ["a/p1"]
    with pytest.raises(ValueError):
        s.add_indexers({"node": index_by_node_name})
    with pytest.raises(KeyError):
        s.by_index("nope", "x")


def test_tombstones_and_copies() -> None:
    obj = _pod("a", "p")
    tomb = DeletedFinalStateUnknown("a/p", obj)
    assert final_state(tomb) is obj and final_state(obj) is obj
    assert deletion_handling_key(tomb) == deletion_handling_key(obj) == "a/p"
    s = Indexer()
    s.add(obj)
    s.delete(tomb)
    assert len(s) == 0
    c = copy(obj)
    c["metadata"]["name"] = "changed"
    assert obj["metadata"]["name"] == "p"
