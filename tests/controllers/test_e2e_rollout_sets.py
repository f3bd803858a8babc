"""kubectl rollout on StatefulSets and DaemonSets, end to end (ControllerRevisions).

The real kubectl against the API server, the controller manager and two simulated
nodes: ``rollout status``, ``set image``, ``rollout history``, ``rollout undo`` (which
sends a revision's ``data`` back as a strategic merge patch) and ``rollout restart``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.apiserver.e2e.conftest import start_server, stop_server
from tests.controllers.conftest import Cluster, eventually


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """This module's own cluster: nodes renew their leases every second, so they never
    look unreachable (the shared fixture's 6 s grace period with 10 s renewals makes
    nodes flap, and a DaemonSet's desired count with them)."""
    tmp = tmp_path_factory.mktemp("rollout-sets")
    server = start_server(tmp, "sqlite")
    c = Cluster(server, tmp)
    try:
        c.start_kubelet("node1,node2", "--lease-renew", "1")
        c.start_controllers("controllers")
        yield c
    finally:
        for name in list(c.procs):
            c.stop(name)
        stop_server(server)


STS = {
    "apiVersion": "apps/v1",
    "kind": "StatefulSet",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {
        "replicas": 3,
        "serviceName": "web",
        "selector": {"matchLabels": {"app": "web-sts"}},
        "template": {
            "metadata": {"labels": {"app": "web-sts"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]},
        },
    },
}
DS = {
    "apiVersion": "apps/v1",
    "kind": "DaemonSet",
    "metadata": {"name": "agent", "namespace": "default"},
    "spec": {
        "selector": {"matchLabels": {"app": "agent-ds"}},
        "template": {
            "metadata": {"labels": {"app": "agent-ds"}},
            "spec": {"nodeSelector": {"type": "fake"}, "containers": [{"name": "agent", "image": "agent:1"}]},
        },
    },
}


def _live(cluster: Cluster, selector: str) -> list[dict]:
    return [
        p for p in cluster.get("pods", "-l", selector)["items"] if not p["metadata"].get("deletionTimestamp")
    ]


def _images(cluster: Cluster, selector: str) -> set[str]:
    return {p["spec"]["containers"][0]["image"] for p in _live(cluster, selector)}


def _revisions(cluster: Cluster, selector: str) -> dict[int, dict]:
    return {r["revision"]: r for r in cluster.get("controllerrevisions", "-l", selector)["items"]}


def _restart(cluster: Cluster, what: str, selector: str, pods: int) -> None:
    """``kubectl rollout restart``: every pod replaced with the restartedAt annotation, revision 4."""
    cluster.kubectl("rollout", "restart", what)
    cluster.kubectl("rollout", "status", what, "--timeout=90s", timeout=120)
    eventually(
        lambda: (
            all(
                "kubectl.kubernetes.io/restartedAt" in (p["metadata"].get("annotations") or {})
                for p in _live(cluster, selector)
            )
            and len(_live(cluster, selector)) == pods
        ),
        what=f"restarted pods of {what}",
    )
    assert sorted(_revisions(cluster, selector)) == [2, 3, 4]


def test_statefulset_set_image_history_undo_restart(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps(STS))
    out = cluster.kubectl("rollout", "status", "statefulset/web", "--timeout=60s", timeout=90).stdout
    assert "partitioned roll out complete: 3 new pods have been updated..." in out
    sts = cluster.get("statefulset", "web")
    revs = _revisions(cluster, "app=web-sts")
    assert list(revs) == [1]
    rev1 = revs[1]["metadata"]["name"]
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"] == rev1
    assert revs[1]["data"]["spec"]["template"]["$patch"] == "replace"
    assert revs[1]["metadata"]["ownerReferences"][0]["uid"] == sts["metadata"]["uid"]
    pods = _live(cluster, "app=web-sts")
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in pods} == {rev1}
    assert {p["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] for p in pods} == {
        "web-0",
        "web-1",
        "web-2",
    }

    cluster.kubectl("set", "image", "statefulset/web", "nginx=nginx:1.28")
    cluster.kubectl("rollout", "status", "statefulset/web", "--timeout=90s", timeout=120)
    eventually(lambda: _images(cluster, "app=web-sts") == {"nginx:1.28"}, what="new image on every pod")
    # the pods were replaced highest ordinal first
    created = {
        p["metadata"]["name"]: p["metadata"]["creationTimestamp"] for p in _live(cluster, "app=web-sts")
    }
    assert created["web-2"] <= created["web-1"] <= created["web-0"]
    # stateful_pod_control.go's own wording, on the StatefulSet
    described = eventually(
        lambda: (
            (out := cluster.kubectl("describe", "statefulset", "web").stdout)
            and "delete Pod web-2 in StatefulSet web successful" in out
            and out
        ),
        what="the StatefulSet's pod events",
    )
    assert "SuccessfulCreate" in described and "create Pod web-0 in StatefulSet web successful" in described
    history = cluster.kubectl("rollout", "history", "statefulset/web").stdout
    assert history.split("\n")[1:4] == ["REVISION  CHANGE-CAUSE", "1         <none>", "2         <none>"]
    rev2 = _revisions(cluster, "app=web-sts")[2]["metadata"]["name"]
    eventually(
        lambda: cluster.get("statefulset", "web")["status"]["currentRevision"] == rev2, what="current = rev 2"
    )
    detail = cluster.kubectl("rollout", "history", "statefulset/web", "--revision=1").stdout
    assert "nginx:1.27" in detail

    out = cluster.kubectl("rollout", "undo", "statefulset/web").stdout
    assert "statefulset.apps/web rolled back" in out
    cluster.kubectl("rollout", "status", "statefulset/web", "--timeout=90s", timeout=120)
    eventually(lambda: _images(cluster, "app=web-sts") == {"nginx:1.27"}, what="undo: old image back")
    revs = _revisions(cluster, "app=web-sts")
    assert sorted(revs) == [2, 3] and revs[3]["metadata"]["name"] == rev1  # reused, renumbered
    out = cluster.kubectl("rollout", "undo", "statefulset/web", "--to-revision=3").stdout
    assert "skipped rollback (current template already matches revision 3)" in out

    _restart(cluster, "statefulset/web", "app=web-sts", pods=3)
    cluster.kubectl("delete", "statefulset", "web")


def test_daemonset_set_image_history_undo_restart(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=json.dumps(DS))
    out = cluster.kubectl("rollout", "status", "daemonset/agent", "--timeout=60s", timeout=90).stdout
    assert 'daemon set "agent" successfully rolled out' in out
    revs = _revisions(cluster, "app=agent-ds")
    assert list(revs) == [1]
    hash1 = revs[1]["metadata"]["labels"]["controller-revision-hash"]
    pods = _live(cluster, "app=agent-ds")
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["node1", "node2"]
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in pods} == {hash1}
    assert {p["metadata"]["labels"]["pod-template-generation"] for p in pods} == {"1"}

    cluster.kubectl("set", "image", "daemonset/agent", "agent=agent:2")
    out = cluster.kubectl("rollout", "status", "daemonset/agent", "--timeout=90s", timeout=120).stdout
    assert 'daemon set "agent" successfully rolled out' in out
    eventually(lambda: _images(cluster, "app=agent-ds") == {"agent:2"}, what="agent:2 everywhere")
    # RealPodControl's wording, on the DaemonSet
    described = eventually(
        lambda: (
            (out := cluster.kubectl("describe", "daemonset", "agent").stdout)
            and "Deleted pod: agent-" in out
            and out
        ),
        what="the DaemonSet's pod events",
    )
    assert "SuccessfulCreate" in described and "Created pod: agent-" in described
    assert {p["metadata"]["labels"]["pod-template-generation"] for p in _live(cluster, "app=agent-ds")} == {
        "2"
    }
    history = cluster.kubectl("rollout", "history", "daemonset/agent").stdout
    assert history.split("\n")[1:4] == ["REVISION  CHANGE-CAUSE", "1         <none>", "2         <none>"]

    out = cluster.kubectl("rollout", "undo", "daemonset/agent").stdout
    assert "daemonset.apps/agent rolled back" in out
    cluster.kubectl("rollout", "status", "daemonset/agent", "--timeout=90s", timeout=120)
    eventually(lambda: _images(cluster, "app=agent-ds") == {"agent:1"}, what="undo: agent:1 back")
    revs = _revisions(cluster, "app=agent-ds")
    assert sorted(revs) == [2, 3] and revs[3]["metadata"]["labels"]["controller-revision-hash"] == hash1

    _restart(cluster, "daemonset/agent", "app=agent-ds", pods=2)
    cluster.kubectl("delete", "daemonset", "agent")
