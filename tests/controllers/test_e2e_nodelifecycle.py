"""A kubelet that renews its lease but reports ``Ready=False``: taints, pods marked not ready."""

from __future__ import annotations

import json
from typing import Any

from tests.controllers.conftest import Cluster, eventually

NR = "node.kubernetes.io/not-ready"


def _taints(cluster: Cluster, node: str) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in cluster.get("node", node)["spec"].get("taints") or []}


def _ready(pod: dict[str, Any]) -> str:
    return next((c["status"] for c in pod["status"].get("conditions") or [] if c["type"] == "Ready"), "")


def test_node_reporting_not_ready_is_tainted_and_its_pods_marked(cluster: Cluster) -> None:
    sick = cluster.tmp / "sick"
    cluster.start_kubelet(
        "sick", "--lease-renew", "1", "--no-bind", "--not-ready-file", str(sick), name="sick"
    )
    eventually(lambda: cluster.kubectl("get", "node", "sick", check=False).returncode == 0, what="node sick")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "on-sick", "namespace": "default", "labels": {"app": "sick"}},
        "spec": {
            "nodeName": "sick",
            "containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}],
        },
    }
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "sick", "namespace": "default"},
        "spec": {"selector": {"app": "sick"}, "ports": [{"port": 80}]},
    }
    for obj in (pod, svc):
        cluster.kubectl("apply", "-f", "-", input=json.dumps(obj))
    eventually(lambda: _ready(cluster.get("pod", "on-sick")) == "True", what="pod ready")
    eventually(lambda: cluster.get("endpoints", "sick").get("subsets"), what="endpoints")
    assert _taints(cluster, "sick") == set()

    sick.write_text("")  # the kubelet keeps renewing its lease but reports Ready=False
    eventually(
        lambda: _taints(cluster, "sick") == {(NR, "NoSchedule"), (NR, "NoExecute")},
        timeout=20,
        what="not-ready taints",
    )
    describe = cluster.kubectl("describe", "node", "sick").stdout
    assert "node.kubernetes.io/not-ready:NoExecute" in describe
    assert "node.kubernetes.io/not-ready:NoSchedule" in describe
    eventually(lambda: _ready(cluster.get("pod", "on-sick")) == "False", timeout=20, what="pod not ready")
    subsets = eventually(
        lambda: [
            s for s in cluster.get("endpoints", "sick").get("subsets") or [] if s.get("notReadyAddresses")
        ],
        what="address moved to notReadyAddresses",
    )
    assert not subsets[0].get("addresses")

    def pod_event() -> Any:
        events = cluster.get("events", "--field-selector", "involvedObject.name=on-sick,reason=NodeNotReady")
        return events["items"]

    (event,) = eventually(pod_event, what="NodeNotReady event on the pod")
    assert (event["type"], event["message"], event["source"]["component"]) == (
        "Warning",
        "Node is not ready",
        "node-controller",
    )
    node_events = eventually(
        lambda: cluster.get("events", "--field-selector", "involvedObject.name=sick,reason=NodeNotReady")[
            "items"
        ],
        what="NodeNotReady event on the node",
    )
    assert [e["message"] for e in node_events] == ["Node sick status is now: NodeNotReady"]

    sick.unlink()  # Ready again: the taints go (the pod's readiness is the kubelet's to restore)
    eventually(lambda: _taints(cluster, "sick") == set(), timeout=20, what="taints removed")
    assert cluster.get("pod", "on-sick")["metadata"].get("deletionTimestamp") is None  # tolerated 300 s
    cluster.stop("sick")
    cluster.kubectl("delete", "pod", "on-sick", "--grace-period=0", "--force", check=False)
    cluster.kubectl("delete", "node", "sick")
