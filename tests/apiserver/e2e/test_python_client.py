"""The official kubernetes Python client against the real server: CRUD, lists, watches, errors."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from .conftest import Server


def _cm(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels},
        "data": {"k": "v"},
    }


def test_crud_round_trip(server: Server, ns: str) -> None:
    core = server.core()
    created = core.create_namespaced_config_map(ns, _cm("a", app="x"))
    assert created.metadata.resource_version
    assert created.metadata.uid
    got = core.read_namespaced_config_map("a", ns)
    assert got.data == {"k": "v"}
    got.data["k"] = "w"
    updated = core.replace_namespaced_config_map("a", ns, got)
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    patched = core.patch_namespaced_config_map("a", ns, {"metadata": {"labels": {"more": "y"}}})
    assert patched.metadata.labels == {"app": "x", "more": "y"}
    core.delete_namespaced_config_map("a", ns)
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("a", ns)
    assert e.value.status == 404


def test_update_with_stale_resource_version_conflicts(server: Server, ns: str) -> None:
    core = server.core()
    first = core.create_namespaced_config_map(ns, _cm("b"))
    core.patch_namespaced_config_map("b", ns, {"data": {"k": "2"}})
    first.data = {"k": "3"}
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_config_map("b", ns, first)
    assert e.value.status == 409
    assert (
        "the object has been modified; please apply your changes to the latest version and try again"
        in e.value.body
    )


def test_generate_name(server: Server, ns: str) -> None:
    core = server.core()
    made = core.create_namespaced_config_map(ns, {"metadata": {"generateName": "gen-"}, "data": {}})
    assert made.metadata.name.startswith("gen-")
    assert len(made.metadata.name) == len("gen-") + 5


def test_pagination_is_a_consistent_snapshot(server: Server, ns: str) -> None:
    core = server.core()
    for i in range(12):
        core.create_namespaced_config_map(ns, _cm(f"p{i:02d}"))
    page = core.list_namespaced_config_map(ns, limit=5)
    names = [i.metadata.name for i in page.items]
    assert len(names) == 5
    assert page.metadata.remaining_item_count == 7
    # A write between pages must not show up in later pages of the same list.
    core.create_namespaced_config_map(ns, _cm("p99"))
    token = page.metadata._continue
    while token:
        page = core.list_namespaced_config_map(ns, limit=5, _continue=token)
        names += [i.metadata.name for i in page.items]
        token = page.metadata._continue
    assert names == [f"p{i:02d}" for i in range(12)]


def test_bad_continue_token_is_400(server: Server, ns: str) -> None:
    with pytest.raises(ApiException) as e:
        server.core().list_namespaced_config_map(ns, limit=5, _continue="garbage!")
    assert e.value.status == 400


def test_label_and_field_selectors(server: Server, ns: str) -> None:
    core = server.core()
    core.create_namespaced_config_map(ns, _cm("s1", tier="a"))
    core.create_namespaced_config_map(ns, _cm("s2", tier="b"))
    assert [i.metadata.name for i in core.list_namespaced_config_map(ns, label_selector="tier=a").items] == [
        "s1"
    ]
    assert [
        i.metadata.name for i in core.list_namespaced_config_map(ns, field_selector="metadata.name=s2").items
    ] == ["s2"]
    with pytest.raises(ApiException) as e:
        core.list_namespaced_config_map(ns, field_selector="spec.foo=bar")
    assert e.value.status == 400
    assert '\\"spec.foo\\" is not a known field selector' in e.value.body
    with pytest.raises(ApiException) as e:
        core.list_namespaced_config_map(ns, label_selector="tier in (a")
    assert e.value.status == 400


def test_watch_sees_added_modified_deleted(server: Server, ns: str) -> None:
    core = server.core()
    start = core.list_namespaced_config_map(ns).metadata.resource_version
    seen: list[tuple[str, str]] = []

    def run() -> None:
        w = watch.Watch()
        for ev in w.stream(core.list_namespaced_config_map, ns, resource_version=start, timeout_seconds=5):
            seen.append((ev["type"], ev["object"].metadata.name))
            if ev["type"] == "DELETED":
                w.stop()

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.5)
    core.create_namespaced_config_map(ns, _cm("w1"))
    core.patch_namespaced_config_map("w1", ns, {"data": {"k": "2"}})
    core.delete_namespaced_config_map("w1", ns)
    t.join(10)
    assert seen == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]


def test_watch_from_too_old_revision_is_a_410_event(server: Server, ns: str) -> None:
    """Not an HTTP error: a 200 stream whose one event is ERROR with an Expired Status.

    The server runs with a 100-event watch cache; 120 writes push revision ``first``
    out of it.
    """
    core = server.core()
    first = core.create_namespaced_config_map(ns, _cm("old")).metadata.resource_version
    for i in range(120):
        core.patch_namespaced_config_map(
            "old", ns, {"data": {"k": str(i)}}, _content_type="application/merge-patch+json"
        )
    with server.http() as http:
        r = http.get(
            f"/api/v1/namespaces/{ns}/configmaps", params={"watch": "true", "resourceVersion": first}
        )
    assert r.status_code == 200
    event = r.json()
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"
    assert event["object"]["message"].startswith(f"too old resource version: {first} (")


def test_namespace_defaults(server: Server, ns: str) -> None:
    got = server.core().read_namespace(ns)
    assert got.spec.finalizers == ["kubernetes"]
    assert got.status.phase == "Active"
    assert got.metadata.labels["kubernetes.io/metadata.name"] == ns


def test_deployment_scale_subresource(server: Server, ns: str) -> None:
    apps = client.AppsV1Api(server.api_client())
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }
    made = apps.create_namespaced_deployment(ns, dep)
    assert made.spec.replicas == 1
    assert made.spec.strategy.rolling_update.max_surge == "25%"
    assert made.metadata.generation == 1
    scale = apps.read_namespaced_deployment_scale("web", ns)
    assert scale.spec.replicas == 1
    assert scale.status.selector == "app=web"
    out = server.kubectl("scale", "deployment", "web", "--replicas=3", "-n", ns).stdout.strip()
    assert out == "deployment.apps/web scaled"
    after = apps.read_namespaced_deployment("web", ns)
    assert after.spec.replicas == 3
    assert after.metadata.generation == 2


def test_status_subresource_ignores_spec_and_main_ignores_status(server: Server, ns: str) -> None:
    core = server.core()
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    core.create_namespaced_pod(ns, pod)
    core.patch_namespaced_pod_status(
        "p", ns, {"status": {"phase": "Running"}, "spec": {"activeDeadlineSeconds": 5}}
    )
    got = core.read_namespaced_pod("p", ns)
    assert got.status.phase == "Running"
    assert got.spec.active_deadline_seconds is None
    core.patch_namespaced_pod("p", ns, {"status": {"phase": "Failed"}})
    assert core.read_namespaced_pod("p", ns).status.phase == "Running"


def test_binding_then_graceful_delete(server: Server, ns: str) -> None:
    core = server.core()
    core.create_namespaced_pod(
        ns, {"metadata": {"name": "g"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    )
    core.create_namespaced_pod_binding(
        "g",
        ns,
        {"metadata": {"name": "g"}, "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}},
        _preload_content=False,
    )
    bound = core.read_namespaced_pod("g", ns)
    assert bound.spec.node_name == "node-1"
    assert [c.type for c in bound.status.conditions] == ["PodScheduled"]
    with pytest.raises(ApiException) as e:
        core.create_namespaced_pod_binding(
            "g", ns, {"metadata": {"name": "g"}, "target": {"name": "node-2"}}, _preload_content=False
        )
    assert e.value.status == 409
    # A scheduled pod is deleted gracefully: it stays, Terminating, until its kubelet confirms.
    core.delete_namespaced_pod("g", ns)
    pending = core.read_namespaced_pod("g", ns)
    assert pending.metadata.deletion_timestamp is not None
    assert pending.metadata.deletion_grace_period_seconds == 30
    core.delete_namespaced_pod("g", ns, grace_period_seconds=0)
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod("g", ns)
    assert e.value.status == 404


def test_finalizers_hold_the_object(server: Server, ns: str) -> None:
    core = server.core()
    core.create_namespaced_config_map(ns, {"metadata": {"name": "f", "finalizers": ["example.com/hold"]}})
    core.delete_namespaced_config_map("f", ns)
    held = core.read_namespaced_config_map("f", ns)
    assert held.metadata.deletion_timestamp is not None
    core.patch_namespaced_config_map("f", ns, [{"op": "remove", "path": "/metadata/finalizers"}])
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("f", ns)
    assert e.value.status == 404


def test_dry_run_stores_nothing(server: Server, ns: str) -> None:
    core = server.core()
    out = core.create_namespaced_config_map(ns, _cm("dry"), dry_run="All")
    assert out.metadata.name == "dry"
    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("dry", ns)
    assert e.value.status == 404


def test_node_keeps_the_status_it_is_created_with(server: Server) -> None:
    core = server.core()
    node = {
        "metadata": {"name": "created-with-status"},
        "status": {
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }
    made = core.create_node(node)
    assert made.status.capacity == {"cpu": "4", "memory": "8Gi", "pods": "110"}
    core.delete_node("created-with-status")
