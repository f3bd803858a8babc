"""Table tests of controllers/history.py (pkg/controller/history/controller_history.go)."""

from __future__ import annotations

from typing import Any

import pytest

from controllers import history, statefulset
from tests.controllers._objects import T0, pod, template


def _set(image: str = "nginx", **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default", "uid": "uid-web", "annotations": annotations},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template(image)},
        "status": {},
    }


def _rev(image: str, number: int, *, owner: str | None = "uid-web", created: str = "") -> dict[str, Any]:
    r = history.new_revision(_set(image), "StatefulSet", history.template_patch(_set(image)), number, 0)
    r["metadata"]["creationTimestamp"] = created or f"2024-01-01T00:00:{number:02d}Z"
    r["metadata"]["uid"] = f"uid-{r['metadata']['name']}"
    if owner is None:
        del r["metadata"]["ownerReferences"]
    else:
        r["metadata"]["ownerReferences"][0]["uid"] = owner
    return r


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", 0x811C9DC5), (b"a", 0x050C5D7E), (b"foobar", 0x31F0B262)],
    ids=["empty", "a", "foobar"],
)
def test_fnv32_is_fnv1_not_fnv1a(data: bytes, expected: int) -> None:
    assert history.fnv32(data) == expected


def test_go_json_sorts_compacts_and_escapes_html() -> None:
    assert history.go_json({"b": 1, "a": ["<x>", "&"], "$patch": "replace"}) == (
        b'{"$patch":"replace","a":["\\u003cx\\u003e","\\u0026"],"b":1}'
    )


def test_template_patch_is_a_replace_patch_with_go_zero_values() -> None:
    patch = history.template_patch(_set())
    t = patch["spec"]["template"]
    assert list(patch) == ["spec"] and list(patch["spec"]) == ["template"]
    assert t["$patch"] == "replace"
    assert t["metadata"] == {"labels": {"app": "web"}, "creationTimestamp": None}
    assert t["spec"]["containers"] == [{"name": "c", "image": "nginx", "resources": {}}]
    assert history.template_of({"data": patch}) == {k: v for k, v in t.items() if k != "$patch"}


def test_hash_is_stable_and_depends_on_data_and_probe() -> None:
    data = history.template_patch(_set())
    h = history.hash_revision(data, 0)
    # Pinned: FNV-1 32 of these bytes then "0", rendered with SafeEncodeString.
    assert history.go_json(data) == (
        b'{"spec":{"template":{"$patch":"replace","metadata":{"creationTimestamp":null,'
        b'"labels":{"app":"web"}},"spec":{"containers":[{"image":"nginx","name":"c","resources":{}}]}}}}'
    )
    assert h == "6fc8dcdf6b"
    assert history.hash_revision(data, 1) != h
    assert history.hash_revision(history.template_patch(_set("nginx:2")), 0) != h
    assert history.hash_revision(data, None) != h
    assert history.revision_name("x" * 300, h) == "x" * 223 + "-" + h


def test_new_revision_names_labels_owns_and_copies_annotations() -> None:
    r = history.new_revision(_set(**{"kubernetes.io/change-cause": "v1"}), "StatefulSet", {"d": 1}, 3, 0)
    h = history.hash_revision({"d": 1}, 0)
    assert r["metadata"]["name"] == f"web-{h}"
    assert r["metadata"]["labels"] == {"app": "web", history.HASH_LABEL: h}
    assert r["metadata"]["annotations"] == {"kubernetes.io/change-cause": "v1"}
    ref = r["metadata"]["ownerReferences"][0]
    assert (ref["kind"], ref["uid"], ref["controller"]) == ("StatefulSet", "uid-web", True)
    assert r["revision"] == 3


def test_sort_and_next_revision() -> None:
    revs = [_rev("b", 2), _rev("a", 1), _rev("c", 2, created="2023-01-01T00:00:00Z")]
    ordered = history.sort_revisions(revs)
    assert [
        (r["revision"], r["data"]["spec"]["template"]["spec"]["containers"][0]["image"]) for r in ordered
    ] == [
        (1, "a"),
        (2, "c"),  # same number: the older first
        (2, "b"),
    ]
    assert history.next_revision(ordered) == 3
    assert history.next_revision([]) == 1


@pytest.mark.parametrize(
    ("numbers", "live", "limit", "deleted"),
    [
        ([1, 2, 3], set(), 10, []),
        ([1, 2, 3, 4], set(), 2, [1, 2]),
        ([1, 2, 3, 4], {1}, 2, [2]),
        ([1, 2, 3, 4], {3, 4}, 0, [1, 2]),
    ],
    ids=["under-limit", "oldest-first", "live-kept", "limit-zero"],
)
def test_truncate(numbers: list[int], live: set[int], limit: int, deleted: list[int]) -> None:
    revs = [_rev(f"img{n}", n) for n in numbers]
    names = {r["metadata"]["name"] for r in revs if r["revision"] in live}
    assert [r["revision"] for r in history.to_truncate(revs, names, limit)] == deleted


def test_owned_revisions_splits_owned_and_orphans() -> None:
    mine, orphan, other = _rev("a", 1), _rev("b", 2, owner=None), _rev("c", 3, owner="uid-other")
    stray = _rev("d", 4, owner=None)
    stray["metadata"]["labels"] = {"app": "db"}
    owned, orphans = history.owned_revisions(_set(), [mine, orphan, other, stray])
    assert owned == [mine] and orphans == [orphan]


@pytest.mark.parametrize(
    ("history_images", "image", "action", "number"),
    [
        ([], "a", "create", 1),
        (["a"], "a", "keep", 1),
        (["a"], "b", "create", 2),
        (["a", "b"], "a", "renumber", 3),  # rollout undo: revision 1 comes back as 3
        (["a", "b", "a2"], "b", "renumber", 4),
    ],
    ids=["first", "unchanged", "new-template", "undo-reuses", "older-reuses"],
)
def test_equal_revision_is_reused_and_renumbered(
    history_images: list[str], image: str, action: str, number: int
) -> None:
    revs = [_rev(img, n) for n, img in enumerate(history_images, 1)]
    step = statefulset.update_revision_step(_set(image), revs)
    assert (step.action, step.number) == (action, number)
    if action != "create":
        assert history.template_of(step.revision)["spec"]["containers"][0]["image"] == image
        assert step.revision["metadata"]["name"] in {r["metadata"]["name"] for r in revs}


def test_apply_revision_restores_the_template() -> None:
    old = _rev("a", 1)
    restored = history.apply_revision(_set("b"), old)
    assert restored["spec"]["template"]["spec"]["containers"][0]["image"] == "a"
    assert "$patch" not in restored["spec"]["template"]


def test_next_available_is_when_min_ready_seconds_runs_out() -> None:
    ready = pod("a", phase="Running", ready=True, ready_since=T0)
    assert history.next_available([ready, pod("b")], 10, T0 + 4) == 6
    assert history.next_available([ready], 10, T0 + 11) is None
    assert history.next_available([ready], 0, T0) is None
