"""Table tests: StatefulSet ordering and DaemonSet node eligibility."""

from __future__ import annotations

from typing import Any

import pytest

from controllers import daemonset, statefulset
from tests.controllers._objects import pod, template


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


def _ds(pod_spec_extra: dict | None = None) -> dict[str, Any]:
    t = template()
    t["spec"].update(pod_spec_extra or {})
    return {
        "metadata": {"name": "agent", "namespace": "default", "uid": "uid-agent"},
        "spec": {"template": t},
    }


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
    assert daemonset.node_should_run(_ds(extra), node) is eligible


def test_daemonset_plan_creates_missing_and_deletes_misplaced() -> None:
    ds = _ds({"nodeSelector": {"role": "edge"}})
    nodes = [_node("a", {"role": "edge"}), _node("b", {"role": "edge"}), _node("c")]
    h = daemonset.template_hash(ds)
    on_c = daemonset.daemon_pod(ds, "c", h)
    on_c["metadata"]["name"] = "agent-c"
    on_c["metadata"]["uid"] = "uid-c"
    on_c["status"] = {"phase": "Running"}
    create, delete = daemonset.plan(ds, nodes, [on_c], h)
    assert create == ["a", "b"]
    assert [d["metadata"]["name"] for d in delete] == ["agent-c"]
    new = daemonset.daemon_pod(ds, "a", h)
    assert daemonset.target_node(new) == "a"
    assert "nodeName" not in new["spec"]
