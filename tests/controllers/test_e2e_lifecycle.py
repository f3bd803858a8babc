"""Namespace deletion and cascading deletion (background, foreground, orphan), with the real kubectl."""

from __future__ import annotations

import json

from tests.controllers.conftest import Cluster, eventually


def _deployment(name: str, ns: str, replicas: int = 2) -> str:
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                },
            },
        }
    )


def _replicaset(name: str, ns: str, replicas: int = 2) -> str:
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                },
            },
        }
    )


def _names(cluster: Cluster, kind: str, ns: str, selector: str) -> list[str]:
    items = cluster.get(kind, "-n", ns, "-l", selector)["items"]
    return [i["metadata"]["name"] for i in items]


def test_namespace_deletion_empties_and_removes_it(cluster: Cluster) -> None:
    cluster.kubectl("create", "namespace", "doomed")
    cluster.kubectl("apply", "-f", "-", input=_deployment("web", "doomed"))
    cluster.kubectl("create", "configmap", "cfg", "-n", "doomed", "--from-literal=a=b")
    cluster.kubectl("rollout", "status", "deployment/web", "-n", "doomed", "--timeout=60s")
    out = cluster.kubectl("delete", "namespace", "doomed", "--timeout=60s", timeout=90)
    assert 'namespace "doomed" deleted' in out.stdout
    r = cluster.kubectl("get", "namespace", "doomed", check=False)
    assert r.returncode != 0 and "NotFound" in r.stderr


def test_background_cascade(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=_deployment("bg", "default"))
    cluster.kubectl("rollout", "status", "deployment/bg", "--timeout=60s")
    cluster.kubectl("delete", "deployment", "bg", "--cascade=background")
    eventually(lambda: not _names(cluster, "rs", "default", "app=bg"), what="ReplicaSets collected")
    eventually(lambda: not _names(cluster, "pods", "default", "app=bg"), what="pods collected")


def test_foreground_cascade(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=_deployment("fg", "default"))
    cluster.kubectl("rollout", "status", "deployment/fg", "--timeout=60s")
    # kubectl waits until the deployment is really gone: after its dependents.
    cluster.kubectl("delete", "deployment", "fg", "--cascade=foreground", "--timeout=60s", timeout=90)
    assert not _names(cluster, "rs", "default", "app=fg")
    eventually(lambda: not _names(cluster, "pods", "default", "app=fg"), what="pods gone")


def test_orphan_cascade(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=_replicaset("orph", "default"))
    eventually(lambda: len(_names(cluster, "pods", "default", "app=orph")) == 2, what="2 pods")
    cluster.kubectl("delete", "rs", "orph", "--cascade=orphan", "--timeout=60s", timeout=90)
    pods = cluster.get("pods", "-l", "app=orph")["items"]
    assert len(pods) == 2
    assert all(not p["metadata"].get("ownerReferences") for p in pods)


def test_dangling_owner_reference_is_collected(cluster: Cluster) -> None:
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "dangling",
            "namespace": "default",
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost", "uid": "no-such-uid"}
            ],
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(cm))
    eventually(
        lambda: cluster.kubectl("get", "configmap", "dangling", check=False).returncode != 0,
        what="dangling configmap collected",
    )


def test_replicationcontroller_keeps_replicas(cluster: Cluster) -> None:
    rc = {
        "apiVersion": "v1",
        "kind": "ReplicationController",
        "metadata": {"name": "legacy", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"app": "legacy"},
            "template": {
                "metadata": {"labels": {"app": "legacy"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(rc))
    eventually(lambda: len(_names(cluster, "pods", "default", "app=legacy")) == 2, what="2 pods")
    victim = _names(cluster, "pods", "default", "app=legacy")[0]
    cluster.kubectl("delete", "pod", victim)
    eventually(
        lambda: (
            len(_names(cluster, "pods", "default", "app=legacy")) == 2
            and victim not in _names(cluster, "pods", "default", "app=legacy")
        ),
        what="replacement pod",
    )
    eventually(lambda: cluster.get("rc", "legacy")["status"].get("readyReplicas") == 2, what="rc status")
