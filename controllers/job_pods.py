"""The pods manageJob creates and deletes.

:func:`job_pod` is the pod made from the Job's template: the Job's labels
(``batch.kubernetes.io/controller-uid``, ``batch.kubernetes.io/job-name`` and their
legacy twins), the tracking finalizer, and for an Indexed Job its completion index
(annotation, label, ``JOB_COMPLETION_INDEX`` and the hostname; job_indexes.py) and,
with ``backoffLimitPerIndex``, the index's failure counts. :func:`active_pods_for_removal`
picks the active pods to delete when there are too many: for an Indexed Job the
duplicated and out-of-range indexes first, then the least useful (``deletion_order``,
as the ReplicaSet controller).

Mirrors: pkg/controller/job/job_controller.go (manageJob's pod template,
activePodsForRemoval) and pkg/controller/job/indexed_job_utils.go
(addCompletionIndexEnvVariables, addCompletionIndexAnnotation).
"""

from __future__ import annotations

from client.cache import copy
from controllers import job_index_failures as fails
from controllers import job_indexes as ix
from controllers.job_status import TRACKING_FINALIZER
from controllers.replicaset import deletion_order, pod_from_template
from controllers.util import Obj, meta


def job_pod(job: Obj, index: int | None = None, annotations: dict[str, str] | None = None) -> Obj:
    template = copy((job.get("spec") or {}).get("template") or {})
    labels = template.setdefault("metadata", {}).setdefault("labels", {})
    uid, name = meta(job)["uid"], meta(job)["name"]
    labels.update(
        {
            "batch.kubernetes.io/controller-uid": uid,
            "controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "job-name": name,
        }
    )
    finalizers = template["metadata"].setdefault("finalizers", [])
    if TRACKING_FINALIZER not in finalizers:
        finalizers.append(TRACKING_FINALIZER)
    if index is not None:
        ix.add_index_env(template.setdefault("spec", {}))
    pod = pod_from_template(job, template, "batch/v1", "Job")
    if index is not None:
        ix.set_index(pod, name, index)
        if fails.has_backoff_limit_per_index(job):
            counts = annotations if annotations is not None else fails.replacement_annotations(job, None)
            pod["metadata"].setdefault("annotations", {}).update(counts)
    return pod


def active_pods_for_removal(job: Obj, active: list[Obj], at_least: int) -> list[Obj]:
    """Indexed: duplicated, missing and out-of-range indexes first; then the least useful."""
    if ix.is_indexed(job):
        remove, left = ix.duplicated_index_pods(active, int((job.get("spec") or {}).get("completions") or 0))
    else:
        remove, left = [], active
    if len(remove) < at_least:
        remove += deletion_order(left)[: at_least - len(remove)]
    return remove
