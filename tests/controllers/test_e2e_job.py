"""Jobs end to end: Indexed mode, pod-failure back-off, finalizer tracking, podFailurePolicy.

The real kubectl against the real API server, the controller manager and the fake
kubelet (conftest.py's ``cluster``): ``busybox:done`` succeeds, ``busybox:fail``
fails, ``busybox:exit-N`` exits with N, anything else runs.
"""

from __future__ import annotations

import json
from typing import Any

from controllers.util import epoch
from tests.controllers.conftest import Cluster, eventually


def _job(name: str, image: str, **spec: Any) -> str:
    return json.dumps(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": name},
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": image}]}
                },
                **spec,
            },
        }
    )


def _pods(cluster: Cluster, job: str) -> list[dict[str, Any]]:
    return list(cluster.get("pods", "-l", f"batch.kubernetes.io/job-name={job}")["items"])


def test_indexed_job(cluster: Cluster) -> None:
    manifest = _job("idx", "busybox:done", completions=3, parallelism=2, completionMode="Indexed")
    cluster.kubectl("apply", "-f", "-", input=manifest)
    out = cluster.kubectl("wait", "--for=condition=complete", "job/idx", "--timeout=60s", timeout=90).stdout
    assert "job.batch/idx condition met" in out
    jsonpath = "jsonpath={.status.completedIndexes}"
    assert cluster.kubectl("get", "job", "idx", "-o", jsonpath).stdout == "0-2"
    pods = _pods(cluster, "idx")
    assert sorted(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"] for p in pods) == [
        "0",
        "1",
        "2",
    ]
    for p in pods:
        index = p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"]
        assert p["metadata"]["name"].startswith(f"idx-{index}-")
        assert p["spec"]["hostname"] == f"idx-{index}"
        assert "subdomain" not in p["spec"]
        assert p["spec"]["containers"][0]["env"][0]["name"] == "JOB_COMPLETION_INDEX"
        assert not p["metadata"].get("finalizers")  # counted, then released


def test_indexed_job_needs_completions(cluster: Cluster) -> None:
    res = cluster.kubectl(
        "apply",
        "-f",
        "-",
        input=_job("idx-bad", "busybox:done", parallelism=2, completionMode="Indexed"),
        check=False,
    )
    assert res.returncode != 0
    assert "spec.completions: Required value: when completion mode is Indexed" in res.stderr


def test_failed_pod_is_replaced_after_the_backoff(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=_job("flaky", "busybox:fail", backoffLimit=1))
    cluster.kubectl("wait", "--for=condition=failed", "job/flaky", "--timeout=60s", timeout=90)
    pods = sorted(_pods(cluster, "flaky"), key=lambda p: p["metadata"]["creationTimestamp"])
    assert len(pods) == 2
    finished = epoch(pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"])
    replaced = epoch(pods[1]["metadata"]["creationTimestamp"])
    assert replaced - finished >= 9  # 10 s, at one-second timestamp precision
    job = cluster.get("job", "flaky")
    assert job["status"]["failed"] == 2
    assert (
        next(c for c in job["status"]["conditions"] if c["type"] == "Failed")["reason"]
        == "BackoffLimitExceeded"
    )


def test_counts_survive_pod_deletion(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=_job("keep", "busybox:done", completions=2, parallelism=2))
    cluster.kubectl("wait", "--for=condition=complete", "job/keep", "--timeout=60s", timeout=90)
    out = cluster.kubectl("delete", "pod", "-l", "batch.kubernetes.io/job-name=keep", "--timeout=30s").stdout
    assert out.count("deleted") == 2, out
    assert _pods(cluster, "keep") == []
    assert cluster.kubectl("get", "job", "keep", "-o", "jsonpath={.status.succeeded}").stdout == "2"


def test_running_pods_of_a_deleted_job_go_away(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=_job("gone", "busybox", parallelism=2, completions=4))
    eventually(
        lambda: [p for p in _pods(cluster, "gone") if p["status"].get("phase") == "Running"][1:],
        what="two running pods",
    )
    assert all(
        p["metadata"]["finalizers"] == ["batch.kubernetes.io/job-tracking"] for p in _pods(cluster, "gone")
    )
    cluster.kubectl("delete", "job", "gone", "--timeout=30s")
    eventually(lambda: _pods(cluster, "gone") == [], what="the pods of the deleted job gone")


def test_pod_failure_policy_fails_the_job(cluster: Cluster) -> None:
    rule = {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}}
    manifest = _job("pfp", "busybox:exit-42", backoffLimit=6, podFailurePolicy={"rules": [rule]})
    cluster.kubectl("apply", "-f", "-", input=manifest)
    cluster.kubectl("wait", "--for=condition=failed", "job/pfp", "--timeout=60s", timeout=90)
    job = cluster.get("job", "pfp")
    failed = next(c for c in job["status"]["conditions"] if c["type"] == "Failed")
    pod = _pods(cluster, "pfp")[0]["metadata"]["name"]
    assert failed["reason"] == "PodFailurePolicy"
    assert failed["message"] == (
        f"Container main for pod default/{pod} failed with exit code 42 matching FailJob rule at index 0"
    )
    assert job["spec"]["podReplacementPolicy"] == "Failed"


def _condition(job: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    return next((c for c in job["status"].get("conditions") or [] if c["type"] == ctype), None)


def test_suspend_and_resume(cluster: Cluster) -> None:
    cluster.kubectl("create", "job", "sus", "--image=busybox")
    eventually(
        lambda: [p for p in _pods(cluster, "sus") if p["status"].get("phase") == "Running"],
        what="a running pod",
    )
    out = cluster.kubectl("patch", "job", "sus", "-p", '{"spec":{"suspend":true}}').stdout
    assert "job.batch/sus patched" in out
    cluster.kubectl("wait", "--for=condition=suspended", "job/sus", "--timeout=30s", timeout=60)
    eventually(lambda: _pods(cluster, "sus") == [], what="the suspended job's pods gone")
    job = cluster.get("job", "sus")
    suspended = _condition(job, "Suspended")
    assert suspended is not None and (suspended["reason"], suspended["message"]) == (
        "JobSuspended",
        "Job suspended",
    )
    assert job["status"]["active"] == 0 and job["status"].get("failed", 0) == 0  # released, not failed
    start = job["status"]["startTime"]
    cluster.kubectl("patch", "job", "sus", "-p", '{"spec":{"suspend":false}}')
    eventually(lambda: _pods(cluster, "sus"), what="a pod of the resumed job")
    job = cluster.get("job", "sus")
    resumed = _condition(job, "Suspended")
    assert resumed is not None and (resumed["status"], resumed["reason"]) == ("False", "JobResumed")
    assert epoch(job["status"]["startTime"]) >= epoch(start)

    def described() -> str | None:
        out = cluster.kubectl("describe", "job", "sus").stdout
        return out if "Resumed" in out else None

    describe = eventually(described, what="the Resumed event")
    assert "Job suspended" in describe and "Job resumed" in describe


def test_job_created_suspended_runs_nothing(cluster: Cluster) -> None:
    cluster.kubectl("apply", "-f", "-", input=_job("sus0", "busybox:done", suspend=True))
    cluster.kubectl("wait", "--for=condition=suspended", "job/sus0", "--timeout=30s", timeout=60)
    job = cluster.get("job", "sus0")
    assert _pods(cluster, "sus0") == [] and "startTime" not in job["status"]


def test_backoff_limit_per_index(cluster: Cluster) -> None:
    manifest = _job(
        "bpi",
        "busybox:fail-index-1",
        completions=3,
        parallelism=3,
        completionMode="Indexed",
        backoffLimitPerIndex=1,
    )
    cluster.kubectl("apply", "-f", "-", input=manifest)
    cluster.kubectl("wait", "--for=condition=failed", "job/bpi", "--timeout=60s", timeout=90)
    job = cluster.get("job", "bpi")
    assert job["status"]["failedIndexes"] == "1" and job["status"]["completedIndexes"] == "0,2"
    failed = _condition(job, "Failed")
    assert failed is not None and (failed["reason"], failed["message"]) == (
        "FailedIndexes",
        "Job has failed indexes",
    )
    assert job["status"]["failed"] == 2 and job["spec"]["backoffLimit"] == 2**31 - 1
    counts = sorted(
        p["metadata"]["annotations"]["batch.kubernetes.io/job-index-failure-count"]
        for p in _pods(cluster, "bpi")
        if p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == "1"
    )
    assert counts == ["0", "1"]  # the replacement inherited its predecessor's failure


def test_max_failed_indexes_needs_backoff_limit_per_index(cluster: Cluster) -> None:
    manifest = _job("bpi-bad", "busybox:done", completions=2, completionMode="Indexed", maxFailedIndexes=1)
    res = cluster.kubectl("apply", "-f", "-", input=manifest, check=False)
    assert res.returncode != 0
    assert "spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified" in res.stderr
