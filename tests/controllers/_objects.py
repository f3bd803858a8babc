"""Small builders for the plain-dict objects the controller tests use."""

from __future__ import annotations

from typing import Any

from controllers.util import timestamp

T0 = 1_700_000_000.0


def pod(
    name: str,
    *,
    node: str = "",
    phase: str = "Pending",
    ready: bool = False,
    ready_since: float = T0,
    created: float = T0,
    restarts: int = 0,
    labels: dict[str, str] | None = None,
    owner: dict[str, Any] | None = None,
    deleting: bool = False,
    ns: str = "default",
) -> dict[str, Any]:
    m: dict[str, Any] = {
        "name": name,
        "namespace": ns,
        "uid": f"uid-{name}",
        "creationTimestamp": timestamp(created),
        "labels": labels if labels is not None else {"app": "web"},
    }
    if owner is not None:
        m["ownerReferences"] = [owner]
    if deleting:
        m["deletionTimestamp"] = timestamp(created)
    status: dict[str, Any] = {"phase": phase, "containerStatuses": [{"name": "c", "restartCount": restarts}]}
    if ready:
        status["conditions"] = [
            {"type": "Ready", "status": "True", "lastTransitionTime": timestamp(ready_since)}
        ]
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "nginx"}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": spec, "status": status}


def owner_ref(kind: str, name: str, *, controller: bool = True, block: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1" if kind in ("ReplicaSet", "Deployment") else "v1",
        "kind": kind,
        "name": name,
        "uid": f"uid-{name}",
        "controller": controller,
        "blockOwnerDeletion": block,
    }


def rs(
    name: str,
    replicas: int,
    *,
    available: int = 0,
    status_replicas: int | None = None,
    created: float = T0,
    revision: int | None = None,
    image: str = "nginx",
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    ann = dict(annotations or {})
    if revision is not None:
        ann["deployment.kubernetes.io/revision"] = str(revision)
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": f"uid-{name}",
            "generation": 1,
            "creationTimestamp": timestamp(created),
            "annotations": ann,
            "labels": {"app": "web"},
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": template(image),
        },
        "status": {
            "replicas": replicas if status_replicas is None else status_replicas,
            "availableReplicas": available,
            "readyReplicas": available,
            "observedGeneration": 1,
        },
    }


def template(image: str = "nginx") -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": image}]},
    }


def deployment(
    replicas: int,
    *,
    surge: int | str = "25%",
    unavailable: int | str = "25%",
    recreate: bool = False,
    image: str = "nginx",
    status: dict[str, Any] | None = None,
    generation: int = 1,
) -> dict[str, Any]:
    strategy: dict[str, Any] = (
        {"type": "Recreate"}
        if recreate
        else {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}
    )
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "uid": "uid-web", "generation": generation},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": template(image),
            "strategy": strategy,
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
        },
        "status": status or {},
    }
