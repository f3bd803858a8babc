"""Finding the new ReplicaSet, revisions, scaling mid-rollout, and history cleanup.

* The **new** ReplicaSet is the one whose pod template equals the Deployment's,
  ignoring the ``pod-template-hash`` label (:func:`find_new_rs`); all others are old.
* **Revisions**: the new ReplicaSet's ``deployment.kubernetes.io/revision`` is one more
  than the highest old one. ``kubectl rollout undo`` (client-side: it copies an old
  ReplicaSet's template into the Deployment with a PATCH) therefore makes that old
  ReplicaSet the new one again, with a fresh revision number.
* **Annotations** ``deployment.kubernetes.io/desired-replicas`` and ``max-replicas``
  (replicas + maxSurge) record the Deployment size a ReplicaSet was last scaled for:
  proportional scaling reads them (:func:`proportional_sizes`).
* **Cleanup**: old ReplicaSets with no replicas beyond ``revisionHistoryLimit``
  (default 10) are deleted, lowest revision first.

Mirrors: pkg/controller/deployment/sync.go (getNewReplicaSet, scale,
cleanupDeployment, isScalingEvent) and util/deployment_util.go (FindNewReplicaSet,
EqualIgnoreHash, SetNewReplicaSetAnnotations, getReplicaSetFraction, GetProportion).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from client.cache import copy
from controllers.deployment.hash import compute_hash
from controllers.deployment.rolling import (
    by_creation,
    max_surge,
    new_rs_new_replicas,
    replicas,
    total_replicas,
)
from controllers.util import Obj, controller_ref, epoch, meta

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
POD_TEMPLATE_HASH = "pod-template-hash"
DEFAULT_REVISION_HISTORY_LIMIT = 10

#: Deployment annotations not copied to its ReplicaSets (annotationsToSkip).
_SKIP = {
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
}


def revision(obj: Obj) -> int:
    try:
        return int((meta(obj).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def max_revision(rss: Sequence[Obj]) -> int:
    return max((revision(rs) for rs in rss), default=0)


def drop_nulls(value: Any) -> Any:
    """JSON ``null`` and a missing field are the same Go zero value (``creationTimestamp: null``)."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def template_without_hash(template: Obj) -> Obj:
    t: Obj = drop_nulls(template)
    labels = (t.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(POD_TEMPLATE_HASH, None)
    return t


def equal_ignore_hash(a: Obj, b: Obj) -> bool:
    return template_without_hash(a) == template_without_hash(b)


def find_new_rs(d: Obj, rss: Sequence[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template matches the Deployment's (``FindNewReplicaSet``)."""
    template = (d.get("spec") or {}).get("template") or {}
    for rs in by_creation(rss):
        if equal_ignore_hash((rs.get("spec") or {}).get("template") or {}, template):
            return rs
    return None


def replicas_annotations(d: Obj) -> dict[str, str]:
    return {DESIRED_REPLICAS: str(replicas(d)), MAX_REPLICAS: str(replicas(d) + max_surge(d))}


def new_rs_annotations(d: Obj, rs: Obj | None, new_revision: int) -> dict[str, str]:
    """The annotations the new ReplicaSet should carry (``SetNewReplicaSetAnnotations``)."""
    out = dict(meta(rs).get("annotations") or {}) if rs is not None else {}
    for k, v in (meta(d).get("annotations") or {}).items():
        if k not in _SKIP:
            out[k] = v
    old = revision(rs) if rs is not None else 0
    if old < new_revision:
        out[REVISION] = str(new_revision)
        if old > 0:  # reused by an undo: remember the revisions it had
            history = [h for h in out.get(REVISION_HISTORY, "").split(",") if h]
            out[REVISION_HISTORY] = ",".join([*history, str(old)])
    if rs is None:
        out.update(replicas_annotations(d))
    return out


def new_rs_object(d: Obj, old_rss: Sequence[Obj], all_rss: Sequence[Obj]) -> Obj:
    """The ReplicaSet to create for the Deployment's current template."""
    spec = d.get("spec") or {}
    collision = (d.get("status") or {}).get("collisionCount")
    template = drop_nulls(spec.get("template") or {})
    pod_hash = compute_hash(template, collision)
    template.setdefault("metadata", {}).setdefault("labels", {})[POD_TEMPLATE_HASH] = pod_hash
    selector = copy(spec.get("selector") or {})
    selector.setdefault("matchLabels", {})[POD_TEMPLATE_HASH] = pod_hash
    rs: Obj = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"{meta(d)['name']}-{pod_hash}",
            "namespace": meta(d).get("namespace", ""),
            "labels": dict(template["metadata"]["labels"]),
            "ownerReferences": [controller_ref(d, "apps/v1", "Deployment")],
        },
        "spec": {
            "replicas": 0,
            "minReadySeconds": spec.get("minReadySeconds", 0),
            "selector": selector,
            "template": template,
        },
    }
    rs["spec"]["replicas"] = new_rs_new_replicas(d, [*old_rss, rs], rs)
    rs["metadata"]["annotations"] = new_rs_annotations(d, None, max_revision(old_rss) + 1)
    return rs


# --- scaling outside a rollout (sync.go scale) ------------------------------------------------


def is_active(rs: Obj) -> bool:
    return replicas(rs) > 0


def is_scaling_event(d: Obj, rss: Sequence[Obj]) -> bool:
    """Does some active ReplicaSet record a different Deployment size (``isScalingEvent``)?"""
    for rs in rss:
        if not is_active(rs):
            continue
        desired = (meta(rs).get("annotations") or {}).get(DESIRED_REPLICAS)
        if desired is not None and desired != str(replicas(d)):
            return True
    return False


def _fraction(rs: Obj, d: Obj) -> int:
    if replicas(d) == 0:
        return -replicas(rs)
    deployment_replicas = replicas(d) + max_surge(d)
    annotated = (meta(rs).get("annotations") or {}).get(MAX_REPLICAS)
    base = (
        int(annotated)
        if annotated and annotated.isdigit()
        else int((d.get("status") or {}).get("replicas", 0))
    )
    if base <= 0:
        return 0
    new_size = replicas(rs) * deployment_replicas / base
    return int(new_size + 0.5) - replicas(rs)  # math.Round: half away from zero for positives


def proportional_sizes(d: Obj, new_rs: Obj | None, old_rss: Sequence[Obj]) -> dict[str, int]:
    """Target sizes (name → replicas) when a Deployment is resized (``DeploymentController.scale``)."""
    all_rss = [rs for rs in [new_rs, *old_rss] if rs is not None]
    active = [rs for rs in all_rss if is_active(rs)]
    if len(active) <= 1:  # FindActiveOrLatest
        target = active[0] if active else (new_rs or (by_creation(old_rss)[-1] if old_rss else None))
        if target is None or replicas(target) == replicas(d):
            return {}
        return {meta(target)["name"]: replicas(d)}
    if new_rs is not None and replicas(new_rs) == replicas(d) and _available(new_rs) >= replicas(d):
        return {meta(rs)["name"]: 0 for rs in old_rss if is_active(rs)}  # saturated: old go to 0
    allowed = replicas(d) + max_surge(d)
    to_add = allowed - total_replicas(active)
    if to_add == 0:
        return {}

    # Larger first; ties: newer first when growing, older first when shrinking.
    def order(rs: Obj) -> tuple[int, float]:
        created = epoch(meta(rs).get("creationTimestamp"))
        return (-replicas(rs), -created if to_add > 0 else created)

    ordered = sorted(active, key=order)
    sizes: dict[str, int] = {}
    added = 0
    for rs in ordered:
        allowed_left = to_add - added
        fraction = _fraction(rs, d)
        proportion = min(fraction, allowed_left) if allowed_left > 0 else max(fraction, allowed_left)
        sizes[meta(rs)["name"]] = replicas(rs) + proportion
        added += proportion
    first = meta(ordered[0])["name"]
    sizes[first] = max(0, sizes[first] + to_add - added)  # the leftover goes to the largest
    before = {meta(rs)["name"]: replicas(rs) for rs in active}
    return {name: n for name, n in sizes.items() if n != before[name]}


def _available(rs: Obj) -> int:
    return int((rs.get("status") or {}).get("availableReplicas", 0))


def history_to_delete(d: Obj, old_rss: Sequence[Obj]) -> list[Obj]:
    """Old, empty ReplicaSets beyond ``revisionHistoryLimit``, lowest revision first."""
    limit = (d.get("spec") or {}).get("revisionHistoryLimit", DEFAULT_REVISION_HISTORY_LIMIT)
    if limit is None:
        return []
    candidates = [
        rs
        for rs in old_rss
        if replicas(rs) == 0
        and int((rs.get("status") or {}).get("replicas", 0)) == 0
        and not meta(rs).get("deletionTimestamp")
        and int((rs.get("status") or {}).get("observedGeneration", 0)) >= int(meta(rs).get("generation", 0))
    ]
    excess = len([rs for rs in old_rss if not meta(rs).get("deletionTimestamp")]) - int(limit)
    if excess <= 0:
        return []
    candidates.sort(key=lambda rs: (revision(rs), epoch(meta(rs).get("creationTimestamp"))))
    return candidates[:excess]


def annotations_patch(rs: Obj, want: dict[str, str]) -> dict[str, Any] | None:
    have = meta(rs).get("annotations") or {}
    diff = {k: v for k, v in want.items() if have.get(k) != v}
    return {"metadata": {"annotations": diff}} if diff else None
