"""Table tests: StatefulSet ordering and DaemonSet node eligibility."""

from __future__ import annotations

from typing import Any

import pytest

from controllers import daemonset, daemonset_update, daemonset_util, history, statefulset
from controllers.util import timestamp
from tests.controllers._objects import T0, pod, template


def _sts(replicas: int, policy: str = "OrderedReady", partition: int = 0) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "default", "uid": "uid-web", "generation": 1},
        "spec": {
            "replicas": replicas,
            "serviceName": "web",
            "podManagementPolicy": policy,
            "template": template(),
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": partition}},
        },
    }


def _member(o: int, ready: bool = True, rev: str = "r1", phase: str = "Running") -> dict[str, Any]:
    p = pod(f"web-{o}", node="n1", phase=phase, ready=ready)
    p["metadata"]["labels"][statefulset.REVISION_LABEL] = rev
    return p


@pytest.mark.parametrize(
    ("replicas", "policy", "members", "create", "delete"),
    [
        (3, "OrderedReady", [], [0], []),
        (3, "OrderedReady", [_member(0)], [1], []),
        (3, "OrderedReady", [_member(0, ready=False)], [], []),
        (3, "Parallel", [], [0, 1, 2], []),
        (1, "OrderedReady", [_member(0), _member(1), _member(2)], [], ["web-2"]),
        (1, "Parallel", [_member(0), _member(1), _member(2)], [], ["web-2", "web-1"]),
        (2, "OrderedReady", [_member(0, phase="Failed"), _member(1)], [], ["web-0"]),
        (2, "OrderedReady", [_member(0, rev="r0"), _member(1, rev="r0")], [], ["web-1"]),
    ],
    ids=[
        "first",
        "next-after-ready",
        "wait-for-ready",
        "parallel",
        "scale-down-highest",
        "parallel-down",
        "failed",
        "update-highest",
    ],
)
def test_statefulset_plan(
    replicas: int, policy: str, members: list, create: list[int], delete: list[str]
) -> None:
    p = statefulset.plan(_sts(replicas, policy), members, "r1")
    assert p.create == create
    assert [m["metadata"]["name"] for m in p.delete] == delete


def test_statefulset_partition_and_pod_identity() -> None:
    p = statefulset.plan(_sts(2, partition=1), [_member(0, rev="r0"), _member(1)], "r1")
    assert p.delete == []  # ordinal 0 is below the partition
    pod_ = statefulset.set_pod(_sts(2), 1, "r1")
    assert pod_["metadata"]["name"] == "web-1"
    assert pod_["spec"]["hostname"] == "web-1" and pod_["spec"]["subdomain"] == "web"
    assert pod_["metadata"]["labels"][statefulset.POD_INDEX_LABEL] == "1"


def _node(name: str, labels: dict | None = None, taints: list | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": taints or []}}


def _ds(
    pod_spec_extra: dict | None = None, *, surge: int | str = 0, unavailable: int | str = 1
) -> dict[str, Any]:
    t = template()
    t["spec"].update(pod_spec_extra or {})
    return {
        "metadata": {
            "name": "agent",
            "namespace": "default",
            "uid": "uid-agent",
            "generation": 2,
            "annotations": {daemonset_util.TEMPLATE_GENERATION_ANNOTATION: "1"},
        },
        "spec": {
            "template": t,
            "updateStrategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
            },
            "revisionHistoryLimit": 10,
        },
    }


def _daemon_pod(
    ds: dict[str, Any], node: str, hash_: str, *, ready: bool = True, created: float = T0, name: str = ""
) -> dict[str, Any]:
    p = daemonset_util.daemon_pod(ds, node, hash_)
    p["metadata"].update(name=name or f"agent-{node}-{hash_}", uid=f"uid-{node}-{hash_}-{created}")
    p["metadata"]["creationTimestamp"] = timestamp(created)
    p["metadata"]["labels"].pop(daemonset_util.TEMPLATE_GENERATION_LABEL, None)
    p["spec"]["nodeName"] = node
    p["status"] = {"phase": "Running"}
    if ready:
        p["status"]["conditions"] = [{"type": "Ready", "status": "True", "lastTransitionTime": timestamp(T0)}]
    return p


@pytest.mark.parametrize(
    ("extra", "node", "eligible"),
    [
        ({}, _node("a"), True),
        ({"nodeSelector": {"disk": "ssd"}}, _node("a", {"disk": "ssd"}), True),
        ({"nodeSelector": {"disk": "ssd"}}, _node("a"), False),
        ({}, _node("a", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]), False),
        (
            {
                "tolerations": [
                    {"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"}
                ]
            },
            _node("a", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]),
            True,
        ),
        ({}, _node("a", taints=[{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]), True),
        ({}, _node("a", taints=[{"key": "x", "effect": "PreferNoSchedule"}]), True),
        (
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["z1"]}]}
                            ]
                        }
                    }
                }
            },
            _node("a", {"zone": "z2"}),
            False,
        ),
    ],
    ids=[
        "plain",
        "selector-match",
        "selector-miss",
        "taint",
        "tolerated",
        "unreachable-tolerated-by-default",
        "prefer-no-schedule",
        "affinity-miss",
    ],
)
def test_daemonset_node_eligibility(extra: dict, node: dict, eligible: bool) -> None:
    assert daemonset_util.node_should_run(_ds(extra), node) is eligible


def test_daemonset_manage_creates_missing_and_deletes_misplaced() -> None:
    ds = _ds({"nodeSelector": {"role": "edge"}})
    nodes = [_node("a", {"role": "edge"}), _node("b", {"role": "edge"}), _node("c")]
    on_c = _daemon_pod(ds, "c", "h1")
    create, delete = daemonset.manage(ds, nodes, [on_c], "h1", T0)
    assert create == ["a", "b"]
    assert [d["metadata"]["name"] for d in delete] == ["agent-c-h1"]
    new = daemonset_util.daemon_pod(ds, "a", "h1")
    assert daemonset_util.target_node(new) == "a"
    assert "nodeName" not in new["spec"]
    assert new["metadata"]["labels"][history.REVISION_LABEL] == "h1"
    assert new["metadata"]["labels"][daemonset_util.TEMPLATE_GENERATION_LABEL] == "1"


# --- StatefulSet rolling updates -----------------------------------------------------------------


def _onde(sts: dict[str, Any]) -> dict[str, Any]:
    sts["spec"]["updateStrategy"] = {"type": "OnDelete"}
    return sts


@pytest.mark.parametrize(
    ("sts", "members", "delete"),
    [
        (_sts(3), [_member(0, rev="r0"), _member(1, rev="r0"), _member(2, rev="r0")], ["web-2"]),
        (_sts(3), [_member(0, rev="r0"), _member(1, rev="r0"), _member(2)], ["web-1"]),
        (_sts(3, "Parallel"), [_member(0, rev="r0"), _member(1, rev="r0"), _member(2, ready=False)], []),
        (_sts(3, partition=2), [_member(0, rev="r0"), _member(1, rev="r0"), _member(2)], []),
        (_onde(_sts(2)), [_member(0, rev="r0"), _member(1, rev="r0")], []),
        (_sts(3), [_member(0), _member(1), _member(2)], []),
    ],
    ids=["highest-first", "then-next", "wait-for-updated-ready", "partition-stops", "on-delete", "done"],
)
def test_statefulset_rolling_update(sts: dict, members: list, delete: list[str]) -> None:
    assert [m["metadata"]["name"] for m in statefulset.plan(sts, members, "r1").delete] == delete


def _revision(image: str, number: int) -> dict[str, Any]:
    s = _sts(3)
    s["spec"]["template"] = template(image)
    return history.new_revision(s, "StatefulSet", history.template_patch(s), number, 0)


def test_statefulset_versioned_pod_keeps_ordinals_below_partition_at_current() -> None:
    sts = _sts(3, partition=2)
    sts["spec"]["template"] = template("nginx:2")
    current, update = _revision("nginx:1", 1), _revision("nginx:2", 2)
    low = statefulset.versioned_pod(sts, current, update, 1)
    high = statefulset.versioned_pod(sts, current, update, 2)
    assert low["spec"]["containers"][0]["image"] == "nginx:1"
    assert low["metadata"]["labels"][statefulset.REVISION_LABEL] == current["metadata"]["name"]
    assert high["spec"]["containers"][0]["image"] == "nginx:2"
    assert high["metadata"]["labels"][statefulset.REVISION_LABEL] == update["metadata"]["name"]
    assert high["metadata"]["labels"][statefulset.POD_NAME_LABEL] == "web-2"


@pytest.mark.parametrize(
    ("members", "current", "counts"),
    [
        ([_member(0, rev="r0"), _member(1)], "r0", (2, 2, 1, 1)),
        ([_member(0), _member(1)], "r1", (2, 2, 2, 2)),  # complete: current becomes update
        ([_member(0), _member(1, ready=False)], "r0", (2, 1, 0, 2)),
    ],
    ids=["mid-rollout", "complete", "not-ready"],
)
def test_statefulset_status(members: list, current: str, counts: tuple[int, int, int, int]) -> None:
    st = statefulset.status(_sts(2), members, "r0", "r1", 0)
    assert st["currentRevision"] == current and st["updateRevision"] == "r1"
    assert (st["replicas"], st["readyReplicas"], st["currentReplicas"], st["updatedReplicas"]) == counts
    assert st["observedGeneration"] == 1 and st["collisionCount"] == 0


# --- DaemonSet rolling updates --------------------------------------------------------------------


def _three_nodes() -> list[dict[str, Any]]:
    return [_node("a"), _node("b"), _node("c")]


@pytest.mark.parametrize(
    ("unavailable", "pods", "deleted"),
    [
        (1, [("a", "old", True), ("b", "old", True), ("c", "old", True)], ["a"]),
        (2, [("a", "old", True), ("b", "old", True), ("c", "old", True)], ["a", "b"]),
        (1, [("a", "new", False), ("b", "old", True), ("c", "old", True)], []),
        (1, [("a", "new", True), ("b", "old", False), ("c", "old", True)], ["b", "c"]),  # as upstream
        ("50%", [("a", "old", True), ("b", "old", True), ("c", "old", True)], ["a", "b"]),
        (1, [("a", "new", True), ("b", "new", True), ("c", "new", True)], []),
    ],
    ids=[
        "one-at-a-time",
        "max-unavailable-2",
        "wait-new-available",
        "unavailable-old-free",
        "percent-up",
        "done",
    ],
)
def test_daemonset_rolling_update_without_surge(
    unavailable: int | str, pods: list, deleted: list[str]
) -> None:
    ds = _ds(unavailable=unavailable)
    objs = [_daemon_pod(ds, n, "h2" if v == "new" else "h1", ready=r) for n, v, r in pods]
    create, delete = daemonset_update.rolling_update(ds, _three_nodes(), objs, "h2", T0)
    assert create == []
    assert [daemonset_util.target_node(p) for p in delete] == deleted


def test_daemonset_rolling_update_with_surge() -> None:
    ds = _ds(surge=1, unavailable=0)
    old = [_daemon_pod(ds, n, "h1") for n in ("a", "b", "c")]
    assert daemonset_update.rolling_update(ds, _three_nodes(), old, "h2", T0) == (["a"], [])
    starting = [*old, _daemon_pod(ds, "a", "h2", ready=False, created=T0 + 1)]
    assert daemonset_update.rolling_update(ds, _three_nodes(), starting, "h2", T0) == ([], [])
    # manage keeps both pods on "a" while the new one is not available
    assert daemonset.manage(ds, _three_nodes(), starting, "h2", T0) == ([], [])
    up = [*old, _daemon_pod(ds, "a", "h2", created=T0 + 1)]
    create, delete = daemonset_update.rolling_update(ds, _three_nodes(), up, "h2", T0)
    assert [p["metadata"]["name"] for p in delete] == ["agent-a-h1"]
    assert create == ["b"]


def test_daemonset_status_counts_updated_by_hash_or_generation() -> None:
    ds = _ds()
    by_hash = _daemon_pod(ds, "a", "h2")
    by_generation = _daemon_pod(ds, "b", "h1")
    by_generation["metadata"]["labels"][daemonset_util.TEMPLATE_GENERATION_LABEL] = "1"
    old = _daemon_pod(ds, "c", "h1", ready=False)
    st = daemonset.daemon_status(ds, _three_nodes(), [by_hash, by_generation, old], "h2", T0, observed=True)
    assert st["desiredNumberScheduled"] == 3 and st["currentNumberScheduled"] == 3
    assert (st["numberReady"], st["numberAvailable"], st["numberUnavailable"]) == (2, 2, 1)
    assert st["updatedNumberScheduled"] == 2
    assert st["observedGeneration"] == 2


def test_daemonset_history_split_and_cleanup() -> None:
    ds = _ds()
    cur = daemonset_update.snapshot(ds, 1)
    assert cur["metadata"]["labels"][history.REVISION_LABEL] == cur["metadata"]["name"].removeprefix("agent-")
    assert daemonset_update.matches(ds, cur)
    changed = _ds({"hostNetwork": True})
    new = daemonset_update.snapshot(changed, 2)
    current, old, number = daemonset_update.split_history(ds, [cur, new])
    assert current == [cur] and old == [new] and number == 3  # undo: the current one gets 3
    ds["spec"]["revisionHistoryLimit"] = 0
    in_use = _daemon_pod(ds, "a", new["metadata"]["labels"][history.REVISION_LABEL])
    assert daemonset_update.history_to_clean(ds, old, [in_use]) == []
    assert daemonset_update.history_to_clean(ds, old, []) == [new]


def test_daemonset_pod_stays_on_a_not_ready_node_but_none_is_created() -> None:
    ds = _ds()
    not_ready = _node("a", taints=[{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}])
    dedicated = _node("b", taints=[{"key": "dedicated", "effect": "NoExecute"}])
    assert daemonset_util.should_run(ds, not_ready) == (False, True)
    assert daemonset_util.should_run(ds, dedicated) == (False, False)
    on_a, on_b = _daemon_pod(ds, "a", "h1"), _daemon_pod(ds, "b", "h1")
    create, delete = daemonset.manage(ds, [not_ready, dedicated, _node("c")], [on_a, on_b], "h1", T0)
    assert create == ["c"]
    assert delete == [on_b]
