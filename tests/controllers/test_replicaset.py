"""Table tests of the ReplicaSet controller's pure logic (replica_set.go, controller_utils.go)."""

from __future__ import annotations

import pytest

from apimachinery.selectors import from_label_selector
from controllers.replicaset import (
    calculate_status,
    claim_pods,
    deletion_order,
    pod_from_template,
    slow_start_batches,
)
from tests.controllers._objects import T0, owner_ref, pod, rs


@pytest.mark.parametrize(
    ("count", "batches"),
    [(0, []), (1, [1]), (3, [1, 2]), (10, [1, 2, 4, 3]), (16, [1, 2, 4, 8, 1])],
    ids=["zero", "one", "three", "ten", "sixteen"],
)
def test_slow_start_batches(count: int, batches: list[int]) -> None:
    assert slow_start_batches(count) == batches


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (pod("a"), pod("b", node="n1")),
        (pod("a", node="n1", phase="Pending"), pod("b", node="n1", phase="Running")),
        (pod("a", node="n1", phase="Unknown"), pod("b", node="n1", phase="Running")),
        (pod("a", node="n1", phase="Running"), pod("b", node="n1", phase="Running", ready=True)),
        (
            pod("a", node="n1", phase="Running", ready=True, ready_since=T0 + 50),
            pod("b", node="n1", phase="Running", ready=True, ready_since=T0),
        ),
        (pod("a", node="n1", phase="Running", restarts=5), pod("b", node="n1", phase="Running", restarts=1)),
        (pod("a", node="n1", created=T0 + 10), pod("b", node="n1", created=T0)),
    ],
    ids=[
        "unscheduled-first",
        "pending-before-running",
        "unknown-before-running",
        "not-ready-first",
        "ready-less-time-first",
        "more-restarts-first",
        "newer-first",
    ],
)
def test_deletion_order(first: dict, second: dict) -> None:
    assert [p["metadata"]["name"] for p in deletion_order([second, first])] == ["a", "b"]


def test_claim_adopts_orphans_and_releases_non_matching() -> None:
    owner = rs("web-1", 3)
    sel = from_label_selector(owner["spec"]["selector"])
    mine = pod("mine", owner=owner_ref("ReplicaSet", "web-1"))
    orphan = pod("orphan")
    stray = pod("stray", labels={"app": "other"}, owner=owner_ref("ReplicaSet", "web-1"))
    other = pod("other", owner=owner_ref("ReplicaSet", "web-2"))
    unrelated = pod("unrelated", labels={"app": "db"})
    claims = claim_pods(owner, sel, [mine, orphan, stray, other, unrelated])
    assert [p["metadata"]["name"] for p in claims.owned] == ["mine"]
    assert [p["metadata"]["name"] for p in claims.adopt] == ["orphan"]
    assert [p["metadata"]["name"] for p in claims.release] == ["stray"]


def test_status_counts_ready_available_and_fully_labeled() -> None:
    owner = rs("web-1", 3)
    owner["spec"]["minReadySeconds"] = 10
    owner["spec"]["template"]["metadata"]["labels"] = {"app": "web", "tier": "fe"}
    pods = [
        pod("a", phase="Running", ready=True, ready_since=T0, labels={"app": "web", "tier": "fe"}),
        pod("b", phase="Running", ready=True, ready_since=T0 + 95),
        pod("c"),
    ]
    status = calculate_status(owner, pods, now=T0 + 100)
    assert status["replicas"] == 3
    assert status["readyReplicas"] == 2
    assert status["availableReplicas"] == 1  # b is ready for 5 s < minReadySeconds
    assert status["fullyLabeledReplicas"] == 1
    assert status["observedGeneration"] == 1


def test_pod_from_template_has_controller_ref_and_generate_name() -> None:
    p = pod_from_template(rs("web-1", 1), rs("web-1", 1)["spec"]["template"], "apps/v1", "ReplicaSet")
    assert p["metadata"]["generateName"] == "web-1-"
    assert p["metadata"]["ownerReferences"][0]["controller"] is True
    assert p["metadata"]["ownerReferences"][0]["uid"] == "uid-web-1"
