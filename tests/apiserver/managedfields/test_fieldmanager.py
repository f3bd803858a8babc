"""Ownership through a sequence of writes: create, update, apply, conflicts, force."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from apimachinery.errors import StatusError
from apiserver.managedfields import Target, apply, track_create, track_update
from apiserver.managedfields.fieldmanager import LAST_APPLIED
from apiserver.managedfields.managers import MAX_UPDATE_MANAGERS

CM = Target("", "v1", "ConfigMap")
POD_STATUS = Target("", "v1", "Pod", "status")


def cm(meta: dict[str, Any] | None = None, /, **data: str) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", **(meta or {})}}
    if data:
        obj["data"] = data
    return obj


def owners(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        (e["manager"] + "/" + e["operation"]): e["fieldsV1"] for e in obj["metadata"].get("managedFields", [])
    }


def created(**data: str) -> dict[str, Any]:
    obj = cm(**data)
    track_create(obj, "creator", CM)
    return obj


def updated(old: dict[str, Any], manager: str, **data: str) -> dict[str, Any]:
    new = copy.deepcopy(old)
    new["data"] = data
    track_update(old, new, manager, CM)
    return new


def test_create_owns_everything_set() -> None:
    obj = cm({"labels": {"app": "x"}, "uid": "u"}, a="1")
    track_create(obj, "creator", CM)
    [entry] = obj["metadata"]["managedFields"]
    assert entry["manager"] == "creator" and entry["operation"] == "Update" and entry["apiVersion"] == "v1"
    assert entry["fieldsV1"] == {
        "f:data": {".": {}, "f:a": {}},
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
    }


def test_update_moves_changed_fields() -> None:
    obj = updated(created(a="1", b="1"), "editor", a="2", b="1")
    assert owners(obj) == {
        "creator/Update": {"f:data": {".": {}, "f:b": {}}},
        "editor/Update": {"f:data": {"f:a": {}}},
    }


def test_manager_owning_nothing_disappears() -> None:
    obj = updated(created(a="1"), "editor", a="2")
    obj = updated(obj, "editor", b="3")  # removes a: nobody owns it any more
    assert owners(obj) == {"creator/Update": {"f:data": {}}, "editor/Update": {"f:data": {"f:b": {}}}}


def test_untracked_object_stays_untracked_by_updates() -> None:
    old = cm(a="1")
    new = updated(old, "editor", a="2")
    assert "managedFields" not in new["metadata"]


def test_request_can_reset_managed_fields() -> None:
    old = created(a="1")
    new = copy.deepcopy(old)
    new["metadata"]["managedFields"] = []
    track_update(old, new, "editor", CM)
    assert "managedFields" not in new["metadata"]


def test_status_writes_record_the_subresource() -> None:
    old: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"nodeName": "n"},
        "status": {"phase": "Pending"},  # set by the server at create, owned by nobody
    }
    track_create(old, "creator", Target("", "v1", "Pod"))
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Running"}
    track_update(old, new, "kubelet", POD_STATUS)
    entry = next(e for e in new["metadata"]["managedFields"] if e["manager"] == "kubelet")
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:phase": {}}}


def test_updaters_are_capped() -> None:
    obj, data = created(a="0"), {"a": "0"}
    for i in range(MAX_UPDATE_MANAGERS + 3):
        data[f"k{i}"] = "v"
        obj = updated(obj, f"m{i}", **data)
    entries = obj["metadata"]["managedFields"]
    assert len(entries) == MAX_UPDATE_MANAGERS
    assert "ancient-changes" in {e["manager"] for e in entries}


# --- apply ---------------------------------------------------------------------------


def test_apply_creates_and_owns_its_configuration() -> None:
    out = apply(cm(), cm(a="1"), "a", CM, force=False)
    assert out["data"] == {"a": "1"}
    assert owners(out) == {"a/Apply": {"f:data": {"f:a": {}}}}


def test_apply_conflicts_with_an_updater() -> None:
    with pytest.raises(StatusError) as e:
        apply(created(a="1"), cm(a="2"), "a", CM, force=False)
    assert (
        e.value.status["message"] == 'Apply failed with 1 conflict: conflict with "creator" using v1: .data.a'
    )
    assert e.value.code == 409


def test_apply_same_value_is_shared_not_conflicting() -> None:
    out = apply(created(a="1"), cm(a="1"), "a", CM, force=False)
    assert owners(out)["a/Apply"] == {"f:data": {"f:a": {}}}
    assert owners(out)["creator/Update"] == {"f:data": {".": {}, "f:a": {}}}


def test_apply_many_conflicts_message() -> None:
    live = apply(cm(), cm(a="1", b="1"), "x", CM, force=False)
    with pytest.raises(StatusError) as e:
        apply(live, cm(a="2", b="2"), "y", CM, force=False)
    assert (
        e.value.status["message"]
        == 'Apply failed with 2 conflicts: conflicts with "x":\n- .data.a\n- .data.b'
    )
    assert [c["field"] for c in e.value.status["details"]["causes"]] == [".data.a", ".data.b"]


def test_force_moves_ownership() -> None:
    live = apply(cm(), cm(a="1", b="1"), "x", CM, force=False)
    out = apply(live, cm(a="2"), "y", CM, force=True)
    assert out["data"] == {"a": "2", "b": "1"}
    assert owners(out) == {"x/Apply": {"f:data": {"f:b": {}}}, "y/Apply": {"f:data": {"f:a": {}}}}


def test_dropped_field_is_removed_unless_someone_else_owns_it() -> None:
    live = apply(cm(), cm(a="1", b="1"), "x", CM, force=False)
    live = apply(live, cm(b="1"), "y", CM, force=False)  # y co-owns b
    out = apply(live, cm(), "x", CM, force=False)  # x drops a and b
    assert out["data"] == {"b": "1"}


def test_first_apply_on_untracked_object() -> None:
    out = apply(cm(a="1"), cm(a="2"), "a", CM, force=True)
    assert owners(out) == {
        "a/Apply": {"f:data": {"f:a": {}}},
        "before-first-apply/Update": {"f:data": {}},  # it keeps the map, loses the forced key
    }
    with pytest.raises(StatusError):
        apply(cm(a="1"), cm(a="2"), "a", CM, force=False)


def test_kubectl_takes_over_client_side_applied_fields() -> None:
    config = cm(a="1")
    live = cm({"annotations": {LAST_APPLIED: json.dumps(config)}}, a="1")
    track_create(live, "kubectl-client-side-apply", CM)
    with pytest.raises(StatusError):
        apply(live, cm(a="2"), "someone", CM, force=False)
    out = apply(live, cm(a="2"), "kubectl", CM, force=False)
    assert out["data"] == {"a": "2"}
    assert json.loads(out["metadata"]["annotations"][LAST_APPLIED])["data"] == {"a": "2"}
