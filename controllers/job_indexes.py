"""Indexed Jobs: completion indexes, and the compressed interval lists that record them.

A Job with ``spec.completionMode: Indexed`` wants one successful pod *per index*
``0 .. completions-1`` rather than ``completions`` successful pods of any kind. Each
pod it creates carries its index

* in the annotation and the label ``batch.kubernetes.io/job-completion-index``;
* in the environment variable ``JOB_COMPLETION_INDEX`` of every container, through a
  downward-API ``fieldRef`` to that label (nothing is copied: the kubelet resolves it);
* in its hostname ``<job>-<index>`` (with ``spec.subdomain`` naming a headless
  Service, pods can then reach each other as ``<job>-<index>.<subdomain>``);
* in its name, generated from ``<job>-<index>-``.

Which indexes succeeded is kept in ``status.completedIndexes`` as ordered intervals
written the way upstream writes them: ``"1,3-5,7"`` (two adjacent numbers are
written ``"3,4"``, never ``"3-4"``); indexes given up under ``backoffLimitPerIndex``
go to ``status.failedIndexes`` in the same format (job_index_failures.py).

Mirrors: pkg/controller/job/indexed_job_utils.go (orderedIntervals, parseIndexesFromString,
firstPendingIndexes, appendDuplicatedIndexPodsForRemoval, addCompletionIndexEnvVariables,
podGenerateNameWithIndex).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from controllers.replicaset import deletion_order
from controllers.util import Obj, meta

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
#: names.MaxGeneratedNameLength: 63 minus the 5 random characters the server appends.
MAX_GENERATED_NAME_LENGTH = 58

Interval = tuple[int, int]  # (first, last), both included


def is_indexed(job: Obj) -> bool:
    return (job.get("spec") or {}).get("completionMode") == "Indexed"


def completion_index(pod: Obj) -> int | None:
    """The pod's index from its annotation; ``None`` when missing or not a number >= 0."""
    value = (meta(pod).get("annotations") or {}).get(COMPLETION_INDEX)
    try:
        ix = int(value) if value is not None else -1
    except ValueError:
        return None
    return ix if ix >= 0 else None


# --- ordered intervals ---------------------------------------------------------------------


def parse(text: str | None, completions: int) -> list[Interval]:
    """``"1,3-5"`` → ``[(1, 1), (3, 5)]``, clipped below ``completions``; junk is skipped."""
    result: list[Interval] = []
    for part in (text or "").split(",") if text else []:
        first_s, _, last_s = part.partition("-")
        try:
            first = int(first_s)
            last = int(last_s) if last_s else first
        except ValueError:
            continue  # "Corrupted indexes interval, ignoring"
        if first >= completions:
            break
        last = min(last, completions - 1)
        if result and result[-1][1] == first - 1:
            result[-1] = (result[-1][0], last)
        else:
            result.append((first, last))
    return result


def merge(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """The union of two ordered interval lists, adjacent intervals joined."""
    result: list[Interval] = []
    for first, last in sorted([*a, *b]):
        if result and first <= result[-1][1] + 1:
            if last > result[-1][1]:
                result[-1] = (result[-1][0], last)
        else:
            result.append((first, last))
    return result


def with_indexes(intervals: Sequence[Interval], indexes: Iterable[int]) -> list[Interval]:
    return merge(intervals, [(i, i) for i in sorted(set(indexes))])


def total(intervals: Sequence[Interval]) -> int:
    return sum(last - first + 1 for first, last in intervals)


def has(intervals: Sequence[Interval], ix: int) -> bool:
    return any(first <= ix <= last for first, last in intervals)


def format_intervals(intervals: Sequence[Interval]) -> str:
    parts = []
    for first, last in intervals:
        if last == first:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")
        else:
            parts.append(f"{first}-{last}")
    return ",".join(parts)


# --- which indexes to run, which pods to remove ----------------------------------------------


def first_pending_indexes(
    active: Iterable[Obj], succeeded: Sequence[Interval], count: int, completions: int
) -> list[int]:
    """The ``count`` lowest indexes below ``completions`` neither running nor succeeded."""
    busy = with_indexes(succeeded, (ix for p in active if (ix := completion_index(p)) is not None))
    result: list[int] = []
    candidate = 0
    while candidate < completions and len(result) < count:
        if has(busy, candidate):
            candidate = next(last for first, last in busy if first <= candidate <= last) + 1
            continue
        result.append(candidate)
        candidate += 1
    return result


def duplicated_index_pods(active: Sequence[Obj], completions: int) -> tuple[list[Obj], list[Obj]]:
    """Split active pods into (to remove, to keep): pods with no index or one out of range
    are removed, and for an index run by several pods all but the most useful one."""
    remove: list[Obj] = []
    by_index: dict[int, list[Obj]] = {}
    for pod in active:
        ix = completion_index(pod)
        if ix is None or ix >= completions:
            remove.append(pod)
        else:
            by_index.setdefault(ix, []).append(pod)
    keep: list[Obj] = []
    for ix in sorted(by_index):
        ordered = deletion_order(by_index[ix])
        remove += ordered[:-1]
        keep.append(ordered[-1])
    return remove, keep


# --- the pod for one index ----------------------------------------------------------------------


def add_index_env(pod_spec: dict[str, Any]) -> None:
    """``JOB_COMPLETION_INDEX`` from the index label in every (init) container."""
    env_var = {
        "name": COMPLETION_INDEX_ENV,
        "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{COMPLETION_INDEX}']"}},
    }
    for key in ("initContainers", "containers"):
        for container in pod_spec.get(key) or []:
            env = container.setdefault("env", [])
            if not any(e.get("name") == COMPLETION_INDEX_ENV for e in env):
                env.append(dict(env_var))


def generate_name(job_name: str, index: int) -> str:
    suffix = f"-{index}-"
    prefix = job_name + suffix
    if len(prefix) > MAX_GENERATED_NAME_LENGTH:
        prefix = prefix[: MAX_GENERATED_NAME_LENGTH - len(suffix)] + suffix
    return prefix


def set_index(pod: Obj, job_name: str, index: int) -> None:
    """Stamp ``index`` on a pod built from the Job's template."""
    m = pod["metadata"]
    m.setdefault("annotations", {})[COMPLETION_INDEX] = str(index)
    m.setdefault("labels", {})[COMPLETION_INDEX] = str(index)
    m["generateName"] = generate_name(job_name, index)
    pod["spec"]["hostname"] = f"{job_name}-{index}"
