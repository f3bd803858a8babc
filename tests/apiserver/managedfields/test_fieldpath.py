"""Field sets and their wire form (fieldsV1), case by case."""

from __future__ import annotations

from typing import Any

import pytest

from apiserver.managedfields import fieldpath as fp

DATA_A = ("f:data", "f:a")
DATA = ("f:data",)
C = ("f:spec", "f:containers", 'k:{"name":"c"}')

WIRE = [
    pytest.param({DATA_A}, {"f:data": {"f:a": {}}}, id="leaf-only"),
    pytest.param({DATA, DATA_A}, {"f:data": {".": {}, "f:a": {}}}, id="member-with-children"),
    pytest.param({DATA}, {"f:data": {}}, id="member-without-children"),
    pytest.param(
        {C, (*C, "f:image"), (*C, "f:name")},
        {"f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}, "f:name": {}}}}},
        id="list-map-item",
    ),
    pytest.param(
        {("f:metadata", "f:finalizers", 'v:"x"')},
        {"f:metadata": {"f:finalizers": {'v:"x"': {}}}},
        id="set-item",
    ),
    pytest.param(set(), {}, id="empty"),
]


@pytest.mark.parametrize(("fields", "wire"), WIRE)
def test_fields_v1_round_trip(fields: set[fp.Path], wire: dict[str, Any]) -> None:
    assert fp.to_fields_v1(frozenset(fields)) == wire
    assert fp.from_fields_v1(wire) == fields


def test_fields_v1_order_is_upstreams() -> None:
    wire = fp.to_fields_v1(frozenset({("f:b",), ("f:a",), ("f:a", "f:z"), ("f:a", 'k:{"n":1}')}))
    assert list(wire) == ["f:a", "f:b"]
    assert list(wire["f:a"]) == [".", "f:z", 'k:{"n":1}']


@pytest.mark.parametrize(
    "bad", [{"f:a": []}, {"x:a": {}}, {"f:a": {"f:b": "c"}}], ids=["not-object", "bad-element", "leaf-string"]
)
def test_malformed_fields_v1(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        fp.from_fields_v1(bad)


def test_element_encoding() -> None:
    assert fp.key({"protocol": "TCP", "containerPort": 80}) == 'k:{"containerPort":80,"protocol":"TCP"}'
    assert fp.value("example.com/x") == 'v:"example.com/x"'
    assert fp.field("app") == "f:app"


@pytest.mark.parametrize(
    ("path", "text"),
    [
        pytest.param(DATA_A, ".data.a", id="fields"),
        pytest.param((*C, "f:image"), '.spec.containers[name="c"].image', id="key"),
        pytest.param(
            ("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}'),
            '.spec.ports[port=80,protocol="TCP"]',
            id="two-keys",
        ),
        pytest.param(("f:metadata", "f:finalizers", 'v:"x"'), '.metadata.finalizers[="x"]', id="value"),
        pytest.param(("f:args", "i:2"), ".args[2]", id="index"),
    ],
)
def test_path_string(path: fp.Path, text: str) -> None:
    assert fp.to_string(path) == text


SETS = [
    pytest.param({("f:a",), ("f:b",)}, {("f:b",), ("f:c",)}, id="overlap"),
    pytest.param(set(), {("f:a",)}, id="one-empty"),
]


@pytest.mark.parametrize(("left", "right"), SETS)
def test_set_operations(left: set[fp.Path], right: set[fp.Path]) -> None:
    a, b = frozenset(left), frozenset(right)
    assert a | b == left | right
    assert a - b == left - right
    assert a & b == left & right


def test_recursive_difference_removes_subtrees() -> None:
    fields = frozenset({("f:status",), ("f:status", "f:phase"), ("f:spec", "f:x")})
    assert fp.recursive_difference(fields, frozenset({("f:status",)})) == {("f:spec", "f:x")}


def test_outermost_and_ancestors() -> None:
    fields = frozenset({("f:a",), ("f:a", "f:b"), ("f:c", "f:d")})
    assert fp.outermost(fields) == [("f:a",), ("f:c", "f:d")]
    assert fp.with_ancestors(frozenset({("f:c", "f:d")})) == {("f:c",), ("f:c", "f:d")}
