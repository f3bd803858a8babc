"""Table tests of the Job controller's logic: syncs as data, a fake clock, no server.

``_sync`` plays one reconcile the way ``JobController.reconcile`` does: plan, then
(assuming every finalizer removal succeeds) finish.
"""

from __future__ import annotations

from typing import Any

import pytest

from controllers import job, job_failure, job_index_failures, job_indexes, job_status, job_success, job_sync
from controllers.job_failure import BackoffRecord
from controllers.util import find_condition, timestamp
from tests.controllers._objects import T0

FIN = job_status.TRACKING_FINALIZER


def _job(completions: int | None = 3, parallelism: int = 2, backoff: int = 1, **spec: Any) -> dict[str, Any]:
    s: dict[str, Any] = {
        "parallelism": parallelism,
        "backoffLimit": backoff,
        "template": {
            "spec": {"containers": [{"name": "main", "image": "busybox"}], "restartPolicy": "Never"}
        },
        **spec,
    }
    if completions is not None:
        s["completions"] = completions
    return {"metadata": {"name": "j", "namespace": "default", "uid": "uid-j"}, "spec": s, "status": {}}


def _pod(
    name: str,
    phase: str = "Running",
    *,
    index: int | None = None,
    finalizer: bool = True,
    finished: float = T0,
    exit_code: int | None = None,
    conditions: list[dict[str, Any]] | None = None,
    deleting: bool = False,
) -> dict[str, Any]:
    m: dict[str, Any] = {
        "name": name,
        "namespace": "default",
        "uid": f"uid-{name}",
        "creationTimestamp": timestamp(T0 - 100),
        "ownerReferences": [{"kind": "Job", "name": "j", "uid": "uid-j", "controller": True}],
        "finalizers": [FIN] if finalizer else [],
    }
    if index is not None:
        m["annotations"] = {job_indexes.COMPLETION_INDEX: str(index)}
    if deleting:
        m["deletionTimestamp"] = timestamp(finished)
    state: dict[str, Any] = {"running": {}}
    if phase in ("Succeeded", "Failed"):
        code = exit_code if exit_code is not None else (0 if phase == "Succeeded" else 1)
        state = {"terminated": {"exitCode": code, "finishedAt": timestamp(finished)}}
    status = {
        "phase": phase,
        "containerStatuses": [{"name": "main", "state": state, "restartCount": 0}],
        "conditions": conditions or [],
    }
    return {"metadata": m, "spec": {"nodeName": "n"}, "status": status}


def _sync(j: dict[str, Any], pods: list[dict[str, Any]], now: float = T0, **kw: Any) -> job_sync.JobPlan:
    """One reconcile: the plan, then the status after all finalizer removals (in j)."""
    p = job.plan(j, pods, now, **kw)
    removed = {p_["metadata"]["uid"] for p_ in p.remove_finalizers}
    j["status"], _ = job_status.finish(p.status, p, removed, now)
    return p


def _cond(j: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    c = find_condition(j["status"].get("conditions"), ctype)
    return c if c is not None and c.get("status") == "True" else None


# --- counting, completing, failing --------------------------------------------------------------


@pytest.mark.parametrize(
    ("phases", "create", "delete", "condition"),
    [
        ([], 2, 0, None),
        (["Running"], 1, 0, None),
        (["Succeeded", "Running"], 1, 0, None),  # 2 left, 1 running: want min(2, 3-1)=2 → +1
        (["Succeeded", "Succeeded", "Running"], 0, 0, None),
        (["Succeeded"] * 3, 0, 0, "Complete"),
        (["Failed", "Failed"], 0, 0, "Failed"),
        (["Failed", "Running", "Running"], 0, 0, None),
    ],
    ids=[
        "start",
        "one-running",
        "one-done",
        "last-one",
        "complete",
        "backoff-exceeded",
        "one-failure-tolerated",
    ],
)
def test_sync(phases: list[str], create: int, delete: int, condition: str | None) -> None:
    j = _job()
    p = _sync(j, [_pod(f"p{i}", ph) for i, ph in enumerate(phases)])
    assert len(p.create) == create
    assert len(p.delete) == delete
    if condition is None:
        assert not j["status"].get("conditions")
    elif condition == "Failed":
        assert _cond(j, "FailureTarget")["reason"] == "BackoffLimitExceeded"  # type: ignore[index]
        assert _cond(j, "Failed")["message"] == "Job has reached the specified backoff limit"  # type: ignore[index]
        assert j["status"]["failed"] == 2
    else:
        assert _cond(j, "SuccessCriteriaMet") is not None
        assert _cond(j, "Complete")["reason"] == "CompletionsReached"  # type: ignore[index]
        assert j["status"]["succeeded"] == 3 and "completionTime" in j["status"]


def test_failing_job_waits_for_terminating_pods_before_failed() -> None:
    """delayTerminalCondition: FailureTarget at once, Failed once the deleted pods are gone."""
    j = _job(completions=1, parallelism=1, backoff=0)
    failed, running = _pod("a", "Failed"), _pod("b", "Running")
    p = _sync(j, [failed, running])
    assert p.delete == [running] and _cond(j, "FailureTarget") and not _cond(j, "Failed")
    assert j["status"]["failed"] == 2  # the running pod counts as failed once the Job fails
    p = _sync(j, [])
    assert _cond(j, "Failed")["reason"] == "BackoffLimitExceeded"  # type: ignore[index]
    assert j["status"]["failed"] == 2


def test_active_deadline() -> None:
    j = _job()
    j["spec"]["activeDeadlineSeconds"] = 30
    assert job.plan(j, [], T0).requeue_after == 30
    j["status"] = {"startTime": timestamp(T0)}
    p = _sync(j, [_pod("a")], T0 + 31)
    assert _cond(j, "FailureTarget")["reason"] == "DeadlineExceeded"  # type: ignore[index]
    assert len(p.delete) == 1


# --- finalizer-based tracking --------------------------------------------------------------------


def test_created_pods_carry_the_tracking_finalizer() -> None:
    assert job.job_pod(_job())["metadata"]["finalizers"] == [FIN]


def test_finished_pod_is_counted_in_two_steps() -> None:
    j = _job()
    done = _pod("a", "Succeeded")
    p = job.plan(j, [done, _pod("b")], T0)
    assert p.flush and p.status["uncountedTerminatedPods"] == {"succeeded": ["uid-a"]}
    assert p.status.get("succeeded", 0) == 0 and p.remove_finalizers == [done]
    status, changed = job_status.finish(p.status, p, set(), T0)  # the removal failed
    assert not changed and status["uncountedTerminatedPods"] == {"succeeded": ["uid-a"]}
    status, changed = job_status.finish(p.status, p, {"uid-a"}, T0)
    assert changed and status["succeeded"] == 1 and status["uncountedTerminatedPods"] == {}


def test_uncounted_pod_gone_is_counted_and_counted_pods_are_not_recounted() -> None:
    j = _job()
    j["status"] = {"succeeded": 1, "uncountedTerminatedPods": {"succeeded": ["uid-gone"]}}
    counted = _pod("old", "Succeeded", finalizer=False)  # counted by an earlier sync
    _sync(j, [counted])
    assert j["status"]["succeeded"] == 2 and j["status"]["uncountedTerminatedPods"] == {}


def test_pod_whose_finalizer_removal_is_in_flight_is_skipped() -> None:
    j = _job()
    j["status"] = {"succeeded": 1, "uncountedTerminatedPods": {}}
    p = job.plan(j, [_pod("a", "Succeeded")], T0, expected_removals={"uid-a"})
    assert p.remove_finalizers == [] and p.status["uncountedTerminatedPods"] == {}


def test_counts_survive_pod_deletion() -> None:
    j = _job()
    _sync(j, [_pod("a", "Succeeded"), _pod("b", "Succeeded")])
    assert j["status"]["succeeded"] == 2
    p = _sync(j, [])  # the finished pods were deleted (pod GC, kubectl delete pod)
    assert j["status"]["succeeded"] == 2 and len(p.create) == 1


def test_deleted_running_pod_counts_as_failed() -> None:
    j = _job(backoff=6)
    _sync(j, [_pod("a", "Running", deleting=True)])
    assert j["status"]["failed"] == 1


# --- back-off ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "since", "remaining"),
    [(0, 0, 0), (1, 3, 7), (1, 10, 0), (2, 5, 15), (3, 0, 40), (10, 0, 600), (10, 601, 0)],
    ids=["none", "first", "first-over", "second", "third", "capped", "capped-over"],
)
def test_remaining_backoff(failures: int, since: float, remaining: float) -> None:
    record = BackoffRecord(failures, T0 if failures else None)
    assert job_failure.remaining_backoff(record, T0 + since) == remaining


def test_backoff_record_resets_on_success() -> None:
    r = job_failure.next_backoff_record(BackoffRecord(), [], [_pod("a", "Failed", finished=T0)])
    assert r == BackoffRecord(1, T0)
    r = job_failure.next_backoff_record(r, [], [_pod("b", "Failed", finished=T0 + 10)])
    assert r == BackoffRecord(2, T0 + 10)
    r = job_failure.next_backoff_record(
        r, [_pod("c", "Succeeded", finished=T0 + 20)], [_pod("d", "Failed", finished=T0 + 30)]
    )
    assert r == BackoffRecord(1, T0 + 30)
    assert job_failure.next_backoff_record(r, [_pod("e", "Succeeded")], []) == BackoffRecord()


def test_replacement_waits_for_the_backoff() -> None:
    j = _job(completions=1, parallelism=1, backoff=6)
    failed = _pod("a", "Failed", finished=T0)
    p = _sync(j, [failed], T0 + 3)
    assert p.create == [] and p.requeue_after == 7
    record = p.backoff
    assert record == BackoffRecord(1, T0)
    p = _sync(j, [], T0 + 10, backoff=record)
    assert p.create == [None]
    p = _sync(j, [], T0 + 10, backoff=record, backoff_base=0.01)  # injectable
    assert p.create == [None]


# --- Indexed ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indexes", "text"),
    [([], ""), ([0], "0"), ([0, 1, 2], "0-2"), ([3, 4], "3,4"), ([1, 3, 4, 5, 7], "1,3-5,7")],
    ids=["empty", "one", "range", "pair", "mixed"],
)
def test_interval_text(indexes: list[int], text: str) -> None:
    intervals = job_indexes.with_indexes([], indexes)
    assert job_indexes.format_intervals(intervals) == text
    assert job_indexes.parse(text, 100) == intervals
    assert job_indexes.total(intervals) == len(indexes)


def test_parse_clips_to_completions_and_skips_junk() -> None:
    assert job_indexes.parse("0,x,2-9,12", 5) == [(0, 0), (2, 4)]


def test_indexed_pod() -> None:
    j = _job(completionMode="Indexed")
    j["spec"]["template"]["spec"]["subdomain"] = "svc"
    pod = job.job_pod(j, 2)
    m = pod["metadata"]
    assert m["generateName"] == "j-2-"
    assert m["annotations"][job_indexes.COMPLETION_INDEX] == "2"
    assert m["labels"][job_indexes.COMPLETION_INDEX] == "2"
    assert pod["spec"]["hostname"] == "j-2" and pod["spec"]["subdomain"] == "svc"
    assert pod["spec"]["containers"][0]["env"] == [
        {
            "name": "JOB_COMPLETION_INDEX",
            "valueFrom": {
                "fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-completion-index']"}
            },
        }
    ]
    assert "hostname" not in job.job_pod(j)["spec"]


def test_indexed_job_runs_each_index_once() -> None:
    j = _job(completions=3, parallelism=2, completionMode="Indexed")
    assert _sync(j, []).create == [0, 1]
    p = _sync(j, [_pod("a", "Succeeded", index=0), _pod("b", index=1)])
    assert p.create == [2] and j["status"]["completedIndexes"] == "0" and j["status"]["succeeded"] == 1
    # a second pod for index 1 (and one without an index) are removed
    p = _sync(j, [_pod("b", index=1), _pod("b2", index=1), _pod("x")])
    assert len(p.delete) == 2 and "x" in {q["metadata"]["name"] for q in p.delete}
    _sync(j, [_pod("b", "Succeeded", index=1), _pod("c", "Succeeded", index=2)])
    assert j["status"]["completedIndexes"] == "0-2" and j["status"]["succeeded"] == 3
    assert _cond(j, "Complete") is not None


def test_indexed_failed_index_is_retried() -> None:
    j = _job(completions=2, parallelism=2, backoff=6, completionMode="Indexed")
    p = _sync(j, [_pod("a", "Failed", index=0, finished=T0), _pod("b", index=1)], T0 + 60)
    assert p.create == [0] and j["status"]["failed"] == 1


# --- podFailurePolicy ----------------------------------------------------------------------------


def _policy(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"rules": list(rules)}


FAIL_42 = {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}}
IGNORE_DISRUPTION = {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
COUNT_NOT_42 = {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [42]}}
DISRUPTED = [{"type": "DisruptionTarget", "status": "True"}]


@pytest.mark.parametrize(
    ("rules", "pod_kw", "expected"),
    [
        ([FAIL_42], {"exit_code": 42}, ("FailJob", True)),
        ([FAIL_42], {"exit_code": 1}, (None, True)),
        ([IGNORE_DISRUPTION, FAIL_42], {"exit_code": 42, "conditions": DISRUPTED}, ("Ignore", False)),
        ([COUNT_NOT_42], {"exit_code": 3}, ("Count", True)),
        ([COUNT_NOT_42], {"exit_code": 42}, (None, True)),
    ],
    ids=["fail-job", "no-match", "first-rule-wins", "not-in", "not-in-excluded"],
)
def test_match_pod_failure_policy(
    rules: list[dict[str, Any]], pod_kw: dict[str, Any], expected: tuple[Any, bool]
) -> None:
    _, counts, action = job_failure.match_pod_failure_policy(_policy(*rules), _pod("p", "Failed", **pod_kw))
    assert (action, counts) == expected


def test_fail_job_rule_fails_the_job_with_upstream_message() -> None:
    j = _job(completions=1, parallelism=1, backoff=6, podFailurePolicy=_policy(FAIL_42))
    _sync(j, [_pod("p", "Failed", exit_code=42)])
    failed = _cond(j, "Failed")
    assert failed is not None and failed["reason"] == "PodFailurePolicy"
    assert (
        failed["message"]
        == "Container main for pod default/p failed with exit code 42 matching FailJob rule at index 0"
    )


def test_ignored_failures_do_not_count() -> None:
    j = _job(completions=1, parallelism=1, backoff=0, podFailurePolicy=_policy(IGNORE_DISRUPTION))
    p = _sync(j, [_pod("p", "Failed", conditions=DISRUPTED, finished=T0)], T0 + 60)
    assert j["status"].get("failed", 0) == 0 and not _cond(j, "FailureTarget")
    assert p.create == [None]  # replaced once the back-off passed (ignored failures still back off)


# --- suspend -------------------------------------------------------------------------------------


def _suspended(j: dict[str, Any]) -> dict[str, Any] | None:
    return find_condition(j["status"].get("conditions"), "Suspended")


def test_suspended_job_deletes_its_active_pods_and_creates_none() -> None:
    j = _job(suspend=True)
    p = _sync(j, [_pod("a"), _pod("b")])
    assert p.create == [] and len(p.delete) == 2 and p.release  # released, so not counted as failed
    cond = _suspended(j)
    assert cond is not None and (cond["status"], cond["reason"], cond["message"]) == (
        "True",
        "JobSuspended",
        "Job suspended",
    )
    assert p.event == ("Suspended", "Job suspended")
    assert j["status"]["active"] == 0 and j["status"]["terminating"] == 2
    assert "startTime" not in j["status"]  # a Job created suspended has not started
    p = _sync(j, [])
    assert p.create == [] and p.event is None  # the condition is already there


def test_resumed_job_creates_pods_and_restarts_its_deadline_clock() -> None:
    j = _job(suspend=True, activeDeadlineSeconds=30)
    p = _sync(j, [], T0)
    assert p.requeue_after is None  # the deadline's clock does not run while suspended
    _sync(j, [], T0 + 100)
    assert _cond(j, "FailureTarget") is None
    j["spec"]["suspend"] = False
    p = _sync(j, [], T0 + 200)
    cond = _suspended(j)
    assert cond is not None and (cond["status"], cond["reason"], cond["message"]) == (
        "False",
        "JobResumed",
        "Job resumed",
    )
    assert p.event == ("Resumed", "Job resumed") and p.create == [None, None]
    assert j["status"]["startTime"] == timestamp(T0 + 200)
    assert job.plan(j, [_pod("a"), _pod("b")], T0 + 210).requeue_after == 20


def test_never_suspended_job_has_no_suspended_condition() -> None:
    j = _job()
    p = _sync(j, [])
    assert _suspended(j) is None and p.event is None


# --- backoffLimitPerIndex ------------------------------------------------------------------------


def _counted(pod: dict[str, Any], failures: int) -> dict[str, Any]:
    pod["metadata"].setdefault("annotations", {})[job_index_failures.INDEX_FAILURE_COUNT] = str(failures)
    return pod


def _per_index_job(**spec: Any) -> dict[str, Any]:
    return _job(
        completions=3,
        parallelism=3,
        backoff=2**31 - 1,
        completionMode="Indexed",
        **{"backoffLimitPerIndex": 1, **spec},
    )


def test_created_pods_carry_the_index_failure_count() -> None:
    j = _per_index_job()
    assert job.job_pod(j, 0)["metadata"]["annotations"][job_index_failures.INDEX_FAILURE_COUNT] == "0"


def test_failed_pod_waits_for_its_replacement_which_inherits_its_count() -> None:
    j = _per_index_job()
    failed = _counted(_pod("b", "Failed", index=1, finished=T0), 0)
    pods = [_pod("a", index=0), failed, _pod("c", index=2)]
    p = _sync(j, pods, T0 + 5)
    assert p.create == [] and p.requeue_after == 5  # the index's own back-off: 10 s
    assert failed not in p.remove_finalizers  # kept until the replacement exists
    p = _sync(j, pods, T0 + 10)
    assert p.create == [1] and p.annotations[1] == {job_index_failures.INDEX_FAILURE_COUNT: "1"}
    assert j["status"]["failedIndexes"] == "" and _cond(j, "FailureTarget") is None
    replacement = _counted(_pod("b2", index=1), 1)
    p = _sync(j, [*pods, replacement], T0 + 11)
    assert failed in p.remove_finalizers and j["status"]["failed"] == 1


def test_index_out_of_retries_fails_and_the_job_fails_once_all_indexes_finished() -> None:
    j = _per_index_job()
    pods = [
        _pod("a", "Succeeded", index=0),
        _counted(_pod("b", "Failed", index=1), 1),
        _pod("c", index=2),
    ]
    p = _sync(j, pods)
    assert j["status"]["failedIndexes"] == "1" and p.create == []  # index 1 never runs again
    assert _cond(j, "FailureTarget") is None
    _sync(j, [_pod("c", "Succeeded", index=2)])
    failed = _cond(j, "Failed")
    assert failed is not None and (failed["reason"], failed["message"]) == (
        "FailedIndexes",
        "Job has failed indexes",
    )
    assert j["status"]["completedIndexes"] == "0,2" and j["status"]["failedIndexes"] == "1"


def test_max_failed_indexes_exceeded() -> None:
    j = _per_index_job(maxFailedIndexes=0)
    p = _sync(j, [_counted(_pod("a", "Failed", index=0), 1), _pod("b", index=1), _pod("c", index=2)])
    assert _cond(j, "FailureTarget")["reason"] == "MaxFailedIndexesExceeded"  # type: ignore[index]
    assert len(p.delete) == 2


def test_fail_index_rule_fails_the_index_at_once() -> None:
    rule = {"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [42]}}
    j = _per_index_job(podFailurePolicy=_policy(rule), backoffLimitPerIndex=5)
    _sync(
        j, [_counted(_pod("a", "Failed", index=0, exit_code=42), 0), _pod("b", index=1), _pod("c", index=2)]
    )
    assert j["status"]["failedIndexes"] == "0"


# --- successPolicy -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "succeeded", "met"),
    [
        ({"succeededIndexes": "0"}, [0], True),
        ({"succeededIndexes": "0-2"}, [0, 2], False),
        ({"succeededCount": 2}, [1, 3], True),
        ({"succeededIndexes": "1-3", "succeededCount": 2}, [0, 2, 3], True),
        ({"succeededIndexes": "1-3", "succeededCount": 2}, [0, 2], False),
    ],
    ids=["leader", "not-all-indexes", "count", "count-of-indexes", "too-few-of-indexes"],
)
def test_match_success_policy(rule: dict[str, Any], succeeded: list[int], met: bool) -> None:
    message = job_success.match_success_policy({"rules": [rule]}, 5, job_indexes.with_indexes([], succeeded))
    assert (message == "Matched rules at index 0") if met else message is None


def test_success_policy_completes_the_job_and_deletes_the_rest() -> None:
    j = _job(
        completions=3,
        parallelism=3,
        completionMode="Indexed",
        successPolicy={"rules": [{"succeededIndexes": "0"}]},
    )
    p = _sync(j, [_pod("a", "Succeeded", index=0), _pod("b", index=1), _pod("c", index=2)])
    met = _cond(j, "SuccessCriteriaMet")
    assert met is not None and (met["reason"], met["message"]) == (
        "SuccessPolicy",
        "Matched rules at index 0",
    )
    assert len(p.delete) == 2 and _cond(j, "Complete") is None  # waits for the pods to go
    _sync(j, [])
    complete = _cond(j, "Complete")
    assert complete is not None and complete["reason"] == "SuccessPolicy"


def test_resuming_after_the_deadline_passed_fails_the_job_as_upstream() -> None:
    """syncJob checks the deadline against the old startTime before the resume resets it."""
    j = _job(activeDeadlineSeconds=30)
    _sync(j, [], T0)
    j["spec"]["suspend"] = True
    _sync(j, [], T0 + 1)
    j["spec"]["suspend"] = False
    _sync(j, [], T0 + 100)
    assert _cond(j, "Failed")["reason"] == "DeadlineExceeded"  # type: ignore[index]
