"""The controllers' events, as ``kubectl describe`` shows them, against a real cluster.

The wording is upstream's: pkg/controller/deployment/sync.go (ScalingReplicaSet),
pkg/controller/controller_utils.go (SuccessfulCreate / SuccessfulDelete),
pkg/controller/job/job_controller.go (Completed, BackoffLimitExceeded).
"""

from __future__ import annotations

import json
from typing import Any

from tests.controllers.conftest import Cluster, eventually


def describe_until(cluster: Cluster, kind: str, name: str, text: str, times: int = 1) -> str:
    """``kubectl describe`` output once it shows ``text`` (``times`` times): events arrive late."""

    def check() -> str | None:
        out = cluster.kubectl("describe", kind, name).stdout
        return out if out.count(text) >= times else None

    result: str = eventually(check, what=f"{text!r} in kubectl describe {kind} {name}")
    return result


def events_of(cluster: Cluster, kind: str, name: str) -> list[dict[str, Any]]:
    selector = f"involvedObject.kind={kind},involvedObject.name={name}"
    items: list[dict[str, Any]] = cluster.get("events", "--field-selector", selector)["items"]
    return items


def test_deployment_and_replicaset_events(cluster: Cluster) -> None:
    cluster.kubectl("create", "deployment", "evweb", "--image=nginx:1.27", "--replicas=3")
    cluster.kubectl("rollout", "status", "deployment/evweb", "--timeout=60s", timeout=90)
    (rs,) = cluster.get("rs", "-l", "app=evweb")["items"]
    rs_name = rs["metadata"]["name"]

    out = describe_until(cluster, "deployment", "evweb", "ScalingReplicaSet")
    assert f"Scaled up replica set {rs_name} from 0 to 3" in out
    assert "deployment-controller" in out

    out = describe_until(cluster, "rs", rs_name, "SuccessfulCreate", times=3)
    pods = [p["metadata"]["name"] for p in cluster.get("pods", "-l", "app=evweb")["items"]]
    for pod in pods:
        assert f"Created pod: {pod}" in out
    assert "replicaset-controller" in out

    cluster.kubectl("scale", "deployment/evweb", "--replicas=1")
    eventually(
        lambda: any(
            e["message"] == f"Scaled down replica set {rs_name} from 3 to 1"
            for e in events_of(cluster, "Deployment", "evweb")
        ),
        what="Scaled down event",
    )
    deleted = eventually(
        lambda: [e for e in events_of(cluster, "ReplicaSet", rs_name) if e["reason"] == "SuccessfulDelete"],
        what="SuccessfulDelete events",
    )
    assert all(e["message"].startswith("Deleted pod: evweb-") for e in deleted)
    first = events_of(cluster, "Deployment", "evweb")[0]
    assert first["source"] == {"component": "deployment-controller"}
    assert first["reportingComponent"] == "deployment-controller"
    assert first["involvedObject"]["uid"] == cluster.get("deployment", "evweb")["metadata"]["uid"]


def _job(name: str, image: str, backoff: int) -> str:
    return json.dumps(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "backoffLimit": backoff,
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": image}]}
                },
            },
        }
    )


def test_job_events(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=_job("evok", "busybox:done", 1))
    cluster.kubectl("wait", "--for=condition=complete", "job/evok", "--timeout=60s", timeout=90)
    out = describe_until(cluster, "job", "evok", "Completed")
    assert "Job completed" in out
    assert "SuccessfulCreate" in out and "Created pod: evok-" in out
    assert "job-controller" in out

    cluster.kubectl("apply", "-f", "-", input=_job("evbad", "busybox:fail", 0))
    cluster.kubectl("wait", "--for=condition=failed", "job/evbad", "--timeout=60s", timeout=90)
    failed = eventually(
        lambda: [e for e in events_of(cluster, "Job", "evbad") if e["reason"] == "BackoffLimitExceeded"],
        what="BackoffLimitExceeded event",
    )
    assert failed[0]["type"] == "Warning"
    assert failed[0]["message"] == "Job has reached the specified backoff limit"


def test_node_lifecycle_events(cluster: Cluster) -> None:
    cluster.start_kubelet("evedge", "--lease-renew", "1", name="evedge-kubelet")
    registered = eventually(
        lambda: [e for e in events_of(cluster, "Node", "evedge") if e["reason"] == "RegisteredNode"],
        what="RegisteredNode event",
    )
    assert registered[0]["message"] == "Registered Node evedge in Controller"
    assert registered[0]["source"] == {"component": "node-controller"}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "on-evedge", "namespace": "default"},
        "spec": {
            "nodeName": "evedge",
            "containers": [{"name": "c", "image": "nginx"}],
            "tolerations": [
                {
                    "key": "node.kubernetes.io/unreachable",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 1,
                }
            ],
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(pod))
    eventually(
        lambda: cluster.get("pod", "on-evedge")["status"].get("phase") == "Running", what="pod running"
    )
    cluster.stop("evedge-kubelet")  # silent for the 6 s grace period: NotReady, tainted, evicted
    eventually(
        lambda: any(
            e["reason"] == "NodeNotReady" and e["message"] == "Node evedge status is now: NodeNotReady"
            for e in events_of(cluster, "Node", "evedge")
        ),
        timeout=40,
        what="NodeNotReady event",
    )
    evicted = eventually(
        lambda: [e for e in events_of(cluster, "Pod", "on-evedge") if e["reason"] == "TaintManagerEviction"],
        timeout=30,
        what="TaintManagerEviction event",
    )
    assert evicted[0]["message"] == "Marking for deletion Pod default/on-evedge"
