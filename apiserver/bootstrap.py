"""Objects every cluster has from its first second: the system namespaces and ``kubernetes``.

Mirrors the API server's own bootstrap controllers:
k8s pkg/controlplane/controller/systemnamespaces (``default``, ``kube-system``,
``kube-public``, ``kube-node-lease``) and
pkg/controlplane/controller/kubernetesservice (the ``default/kubernetes`` Service on
the first IP of the service range, and its Endpoints pointing at this server).
Both run through the same registry as any client's request, so the objects get
the same defaults and validation; existing ones are left alone.
"""

from __future__ import annotations

import logging

from apimachinery import errors
from apiserver.options import ServerOptions
from apiserver.registry.registry import Registry

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
KUBERNETES_SERVICE_IP = "10.96.0.1"


async def _create_if_missing(registry: Registry, resource: str, namespace: str, obj: dict) -> None:
    entry = registry.get("", "v1", resource)
    assert entry is not None
    try:
        await entry.store.create(obj, namespace)
    except errors.StatusError as e:
        if e.code != 409:
            raise


async def ensure_default_objects(registry: Registry, options: ServerOptions) -> None:
    for name in SYSTEM_NAMESPACES:
        await _create_if_missing(
            registry, "namespaces", "", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        )
    labels = {"component": "apiserver", "provider": "kubernetes"}
    await _create_if_missing(
        registry,
        "services",
        "default",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default", "labels": labels},
            "spec": {
                "type": "ClusterIP",
                "clusterIP": KUBERNETES_SERVICE_IP,
                "clusterIPs": [KUBERNETES_SERVICE_IP],
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": options.port}],
                "sessionAffinity": "None",
            },
        },
    )
    address = options.bind_address if options.bind_address not in ("0.0.0.0", "::", "") else "127.0.0.1"
    await _create_if_missing(
        registry,
        "endpoints",
        "default",
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
            },
            "subsets": [
                {
                    "addresses": [{"ip": address}],
                    "ports": [{"name": "https", "port": options.port, "protocol": "TCP"}],
                }
            ],
        },
    )
