"""Jobs, Services' endpoints, per-namespace defaults, node lifecycle and pod GC, end to end."""

from __future__ import annotations

import json
import time

import pytest

from tests.controllers.conftest import Cluster, eventually


def _job(name: str, image: str, *, completions: int = 2, parallelism: int = 2, backoff: int = 1) -> str:
    return json.dumps(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {
                "completions": completions,
                "parallelism": parallelism,
                "backoffLimit": backoff,
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": image}]}
                },
            },
        }
    )


def test_job_completes_and_kubectl_wait_sees_it(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=_job("ok", "busybox:done", completions=3, parallelism=2))
    out = cluster.kubectl("wait", "--for=condition=complete", "job/ok", "--timeout=60s", timeout=90).stdout
    assert "job.batch/ok condition met" in out
    job = cluster.get("job", "ok")
    assert job["status"]["succeeded"] == 3
    assert "completionTime" in job["status"]


def test_job_fails_after_backoff_limit(cluster: Cluster) -> None:
    cluster.kubectl(
        "apply", "-f", "-", input=_job("bad", "busybox:fail", completions=1, parallelism=1, backoff=1)
    )
    cluster.kubectl("wait", "--for=condition=failed", "job/bad", "--timeout=60s", timeout=90)
    job = cluster.get("job", "bad")
    failed = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert failed["message"] == "Job has reached the specified backoff limit"
    assert job["status"]["failed"] == 2


def test_endpoints_and_slices_follow_ready_pods(cluster: Cluster) -> None:
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "api"}},
            "template": {
                "metadata": {"labels": {"app": "api"}},
                "spec": {
                    "containers": [
                        {"name": "c", "image": "nginx", "ports": [{"name": "http", "containerPort": 8080}]}
                    ]
                },
            },
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(deploy))
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "api", "namespace": "default"},
        "spec": {"selector": {"app": "api"}, "ports": [{"name": "web", "port": 80, "targetPort": "http"}]},
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(svc))
    cluster.kubectl("rollout", "status", "deployment/api", "--timeout=60s")

    def ready_addresses() -> int:
        r = cluster.kubectl("get", "endpoints", "api", "-o", "json", check=False)
        if r.returncode != 0:
            return 0
        subsets = json.loads(r.stdout).get("subsets") or []
        return sum(
            len(s.get("addresses") or [])
            for s in subsets
            if s["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
        )

    eventually(lambda: ready_addresses() == 2, what="2 ready addresses on port 8080")
    slices = eventually(
        lambda: [
            s
            for s in cluster.get("endpointslices", "-l", "kubernetes.io/service-name=api")["items"]
            if len(s.get("endpoints") or []) == 2
        ],
        what="an EndpointSlice with 2 endpoints",
    )
    assert slices[0]["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
    assert all(e["conditions"]["ready"] for e in slices[0]["endpoints"])
    cluster.kubectl("scale", "deployment/api", "--replicas=1")
    eventually(lambda: ready_addresses() == 1, what="1 ready address after scale down")


def test_new_namespace_gets_default_serviceaccount_and_root_ca(cluster: Cluster) -> None:
    cluster.kubectl("create", "namespace", "fresh")
    eventually(
        lambda: cluster.kubectl("get", "sa", "default", "-n", "fresh", check=False).returncode == 0,
        what="default SA",
    )
    cm = eventually(
        lambda: (
            cluster.kubectl(
                "get", "configmap", "kube-root-ca.crt", "-n", "fresh", "-o", "json", check=False
            ).stdout
        ),
        what="kube-root-ca.crt",
    )
    assert "BEGIN CERTIFICATE" in json.loads(cm)["data"]["ca.crt"]
    cluster.kubectl("delete", "sa", "default", "-n", "fresh")
    eventually(
        lambda: cluster.kubectl("get", "sa", "default", "-n", "fresh", check=False).returncode == 0,
        what="SA recreated",
    )


def test_node_lease_expiry_taints_node_and_evicts_pods(cluster: Cluster) -> None:
    cluster.start_kubelet("edge", "--lease-renew", "1", name="edge-kubelet")
    eventually(
        lambda: cluster.kubectl("get", "lease", "edge", "-n", "kube-node-lease", check=False).returncode == 0,
        what="edge lease",
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "on-edge", "namespace": "default"},
        "spec": {
            "nodeName": "edge",
            "containers": [{"name": "c", "image": "nginx"}],
            "tolerations": [
                {
                    "key": "node.kubernetes.io/unreachable",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 2,
                }
            ],
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(pod))
    eventually(lambda: cluster.get("pod", "on-edge")["status"].get("phase") == "Running", what="pod running")
    cluster.stop("edge-kubelet")  # the node goes silent; grace period in this cluster: 6 s

    def unreachable_effects(node: dict) -> set[str]:
        taints = node["spec"].get("taints") or []
        return {t["effect"] for t in taints if t["key"] == "node.kubernetes.io/unreachable"}

    def ready_unknown_and_tainted() -> dict | None:
        # two writes, as upstream: monitorNodeHealth sets the condition (status), then
        # the tainting passes add the taints (spec)
        node = cluster.get("node", "edge")
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        return node if ready["status"] == "Unknown" and len(unreachable_effects(node)) == 2 else None

    node = eventually(ready_unknown_and_tainted, timeout=30, what="Ready=Unknown and the unreachable taints")
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["reason"], ready["message"]) == (
        "NodeStatusUnknown",
        "Kubelet stopped posting node status.",
    )
    assert unreachable_effects(node) == {"NoSchedule", "NoExecute"}
    eventually(
        lambda: cluster.get("pod", "on-edge")["metadata"].get("deletionTimestamp"),
        timeout=20,
        what="pod evicted",
    )

    # Pod GC: the node is deleted, its pods are orphans and get force-deleted.
    cluster.kubectl("delete", "node", "edge")
    eventually(
        lambda: cluster.kubectl("get", "pod", "on-edge", check=False).returncode != 0,
        timeout=20,
        what="orphan pod removed",
    )


def test_statefulset_ordered_names(cluster: Cluster) -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {
            "replicas": 3,
            "serviceName": "db",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "c", "image": "postgres"}]},
            },
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(sts))
    out = cluster.kubectl("rollout", "status", "statefulset/db", "--timeout=60s", timeout=90).stdout
    assert "partitioned roll out complete" in out or "roll out complete" in out
    names = sorted(p["metadata"]["name"] for p in cluster.get("pods", "-l", "app=db")["items"])
    assert names == ["db-0", "db-1", "db-2"]
    created = {
        p["metadata"]["name"]: p["metadata"]["creationTimestamp"]
        for p in cluster.get("pods", "-l", "app=db")["items"]
    }
    assert created["db-0"] <= created["db-1"] <= created["db-2"]
    cluster.kubectl("scale", "statefulset/db", "--replicas=1")
    eventually(
        lambda: (
            sorted(p["metadata"]["name"] for p in cluster.get("pods", "-l", "app=db")["items"]) == ["db-0"]
        ),
        what="scaled down to db-0",
    )


def test_daemonset_one_pod_per_eligible_node(cluster: Cluster) -> None:
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"nodeSelector": {"type": "fake"}, "containers": [{"name": "c", "image": "agent"}]},
            },
        },
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(ds))
    cluster.kubectl("rollout", "status", "daemonset/agent", "--timeout=60s", timeout=90)
    pods = cluster.get("pods", "-l", "app=agent")["items"]
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["node1", "node2"]
    d = cluster.get("daemonset", "agent")
    assert d["status"]["desiredNumberScheduled"] == 2 and d["status"]["numberReady"] == 2


@pytest.mark.slow
def test_cronjob_runs_at_the_next_minute(cluster: Cluster) -> None:
    cluster.kubectl("create", "cronjob", "tick", "--image=busybox:done", "--schedule=* * * * *", "--", "true")
    jobs = eventually(
        lambda: [j for j in cluster.get("jobs")["items"] if j["metadata"]["name"].startswith("tick-")],
        timeout=80,
        what="a Job from the CronJob",
    )
    name = jobs[0]["metadata"]["name"]
    minutes = int(name.removeprefix("tick-"))
    assert jobs[0]["metadata"]["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"].endswith(
        ":00Z"
    )
    assert jobs[0]["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
    cluster.kubectl("wait", "--for=condition=complete", f"job/{name}", "--timeout=60s", timeout=90)
    cj = eventually(
        lambda: (c := cluster.get("cronjob", "tick"))["status"].get("lastSuccessfulTime") and c,
        what="lastSuccessfulTime",
    )
    assert cj["status"]["lastScheduleTime"]
    assert minutes * 60 <= time.time()

    def cronjob_events() -> set[tuple[str, str]] | None:  # cronjob_controllerv2.go's wording
        sel = "involvedObject.kind=CronJob,involvedObject.name=tick"
        found = {(e["reason"], e["message"]) for e in cluster.get("events", "--field-selector", sel)["items"]}
        return found if any(reason == "SawCompletedJob" for reason, _ in found) else None

    found = eventually(cronjob_events, what="the CronJob's events")
    assert ("SuccessfulCreate", f"Created job {name}") in found
    assert ("SawCompletedJob", f"Saw completed job: {name}, condition: Complete") in found
    assert not any(reason == "UnexpectedJob" for reason, _ in found)
    cluster.kubectl("delete", "cronjob", "tick")
