"""EndpointSlice placement: at most N endpoints a slice, existing slices edited in place."""

from __future__ import annotations

from typing import Any

import pytest

from controllers.endpointslice import Plan, place

PORTS = (("", 80, "TCP"),)
OTHER = (("", 8080, "TCP"),)


def _ep(i: int, ready: bool = True) -> dict[str, Any]:
    return {
        "addresses": [f"10.0.{i // 250}.{i % 250}"],
        "conditions": {"ready": ready, "serving": ready, "terminating": False},
        "targetRef": {"kind": "Pod", "namespace": "default", "name": f"p{i}", "uid": f"u{i}"},
    }


def _slice(name: str, ids: range | list[int], ports: tuple = PORTS) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "endpoints": [_ep(i) for i in ids],
        "ports": [{"name": n, "port": p, "protocol": proto} for n, p, proto in ports],
    }


def _summary(plan: Plan) -> dict[str, Any]:
    return {
        "create": sorted(len(eps) for _, eps in plan.create),
        "update": sorted((s["metadata"]["name"], len(eps)) for s, _, eps in plan.update),
        "delete": sorted(s["metadata"]["name"] for s in plan.delete),
    }


@pytest.mark.parametrize(
    ("existing", "desired", "expected"),
    [
        ([], range(150), {"create": [50, 100], "update": [], "delete": []}),
        ([], range(250), {"create": [50, 100, 100], "update": [], "delete": []}),
        (
            [_slice("a", range(100)), _slice("b", range(100, 150))],
            range(150),
            {"create": [], "update": [], "delete": []},
        ),
        (
            [_slice("a", range(100)), _slice("b", range(100, 150))],
            [*range(150), 150, 151],
            {"create": [], "update": [("b", 52)], "delete": []},
        ),
        (
            [_slice("a", range(100)), _slice("b", range(100, 150))],
            [i for i in range(150) if i != 3] + [150],
            {"create": [], "update": [("a", 100)], "delete": []},
        ),
        (
            [_slice("a", range(100)), _slice("b", range(100, 150))],
            range(100),
            {"create": [], "update": [], "delete": ["b"]},
        ),
        (
            [_slice("a", range(100)), _slice("b", range(100, 190))],
            range(210),
            {"create": [20], "update": [], "delete": []},
        ),
        (
            [_slice("a", range(100)), _slice("b", range(100, 150))],
            range(100, 300),
            {"create": [], "update": [("a", 100), ("b", 100)], "delete": []},
        ),
        ([_slice("old", range(3), OTHER)], range(3), {"create": [], "update": [("old", 3)], "delete": []}),
        ([], [], {"create": [0], "update": [], "delete": []}),
        ([_slice("a", range(5)), _slice("b", [])], [], {"create": [], "update": [("a", 0)], "delete": ["b"]}),
    ],
    ids=[
        "150-in-two",
        "250-in-three",
        "unchanged",
        "two-more-go-to-the-slice-with-room",
        "one-replaced-in-place",
        "emptied-slice-deleted",
        "new-slice-when-none-fits",
        "updated-slices-filled-first",
        "ports-changed-slice-reused",
        "no-endpoints-placeholder",
        "no-endpoints-keeps-one",
    ],
)
def test_place(existing: list[dict], desired: range | list[int], expected: dict[str, Any]) -> None:
    assert (
        _summary(
            place(existing, {PORTS: [_ep(i) for i in desired]} if desired or not existing else {PORTS: []})
        )
        == expected
    )


def test_place_covers_every_endpoint_once() -> None:
    existing = [_slice("a", range(0, 100)), _slice("b", range(100, 160))]
    desired = [_ep(i) for i in range(40, 260)]
    plan = place(existing, {PORTS: desired})
    deleted = {s["metadata"]["name"] for s in plan.delete}
    updated = {s["metadata"]["name"] for s, _, _ in plan.update}
    kept = [s["endpoints"] for s in existing if s["metadata"]["name"] not in deleted | updated]
    slices = [eps for _, _, eps in plan.update] + [eps for _, eps in plan.create] + kept
    assert all(len(eps) <= 100 for eps in slices)
    names = sorted(ep["targetRef"]["name"] for eps in slices for ep in eps)
    assert names == sorted(f"p{i}" for i in range(40, 260))


def test_condition_change_updates_in_place() -> None:
    plan = place([_slice("a", range(3))], {PORTS: [_ep(0), _ep(1, ready=False), _ep(2)]})
    assert _summary(plan) == {"create": [], "update": [("a", 3)], "delete": []}
    assert plan.update[0][2][1]["conditions"]["ready"] is False
