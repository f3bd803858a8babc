"""Table tests of the Deployment controller's pure logic (rolling.go, sync.go, progress.go)."""

from __future__ import annotations

import pytest

from controllers.deployment import hash as podhash
from controllers.deployment import progress, rolling, sync
from controllers.util import find_condition
from tests.controllers._objects import T0, deployment, rs, template


def _cond(conditions: list, ctype: str) -> dict:
    cond = find_condition(conditions, ctype)
    assert cond is not None, ctype
    return cond


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "expected"),
    [
        ("25%", "25%", 10, (3, 2)),  # surge rounds up, unavailable rounds down
        ("25%", "25%", 1, (1, 0)),
        (0, 0, 5, (0, 1)),  # both zero: unavailable becomes 1
        ("0%", "0%", 5, (0, 1)),
        (2, "50%", 3, (2, 1)),
        ("100%", 0, 4, (4, 0)),
    ],
    ids=["25pct-of-10", "25pct-of-1", "both-zero", "both-zero-pct", "int-and-pct", "all-surge"],
)
def test_resolve_fenceposts(
    surge: int | str, unavailable: int | str, desired: int, expected: tuple[int, int]
) -> None:
    assert rolling.resolve_fenceposts(surge, unavailable, desired) == expected


def test_bad_intstr() -> None:
    with pytest.raises(rolling.IntOrStringError):
        rolling.scaled_value("25", 10, True)


@pytest.mark.parametrize(
    ("desired", "surge", "old", "new", "expected"),
    [
        (10, 0, 10, 0, None),
        (10, 2, 10, 0, 2),
        (10, 2, 5, 0, 7),
        (10, 2, 10, 2, None),
        (10, 2, 2, 11, 10),
    ],
    ids=["no-surge", "surge-2", "room-after-scale-down", "saturated", "scale-down-new"],
)
def test_reconcile_new_rs(desired: int, surge: int, old: int, new: int, expected: int | None) -> None:
    d = deployment(desired, surge=surge, unavailable=0 if surge else 1)
    old_rs, new_rs = rs("web-old", old, created=T0), rs("web-new", new, created=T0 + 1)
    assert rolling.reconcile_new_rs(d, [old_rs, new_rs], new_rs) == expected


@pytest.mark.parametrize(
    ("desired", "unavailable", "old", "new", "old_available", "new_available", "expected"),
    [
        (10, 0, 10, 0, 10, 0, {}),
        (10, 2, 10, 0, 10, 0, {"web-old": 8}),
        (10, 2, 10, 0, 5, 0, {"web-old": 8}),  # unhealthy first, capped by maxScaledDown
        (10, 2, 10, 2, 10, 0, {"web-old": 8}),  # surge pods unavailable: old may still drop to 8
        (10, 2, 8, 4, 8, 4, {"web-old": 4}),
        (10, 2, 2, 10, 2, 10, {"web-old": 0}),
    ],
    ids=["no-unavailable", "two-unavailable", "unhealthy-old", "new-unavailable", "mid-rollout", "finish"],
)
def test_old_rs_scale_down(
    desired: int, unavailable: int, old: int, new: int, old_available: int, new_available: int, expected: dict
) -> None:
    d = deployment(desired, surge=2, unavailable=unavailable)
    old_rs = rs("web-old", old, available=old_available, created=T0)
    new_rs = rs("web-new", new, available=new_available, created=T0 + 1, image="nginx:2")
    assert rolling.old_rs_scale_down(d, [old_rs, new_rs], [old_rs], new_rs) == expected


def test_hash_is_stable_safe_and_sensitive() -> None:
    h = podhash.compute_hash(template())
    assert h == podhash.compute_hash(template())
    assert set(h) <= set(podhash.ALPHANUMS)
    assert h != podhash.compute_hash(template("nginx:2"))
    assert h != podhash.compute_hash(template(), collision_count=1)
    # FNV-1a 32 test vectors, and SafeEncodeString of a digit string.
    assert podhash.fnv32a(b"") == 0x811C9DC5
    assert podhash.fnv32a(b"a") == 0xE40C292C
    assert podhash.safe_encode_string("0123") == "".join(podhash.ALPHANUMS[b % 27] for b in b"0123")


def test_new_rs_object_name_selector_revision() -> None:
    d = deployment(3, surge=1, unavailable=0)
    old = rs("web-old", 3, revision=4, image="nginx:1")
    new = sync.new_rs_object(d, [old], [old])
    h = podhash.compute_hash(d["spec"]["template"])
    assert new["metadata"]["name"] == f"web-{h}"
    assert new["spec"]["selector"]["matchLabels"]["pod-template-hash"] == h
    assert new["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == h
    assert new["metadata"]["annotations"][sync.REVISION] == "5"
    assert new["metadata"]["annotations"][sync.MAX_REPLICAS] == "4"
    assert new["spec"]["replicas"] == 1  # 3 old + surge 1


def test_find_new_rs_ignores_hash_label_and_undo_bumps_revision() -> None:
    d = deployment(3)
    old_same = rs("web-a", 0, revision=1)
    old_same["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = "abc"
    current = rs("web-b", 3, revision=2, image="nginx:2")
    assert sync.find_new_rs(d, [current, old_same]) is old_same
    ann = sync.new_rs_annotations(d, old_same, sync.max_revision([current]) + 1)
    assert ann[sync.REVISION] == "3"
    assert ann[sync.REVISION_HISTORY] == "1"


def test_proportional_scaling() -> None:
    d = deployment(10, surge=0, unavailable=1)
    new = rs("web-new", 3, created=T0 + 1, annotations={sync.MAX_REPLICAS: "5"}, image="nginx:2")
    old = rs("web-old", 2, created=T0, annotations={sync.MAX_REPLICAS: "5"})
    assert sync.proportional_sizes(d, new, [old]) == {"web-new": 6, "web-old": 4}
    only = rs("web-new", 5, annotations={sync.DESIRED_REPLICAS: "5"})
    assert sync.is_scaling_event(d, [only])
    assert sync.proportional_sizes(d, only, []) == {"web-new": 10}


def test_history_cleanup_keeps_limit() -> None:
    d = deployment(1)
    d["spec"]["revisionHistoryLimit"] = 2
    olds = [rs(f"web-{i}", 0, revision=i, status_replicas=0) for i in range(1, 5)]
    assert [r["metadata"]["name"] for r in sync.history_to_delete(d, olds)] == ["web-1", "web-2"]


def _status(updated: int, replicas: int, available: int, ready: int | None = None) -> dict:
    return {
        "observedGeneration": 1,
        "replicas": replicas,
        "updatedReplicas": updated,
        "availableReplicas": available,
        "readyReplicas": available if ready is None else ready,
    }


def test_rollout_complete_condition_messages() -> None:
    d = deployment(3, status=_status(3, 3, 2))
    new = rs("web-abc", 3, available=3)
    status, after = progress.rollout_status(d, [new], new, T0)
    prog = _cond(status["conditions"], "Progressing")
    avail = _cond(status["conditions"], "Available")
    assert prog is not None and avail is not None
    assert (prog["status"], prog["reason"], prog["message"]) == (
        "True",
        "NewReplicaSetAvailable",
        'ReplicaSet "web-abc" has successfully progressed.',
    )
    assert (avail["status"], avail["reason"], avail["message"]) == (
        "True",
        "MinimumReplicasAvailable",
        "Deployment has minimum availability.",
    )
    assert status["updatedReplicas"] == 3 and status["unavailableReplicas"] == 0
    assert after is None


def test_rollout_progressing_then_timed_out() -> None:
    started = progress.condition("Progressing", "True", "ReplicaSetUpdated", "x", T0)
    d = deployment(3, status={**_status(1, 3, 0), "conditions": [started]})
    new = rs("web-abc", 1, available=0)
    old = rs("web-old", 2, available=0)
    status, after = progress.rollout_status(d, [old, new], new, T0 + 10)
    assert _cond(status["conditions"], "Progressing")["reason"] == "ReplicaSetUpdated"
    assert after is not None and 590 <= after <= 592
    avail = _cond(status["conditions"], "Available")
    assert (avail["status"], avail["reason"]) == ("False", "MinimumReplicasUnavailable")
    status, _ = progress.rollout_status(d, [old, new], new, T0 + 601)
    prog = _cond(status["conditions"], "Progressing")
    assert (prog["status"], prog["reason"], prog["message"]) == (
        "False",
        "ProgressDeadlineExceeded",
        'ReplicaSet "web-abc" has timed out progressing.',
    )


def test_paused_and_resumed_conditions() -> None:
    d = deployment(1)
    d["spec"]["paused"] = True
    status = progress.paused_conditions(d, {}, T0)
    assert _cond(status["conditions"], "Progressing")["reason"] == "DeploymentPaused"
    d["spec"]["paused"] = False
    status = progress.paused_conditions(d, status, T0)
    cond = _cond(status["conditions"], "Progressing")
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "Unknown",
        "DeploymentResumed",
        "Deployment is resumed",
    )


def test_recreate_scales_old_to_zero_then_waits() -> None:
    assert rolling.recreate_scale_down([rs("a", 2), rs("b", 0)]) == {"a": 0}
    assert rolling.old_pods_running([rs("a", 0, status_replicas=1)], {})
    assert not rolling.old_pods_running([rs("a", 0, status_replicas=0)], {})
