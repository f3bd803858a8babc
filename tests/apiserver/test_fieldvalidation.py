"""Unknown and duplicate fields, worded as the real strict decoder words them."""

from __future__ import annotations

import pytest

from apimachinery.errors import StatusError
from apiserver import fieldvalidation as fv

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "p", "labels": {"any": "x"}},
    "spec": {"containers": [{"name": "c", "image": "i"}]},
}


@pytest.mark.parametrize(
    "obj,expected",
    [
        pytest.param(POD, [], id="clean"),
        pytest.param(
            {**POD, "spec": {"containers": [], "replica": 1}}, ["spec.replica"], id="top-level-typo"
        ),
        pytest.param(
            {**POD, "spec": {"containers": [{"name": "c", "imagee": "i"}]}},
            ["spec.containers[0].imagee"],
            id="in-list",
        ),
        pytest.param({**POD, "metadata": {"name": "p", "label": {}}}, ["metadata.label"], id="in-metadata"),
        pytest.param(
            {**POD, "metadata": {"name": "p", "annotations": {"free": "form"}}}, [], id="map-values-free"
        ),
        pytest.param(
            {**POD, "extra": 1, "spec": {"bogus": {"deep": 1}}}, ["spec.bogus", "extra"], id="several"
        ),
    ],
)
def test_unknown_fields(obj: dict, expected: list[str]) -> None:
    assert fv.unknown_fields(obj, "", "v1", "Pod") == expected


@pytest.mark.parametrize(
    "body,expected",
    [
        pytest.param(b'{"a": 1, "b": 2}', [], id="none"),
        pytest.param(b'{"metadata": {"name": "a", "name": "b"}}', ["metadata.name"], id="nested"),
        pytest.param(b'{"kind": "Pod", "kind": "Pod"}', ["kind"], id="top"),
        pytest.param(
            b'{"spec": {"containers": [{"name": "a", "name": "b"}]}}',
            ["spec.containers[0].name"],
            id="in-list",
        ),
    ],
)
def test_duplicate_fields(body: bytes, expected: list[str]) -> None:
    assert fv.duplicate_fields(body) == expected


def test_strict_is_a_400_listing_every_problem() -> None:
    with pytest.raises(StatusError) as e:
        fv.enforce("Strict", ['duplicate field "metadata.name"', 'unknown field "spec.foo"'])
    assert e.value.code == 400
    assert (
        e.value.message == 'strict decoding error: duplicate field "metadata.name", unknown field "spec.foo"'
    )


def test_warn_gives_warning_headers_and_ignore_nothing() -> None:
    assert fv.enforce("Warn", ['unknown field "spec.foo"']) == ['299 - "unknown field \\"spec.foo\\""']
    assert fv.enforce("Ignore", ['unknown field "spec.foo"']) == []


@pytest.mark.parametrize("value,mode", [("", "Warn"), ("Strict", "Strict"), ("Ignore", "Ignore")])
def test_parse_mode(value: str, mode: str) -> None:
    assert fv.parse_mode(value) == mode


def test_bad_mode_is_400() -> None:
    with pytest.raises(StatusError) as e:
        fv.parse_mode("Loose")
    assert e.value.code == 400
