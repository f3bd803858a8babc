"""Which fields an object sets, and what changed between two versions, per the schema."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.managedfields import fieldpath as fp
from apiserver.managedfields.merge import merge, remove
from apiserver.managedfields.typed import compare, to_field_set
from apiserver.schema import definition_for_gvk

POD = definition_for_gvk("", "v1", "Pod")
CM = definition_for_gvk("", "v1", "ConfigMap")
SVC = definition_for_gvk("", "v1", "Service")
DEPLOYMENT = definition_for_gvk("apps", "v1", "Deployment")


def pod(*containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"spec": {"containers": list(containers), **spec}}


FIELD_SETS = [
    pytest.param(CM, {"data": {"a": "1"}}, {"f:data": {"f:a": {}}}, id="configmap-data"),
    pytest.param(CM, {"data": {}}, {"f:data": {}}, id="empty-map-is-a-leaf"),
    pytest.param(
        POD,
        pod({"name": "c", "image": "nginx"}),
        {"f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}, "f:name": {}}}}},
        id="list-map-by-name",
    ),
    pytest.param(
        POD,
        pod({"name": "c", "args": ["a", "b"]}),
        {"f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:args": {}, "f:name": {}}}}},
        id="atomic-list-is-a-leaf",
    ),
    pytest.param(
        POD,
        pod({"name": "c", "ports": [{"containerPort": 80}]}),
        {
            "f:spec": {
                "f:containers": {
                    'k:{"name":"c"}': {
                        ".": {},
                        "f:name": {},
                        "f:ports": {
                            'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}
                        },
                    }
                }
            }
        },
        id="two-keys-with-default-protocol",
    ),
    pytest.param(
        POD,
        {"metadata": {"finalizers": ["a/b"]}},
        {"f:metadata": {"f:finalizers": {'v:"a/b"': {}}}},
        id="set-list",
    ),
    pytest.param(
        DEPLOYMENT,
        {"spec": {"selector": {"matchLabels": {"app": "w"}}}},
        {"f:spec": {"f:selector": {}}},
        id="atomic-struct",
    ),
    pytest.param(None, {"x": {"y": [1]}}, {"f:x": {".": {}, "f:y": {}}}, id="no-schema"),
]


@pytest.mark.parametrize(("schema", "obj", "wire"), FIELD_SETS)
def test_to_field_set(schema: Any, obj: dict[str, Any], wire: dict[str, Any]) -> None:
    assert fp.to_fields_v1(to_field_set(obj, schema)) == wire


COMPARISONS = [
    pytest.param(
        {},
        {"data": {"a": "1"}},
        ({("f:data",), ("f:data", "f:a")}, set(), set()),
        id="new-map-is-added-whole",
    ),
    pytest.param(
        {"data": {"a": "1", "b": "1"}},
        {"data": {"a": "2"}},
        (set(), {("f:data", "f:a")}, {("f:data", "f:b")}),
        id="modified-and-removed",
    ),
    pytest.param({"data": {"a": "1"}}, {"data": {"a": "1"}}, (set(), set(), set()), id="unchanged"),
    pytest.param(
        {"data": {"a": 1}}, {"data": {"a": True}}, (set(), {("f:data", "f:a")}, set()), id="1-is-not-true"
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), COMPARISONS)
def test_compare(old: dict[str, Any], new: dict[str, Any], expected: tuple[set[Any], ...]) -> None:
    cmp = compare(old, new, CM)
    assert (cmp.added, cmp.modified, cmp.removed) == expected


def test_compare_list_map_items() -> None:
    old = pod({"name": "a", "image": "1"}, {"name": "b", "image": "1"})
    new = pod({"name": "b", "image": "2"}, {"name": "c", "image": "1"})
    cmp = compare(old, new, POD)
    item = ("f:spec", "f:containers")
    assert (*item, 'k:{"name":"b"}', "f:image") in cmp.modified
    assert (*item, 'k:{"name":"c"}') in cmp.added
    assert (*item, 'k:{"name":"a"}') in cmp.removed


MERGES = [
    pytest.param(
        POD,
        pod({"name": "a", "image": "1"}, {"name": "b", "image": "1"}),
        pod({"name": "c", "image": "3"}, {"name": "b", "image": "2"}),
        pod({"name": "a", "image": "1"}, {"name": "b", "image": "2"}, {"name": "c", "image": "3"}),
        id="list-map-merges-by-key-live-order-first",
    ),
    pytest.param(
        POD,
        pod({"name": "a", "args": ["x", "y"]}),
        pod({"name": "a", "args": ["z"]}),
        pod({"name": "a", "args": ["z"]}),
        id="atomic-list-replaced",
    ),
    pytest.param(
        POD,
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"finalizers": ["c", "a"]}},
        {"metadata": {"finalizers": ["a", "b", "c"]}},
        id="set-union",
    ),
    pytest.param(
        DEPLOYMENT,
        {"spec": {"selector": {"matchLabels": {"a": "1"}}}},
        {"spec": {"selector": {"matchLabels": {"b": "2"}}}},
        {"spec": {"selector": {"matchLabels": {"b": "2"}}}},
        id="atomic-struct-replaced",
    ),
    pytest.param(
        CM, {"data": {"a": "1"}}, {"data": {"b": "2"}}, {"data": {"a": "1", "b": "2"}}, id="map-merges"
    ),
]


@pytest.mark.parametrize(("schema", "live", "config", "expected"), MERGES)
def test_merge(schema: Any, live: dict[str, Any], config: dict[str, Any], expected: dict[str, Any]) -> None:
    assert merge(live, config, schema) == expected


def test_remove() -> None:
    obj = pod({"name": "a", "image": "1", "args": ["x"]}, {"name": "b"})
    out = remove(
        obj,
        frozenset(
            {
                ("f:spec", "f:containers", 'k:{"name":"b"}'),
                ("f:spec", "f:containers", 'k:{"name":"a"}', "f:args"),
            }
        ),
    )
    assert out == pod({"name": "a", "image": "1"})
    assert obj["spec"]["containers"][0]["args"] == ["x"], "the input is not changed"


def test_service_ports_key_on_port_and_protocol() -> None:
    fields = to_field_set({"spec": {"ports": [{"port": 80, "protocol": "UDP"}]}}, SVC)
    assert ("f:spec", "f:ports", 'k:{"port":80,"protocol":"UDP"}') in fields
