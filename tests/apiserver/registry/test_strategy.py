"""Strategy helpers: the copy the store hands to ``compute`` and the status strategy keeps."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from apiserver.registry.strategy import copy_stored


@pytest.mark.parametrize(
    "obj",
    [
        {
            "metadata": {"name": "p", "labels": {"ü": "\u2028"}},
            "spec": {"a": [1, 1.5, -0.0, True, None, 2**63]},
        },
        {"metadata": {"name": "big"}, "spec": {"n": 2**70}},  # beyond orjson: copy.deepcopy
        {},
    ],
    ids=["json", "big-int", "empty"],
)
def test_copy_stored_is_a_deep_copy(obj: dict[str, Any]) -> None:
    copied = copy_stored(obj)
    assert json.dumps(copied) == json.dumps(obj)
    assert [type(v) for v in copied.get("spec", {}).get("a", [])] == [
        type(v) for v in obj.get("spec", {}).get("a", [])
    ]
    before = copy.deepcopy(obj)
    copied.setdefault("metadata", {})["name"] = "changed"
    copied.setdefault("spec", {})["new"] = [1]
    assert obj == before
