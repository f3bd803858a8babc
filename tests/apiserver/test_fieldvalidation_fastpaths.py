"""Field validation's shortcuts answer as the full checks do.

Duplicate keys: a quick scan (``_may_repeat_keys``) decides whether the full parse
(``_find_duplicates``) runs at all. Unknown fields: the walk reads each schema node
once and skips scalars. Each is compared with the plain version here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from apiserver import fieldvalidation as fv
from apiserver import schema

DUPLICATES = [
    pytest.param(b'{"a":1,"b":2}', id="clean"),
    pytest.param(b'{"a":1,"a":2}', id="top-level"),
    pytest.param(b'{"metadata":{"name":"x","labels":{"a":"1"},"name":"y"}}', id="nested"),
    pytest.param(
        b'{"spec":{"containers":[{"name":"a"},{"name":"b","image":"i","image":"j"}]}}', id="in-a-list-item"
    ),
    pytest.param(
        b'{"items":[{"name":"a"},{"name":"a"}],"x":{"name":"a"}}', id="same-key-in-siblings-is-fine"
    ),
    pytest.param(b'{"na\\u006de":1,"name":2}', id="escaped-same-key"),
    pytest.param('{"\\u00fc":1,"ü":2}'.encode(), id="unicode-escaped-and-raw"),
    pytest.param(b'{"a\\"b":1,"a\\"b":2}', id="escaped-quote-in-key"),
    pytest.param(b'{"a\\\\":1,"a\\\\":2}', id="escaped-backslash-in-key"),
    pytest.param(b'{"a":"x\\",\\"a\\":1"}', id="lookalike-inside-a-value"),
    pytest.param(b'{ "a" : 1 ,\n "a" :\t2 }', id="whitespace"),
    pytest.param(b'{"a":{"b":{"c":{"d":1,"d":2}}},"a":3}', id="deep-and-shallow"),
    pytest.param(b'{"a":1,"a":2,"a":3}', id="three-times"),
    pytest.param(b'[{"a":1,"a":2},{"b":1}]', id="top-level-array"),
    pytest.param(b'{"a":NaN,"a":1}', id="nan-stdlib-only"),
    pytest.param(b'{"a":1,"a":2', id="truncated"),
    pytest.param(b'"just a string"', id="scalar"),
    pytest.param(b"{}", id="empty"),
    pytest.param(b"[" * 5000 + b"]" * 5000, id="too-deep"),
]


@pytest.mark.parametrize("body", DUPLICATES)
def test_duplicate_fields_as_the_full_parse(body: bytes) -> None:
    assert fv.duplicate_fields(body) == fv._find_duplicates(body)


@pytest.mark.parametrize(
    "body",
    [
        b'{"a":1,"b":2}',
        b'{"items":[{"name":"a"},{"name":"a"}],"x":{"name":"a"}}',
        b'{"a":"x\\",\\"a\\":1"}',
        b"{}",
    ],
)
def test_clean_bodies_skip_the_full_parse(body: bytes) -> None:
    assert not fv._may_repeat_keys(body)


def plain_unknown_fields(obj: Any, root: schema.Schema) -> list[str]:
    found: list[str] = []

    def walk(value: Any, node: schema.Schema, path: str) -> None:
        node = schema.resolve(node)
        if node.get("x-kubernetes-preserve-unknown-fields"):
            return
        if isinstance(value, dict):
            props, extra = node.get("properties"), node.get("additionalProperties")
            if props is None and not isinstance(extra, dict):
                return
            for key, sub in value.items():
                child = f"{path}.{key}" if path else key
                if props is not None and key in props:
                    walk(sub, props[key], child)
                elif isinstance(extra, dict):
                    walk(sub, extra, child)
                else:
                    found.append(child)
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for i, item in enumerate(value):
                walk(item, node["items"], f"{path}[{i}]")

    walk(obj, root, "")
    return found


POD_WITH_EVERYTHING = {
    "apiVersion": "v1",
    "kind": "Pod",
    "bogus": 1,
    "metadata": {
        "name": "p",
        "labels": {"a": "b"},
        "annotations": {"x": "y"},
        "nam": "typo",
        "ownerReferences": [{"name": "o", "x": 1}],
    },
    "spec": {
        "containers": [
            {
                "name": "c",
                "image": "i",
                "ports": [{"containerPort": 80, "port": 1}],
                "env": [{"name": "A", "value": "1", "v": 2}],
            },
            "not-a-map",
            {"name": "d", "resources": {"requests": {"cpu": "1"}, "limit": {}}},
        ],
        "volumes": [{"name": "v", "configMap": {"name": "c", "items": [{"key": "k", "pth": "p"}]}}],
        "nodeSelector": {"any": "thing"},
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "In", "vals": []}]}]
                }
            }
        },
        "overhead": {"cpu": "1"},
        "containerz": [],
    },
    "status": {"conditions": [{"type": "Ready", "status": "True", "extra": None}], "phase": 3},
}


@pytest.mark.parametrize(
    ("obj", "gvk"),
    [
        pytest.param(POD_WITH_EVERYTHING, ("", "v1", "Pod"), id="pod"),
        pytest.param({"spec": {"template": {"spec": {"containers": [{"nme": "c"}]}}, "x": [1]}}, ("apps", "v1", "Deployment"), id="deployment"),
        pytest.param({"data": {"a": "b"}, "binaryData": {"b": "x"}, "dat": 1}, ("", "v1", "ConfigMap"), id="configmap"),
        pytest.param([1, {"a": 1}], ("", "v1", "Pod"), id="not-an-object"),
        pytest.param("text", ("", "v1", "Pod"), id="scalar"),
    ],
)  # fmt: skip
def test_unknown_fields_as_the_plain_walk(obj: Any, gvk: tuple[str, str, str]) -> None:
    root = schema.definition_for_gvk(*gvk)
    assert root is not None
    expected = plain_unknown_fields(obj, root)
    assert fv.unknown_fields(obj, *gvk) == expected
    assert fv.unknown_fields(json.loads(json.dumps(obj)), *gvk) == expected
