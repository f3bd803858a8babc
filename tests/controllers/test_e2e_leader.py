"""Leader election: two controller managers, one acts; kill it and the other takes over."""

from __future__ import annotations

import json
import time

from tests.controllers.conftest import Cluster, eventually

FAST = (
    "--leader-elect",
    "--leader-elect-lease-duration",
    "4",
    "--leader-elect-renew-deadline",
    "3",
    "--leader-elect-retry-period",
    "1",
)


def _holder(cluster: Cluster) -> str:
    r = cluster.kubectl(
        "get", "lease", "kube-controller-manager", "-n", "kube-system", "-o", "json", check=False
    )
    return json.loads(r.stdout)["spec"].get("holderIdentity", "") if r.returncode == 0 else ""


def _running_pods(cluster: Cluster) -> int:
    pods = cluster.get("pods", "-l", "app=le")["items"]
    return sum(1 for p in pods if not p["metadata"].get("deletionTimestamp"))


def test_leader_failover(cluster: Cluster) -> None:
    cluster.stop("controllers")
    cluster.start_controllers("cm-a", *FAST, "--identity", "cm-a")
    eventually(lambda: _holder(cluster) == "cm-a", what="cm-a leads")
    cluster.start_controllers("cm-b", *FAST, "--identity", "cm-b")
    time.sleep(2)
    assert _holder(cluster) == "cm-a"
    assert "started controllers" not in cluster.log("cm-b")

    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "le", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "le"}},
            "template": {
                "metadata": {"labels": {"app": "le"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(deploy))
    cluster.kubectl("rollout", "status", "deployment/le", "--timeout=60s")

    cluster.procs["cm-a"].kill()  # a crash: no release, cm-b waits out the lease
    cluster.procs.pop("cm-a").wait()
    eventually(lambda: _holder(cluster) == "cm-b", timeout=20, what="cm-b takes over")
    cluster.kubectl("scale", "deployment/le", "--replicas=4")
    eventually(lambda: _running_pods(cluster) == 4, timeout=30, what="cm-b scales to 4")
    cluster.kubectl("rollout", "status", "deployment/le", "--timeout=60s")

    cluster.stop("cm-b")  # a clean stop releases the lease: holder emptied
    eventually(lambda: _holder(cluster) == "", timeout=10, what="lease released")
