"""A Service with 150 ready pods: two EndpointSlices of at most 100, edited in place on scale."""

from __future__ import annotations

import json
from typing import Any

from tests.controllers.conftest import Cluster, eventually


def _slices(cluster: Cluster) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cluster.get("endpointslices", "-l", "kubernetes.io/service-name=many")[
        "items"
    ]
    return items


def _covered(cluster: Cluster, n: int) -> list[dict[str, Any]] | None:
    slices = _slices(cluster)
    pods = sorted(ep["targetRef"]["name"] for s in slices for ep in s.get("endpoints") or [])
    ready = all(ep["conditions"]["ready"] for s in slices for ep in s.get("endpoints") or [])
    return slices if len(pods) == n and len(set(pods)) == n and ready else None


def test_150_pods_make_two_slices(cluster: Cluster) -> None:
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "many", "namespace": "default"},
        "spec": {
            "replicas": 150,
            "selector": {"matchLabels": {"app": "many"}},
            "template": {
                "metadata": {"labels": {"app": "many"}},
                "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]},
            },
        },
    }
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "many", "namespace": "default"},
        "spec": {"selector": {"app": "many"}, "ports": [{"port": 80}]},
    }
    for obj in (deploy, svc):
        cluster.kubectl("apply", "-f", "-", input=json.dumps(obj))
    slices = eventually(lambda: _covered(cluster, 150), timeout=90, what="150 endpoints in slices")
    # Two slices of at most 100; how they split depends on the order the pods became
    # ready (a batch that fits no existing slice gets a new one), as upstream.
    assert len(slices) == 2 and all(len(s["endpoints"]) <= 100 for s in slices)
    for s in slices:
        assert s["metadata"]["name"].startswith("many-")
        assert (
            s["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"]
            == "endpointslice-controller.k8s.io"
        )
        assert s["ports"] == [{"name": "", "port": 80, "protocol": "TCP"}]
    out = cluster.kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=many").stdout
    assert len(out.strip().splitlines()) == 3  # header and two slices
    names = {s["metadata"]["name"] for s in slices}

    cluster.kubectl("scale", "deployment", "many", "--replicas=120")
    slices = eventually(lambda: _covered(cluster, 120), timeout=60, what="120 endpoints")
    assert {s["metadata"]["name"] for s in slices} == names  # edited in place, not churned
    assert all(len(s["endpoints"]) <= 100 for s in slices)
