"""Watch semantics over the wire: framing, watch-list, selector transitions, timeouts, errors."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from .conftest import Server


def _cm(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels}, "data": {}}


def _events(
    server: Server, path: str, params: dict[str, str], during: Any = None, seconds: float = 3
) -> list[dict[str, Any]]:
    """Open a watch with timeoutSeconds, run ``during`` while it is open, return every event."""
    params = {"watch": "true", "timeoutSeconds": str(int(seconds)), **params}
    out: list[dict[str, Any]] = []

    def read() -> None:
        with server.http() as http, http.stream("GET", path, params=params) as r:
            assert r.status_code == 200
            assert r.headers["content-type"] == "application/json"
            for line in r.iter_lines():
                if line:
                    out.append(json.loads(line))

    t = threading.Thread(target=read)
    t.start()
    time.sleep(0.5)
    if during:
        during()
    t.join(seconds + 10)
    assert not t.is_alive(), "the server did not end the watch at timeoutSeconds"
    return out


def test_watch_list_sends_state_then_the_end_bookmark(server: Server, ns: str) -> None:
    core = server.core()
    for name in ("a", "b"):
        core.create_namespaced_config_map(ns, _cm(name))
    events = _events(
        server,
        f"/api/v1/namespaces/{ns}/configmaps",
        {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan", "allowWatchBookmarks": "true"},
        during=lambda: core.create_namespaced_config_map(ns, _cm("c")),
        seconds=2,
    )
    kinds = [(e["type"], e["object"]["metadata"].get("name")) for e in events]
    assert kinds[:3] == [("ADDED", "a"), ("ADDED", "b"), ("BOOKMARK", None)]
    bookmark = events[2]["object"]
    assert bookmark["kind"] == "ConfigMap" and bookmark["apiVersion"] == "v1"
    assert bookmark["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert ("ADDED", "c") in kinds[3:]


def test_label_selector_transitions_are_added_and_deleted(server: Server, ns: str) -> None:
    core = server.core()
    core.create_namespaced_config_map(ns, _cm("t", tier="a"))
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    merge = "application/merge-patch+json"

    def flip() -> None:
        core.patch_namespaced_config_map(
            "t", ns, {"metadata": {"labels": {"tier": "b"}}}, _content_type=merge
        )
        core.patch_namespaced_config_map(
            "t", ns, {"metadata": {"labels": {"tier": "a"}}}, _content_type=merge
        )

    events = _events(
        server,
        f"/api/v1/namespaces/{ns}/configmaps",
        {"resourceVersion": rv, "labelSelector": "tier=b"},
        during=flip,
        seconds=2,
    )
    assert [e["type"] for e in events] == ["ADDED", "DELETED"]
    # The DELETED event carries the object as it is now (no longer matching).
    assert events[1]["object"]["metadata"]["labels"] == {"tier": "a"}


def test_deleted_event_carries_the_revision_of_the_delete(server: Server, ns: str) -> None:
    core = server.core()
    made = core.create_namespaced_config_map(ns, _cm("d"))
    rv = made.metadata.resource_version
    events = _events(
        server,
        f"/api/v1/namespaces/{ns}/configmaps",
        {"resourceVersion": rv},
        during=lambda: core.delete_namespaced_config_map("d", ns),
        seconds=2,
    )
    assert [e["type"] for e in events] == ["DELETED"]
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) > int(rv)


def test_watch_across_all_namespaces(server: Server, ns: str) -> None:
    core = server.core()
    rv = core.list_config_map_for_all_namespaces().metadata.resource_version
    events = _events(
        server,
        "/api/v1/configmaps",
        {"resourceVersion": rv},
        during=lambda: core.create_namespaced_config_map(ns, _cm("everywhere")),
        seconds=2,
    )
    assert [(e["type"], e["object"]["metadata"]["namespace"]) for e in events] == [("ADDED", ns)]


def test_single_object_watch_by_field_selector(server: Server, ns: str) -> None:
    core = server.core()
    core.create_namespaced_config_map(ns, _cm("one"))
    core.create_namespaced_config_map(ns, _cm("other"))
    events = _events(
        server, f"/api/v1/namespaces/{ns}/configmaps", {"fieldSelector": "metadata.name=one"}, seconds=1
    )
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "one")]


def test_too_large_resource_version_is_504_timeout(server: Server, ns: str) -> None:
    with server.http() as http:
        r = http.get(
            f"/api/v1/namespaces/{ns}/configmaps", params={"watch": "true", "resourceVersion": "999999999"}
        )
    assert r.status_code == 504
    status = r.json()
    assert status["reason"] == "Timeout"
    # storage/errors.go NewTooLargeResourceVersionError wraps errors.NewTimeoutError ("Timeout: ...").
    assert status["message"].startswith("Timeout: Too large resource version: 999999999, current: ")
    assert status["details"]["causes"] == [
        {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
    ]


def test_list_across_namespaces_with_kubectl(server: Server, ns: str) -> None:
    server.core().create_namespaced_config_map(ns, _cm("visible"))
    out = server.kubectl("get", "configmaps", "-A").stdout.splitlines()
    assert out[0].split() == ["NAMESPACE", "NAME", "DATA", "AGE"]
    assert any(line.split()[:3] == [ns, "visible", "0"] for line in out[1:])


def test_watch_list_validation(server: Server, ns: str) -> None:
    with server.http() as http:
        r = http.get(
            f"/api/v1/namespaces/{ns}/configmaps", params={"watch": "true", "sendInitialEvents": "true"}
        )
    assert r.status_code == 422
    assert "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan" in r.json()["message"]


def test_deletecollection_by_label(server: Server, ns: str) -> None:
    core = server.core()
    core.create_namespaced_config_map(ns, _cm("x1", group="g"))
    core.create_namespaced_config_map(ns, _cm("x2", group="g"))
    core.create_namespaced_config_map(ns, _cm("y1", group="h"))
    core.delete_collection_namespaced_config_map(ns, label_selector="group=g")
    left = [i.metadata.name for i in core.list_namespaced_config_map(ns).items]
    assert left == ["y1"]
