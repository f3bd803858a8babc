"""Deployments end to end: the real kubectl, API server, controller manager and a fake kubelet."""

from __future__ import annotations

import json

from tests.controllers.conftest import Cluster, eventually

MANIFEST = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]},
        },
    },
}


def _pods(cluster: Cluster, selector: str = "app=web") -> list[dict]:
    return [
        p for p in cluster.get("pods", "-l", selector)["items"] if not p["metadata"].get("deletionTimestamp")
    ]


def test_rollout_scale_set_image_undo(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps(MANIFEST))
    out = cluster.kubectl("rollout", "status", "deployment/web", "--timeout=60s").stdout
    assert 'deployment "web" successfully rolled out' in out
    d = cluster.get("deployment", "web")
    assert d["status"]["availableReplicas"] == 3
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    conds = {c["type"]: c for c in d["status"]["conditions"]}
    assert conds["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
    rs1 = cluster.get("rs", "-l", "app=web")["items"][0]["metadata"]["name"]
    assert conds["Progressing"]["message"] == f'ReplicaSet "{rs1}" has successfully progressed.'
    assert len(_pods(cluster)) == 3

    cluster.kubectl("scale", "deployment/web", "--replicas=5")
    eventually(lambda: len(_pods(cluster)) == 5, what="5 pods")
    cluster.kubectl("rollout", "status", "deployment/web", "--timeout=60s")

    cluster.kubectl("set", "image", "deployment/web", "nginx=nginx:1.28")
    out = cluster.kubectl("rollout", "status", "deployment/web", "--timeout=90s").stdout
    assert "successfully rolled out" in out
    images = {p["spec"]["containers"][0]["image"] for p in _pods(cluster)}
    eventually(
        lambda: {p["spec"]["containers"][0]["image"] for p in _pods(cluster)} == {"nginx:1.28"},
        what=f"new image only (had {images})",
    )
    rss = cluster.get("rs", "-l", "app=web")["items"]
    assert sorted(rs["spec"]["replicas"] for rs in rss) == [0, 5]

    history = cluster.kubectl("rollout", "history", "deployment/web").stdout
    assert "1" in history and "2" in history

    cluster.kubectl("rollout", "undo", "deployment/web")
    cluster.kubectl("rollout", "status", "deployment/web", "--timeout=90s")
    eventually(
        lambda: {p["spec"]["containers"][0]["image"] for p in _pods(cluster)} == {"nginx:1.27"}, what="undo"
    )
    d = cluster.get("deployment", "web")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert len(cluster.get("rs", "-l", "app=web")["items"]) == 2  # the old RS was reused


def test_pause_resume_restart(cluster: Cluster) -> None:
    cluster.kubectl("rollout", "pause", "deployment/web")
    eventually(
        lambda: any(
            c["reason"] == "DeploymentPaused"
            for c in cluster.get("deployment", "web")["status"]["conditions"]
        ),
        what="DeploymentPaused",
    )
    cluster.kubectl("set", "image", "deployment/web", "nginx=nginx:1.29")
    rs_count = len(cluster.get("rs", "-l", "app=web")["items"])
    assert rs_count == 2  # paused: no new ReplicaSet
    cluster.kubectl("rollout", "resume", "deployment/web")
    cluster.kubectl("rollout", "status", "deployment/web", "--timeout=90s")
    cluster.kubectl("rollout", "restart", "deployment/web")
    cluster.kubectl("rollout", "status", "deployment/web", "--timeout=90s")
    rss = cluster.get("rs", "-l", "app=web")["items"]
    assert len(rss) == 4
    assert sum(rs["spec"]["replicas"] for rs in rss) == 5


def test_progress_deadline_exceeded(cluster: Cluster) -> None:
    stuck = json.loads(json.dumps(MANIFEST))
    stuck["metadata"]["name"] = "stuck"
    stuck["spec"]["progressDeadlineSeconds"] = 3
    stuck["spec"]["selector"]["matchLabels"] = {"app": "stuck"}
    stuck["spec"]["template"]["metadata"]["labels"] = {"app": "stuck"}
    stuck["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:pending"  # never becomes Ready
    cluster.kubectl("apply", "-f", "-", input=json.dumps(stuck))
    r = cluster.kubectl("rollout", "status", "deployment/stuck", "--timeout=60s", check=False, timeout=90)
    assert r.returncode != 0
    assert 'deployment "stuck" exceeded its progress deadline' in r.stderr
    d = cluster.get("deployment", "stuck")
    cond = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert (cond["status"], cond["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert cond["message"].endswith("has timed out progressing.")
    cluster.kubectl("delete", "deployment", "stuck")
