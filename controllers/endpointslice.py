"""The EndpointSlice controller: a Service's endpoints as ``discovery.k8s.io/v1`` slices.

The same question as the Endpoints controller (which pods back this Service, on
which ports) answered in the newer shape kube-proxy reads: each endpoint carries
its own ``conditions`` (``ready``, ``serving``, ``terminating``), and endpoints are
grouped into slices that share one port list. Slices are labelled
``kubernetes.io/service-name`` and ``endpointslice.kubernetes.io/managed-by:
endpointslice-controller.k8s.io`` and owned by the Service (so the GC removes them
with it). Upstream splits a group over several slices of at most 100 endpoints;
here each port list gets one slice (a documented simplification).

Mirrors: pkg/controller/endpointslice/endpointslice_controller.go (syncService),
staging/src/k8s.io/endpointslice/reconciler.go and utils.go (podToEndpoint,
getEndpointPorts).
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from apimachinery.meta import key as make_key
from client.cache import copy
from controllers.base import ENDPOINTSLICES, PODS, SERVICES, Context, Controller, Result, Watch
from controllers.endpoints import Port, endpoint_pods, is_ready_endpoint, pod_ports, service_selects
from controllers.util import Obj, controller_ref, meta

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"


def endpoint(service: Obj, pod: Obj) -> dict[str, Any]:
    m = meta(pod)
    ready = is_ready_endpoint(service, pod)
    ep: dict[str, Any] = {
        "addresses": [pod["status"]["podIP"]],
        "conditions": {"ready": ready, "serving": ready, "terminating": False},
        "targetRef": {
            "kind": "Pod",
            "namespace": m.get("namespace", ""),
            "name": m["name"],
            "uid": m.get("uid", ""),
        },
    }
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        ep["nodeName"] = node
    return ep


def desired_groups(service: Obj, pods: list[Obj]) -> dict[tuple[Port, ...], list[dict[str, Any]]]:
    groups: dict[tuple[Port, ...], list[dict[str, Any]]] = {}
    for pod in endpoint_pods(service, pods):
        groups.setdefault(pod_ports(service, pod), []).append(endpoint(service, pod))
    for eps in groups.values():
        eps.sort(key=lambda e: (e["addresses"][0], e["targetRef"]["name"]))
    return groups


def slice_ports(ports: tuple[Port, ...]) -> list[dict[str, Any]]:
    return [{"name": n, "port": p, "protocol": proto} for n, p, proto in ports]


def ports_of(s: Obj) -> tuple[Port, ...]:
    return tuple(
        sorted((p.get("name", ""), int(p["port"]), p.get("protocol", "TCP")) for p in s.get("ports") or [])
    )


class EndpointSliceController(Controller):
    name = "endpointslice"

    def __init__(self, ctx: Context, **options: Any) -> None:
        super().__init__(ctx, **options)
        # Slices created but not yet seen in the cache, per Service (the expectations
        # of endpointslice_tracker.go): until they arrive, acting again would duplicate them.
        self._unseen: dict[str, set[str]] = {}

    def watches(self) -> list[Watch]:
        return [
            Watch(SERVICES),
            Watch(ENDPOINTSLICES, keys=self._slice_service),
            Watch(PODS, keys=self._services_for),
        ]

    def _slice_service(self, s: Obj) -> list[str]:
        labels = meta(s).get("labels") or {}
        if labels.get(MANAGED_BY) != CONTROLLER_NAME or SERVICE_NAME not in labels:
            return []
        return [make_key(meta(s).get("namespace", ""), labels[SERVICE_NAME])]

    def _services_for(self, pod: Obj) -> list[str]:
        ns = meta(pod).get("namespace", "")
        return [
            make_key(ns, meta(s)["name"])
            for s in self.cache(SERVICES).by_index("namespace", ns)
            if service_selects(s, pod)
        ]

    async def reconcile(self, key: str) -> Result | None:
        ns, _, name = key.rpartition("/")
        service = self.cache(SERVICES).get(key)
        if service is None or not (service.get("spec") or {}).get("selector"):
            return None  # the slices are owned by the Service: the GC removes them
        existing = [
            s for s in self.cache(ENDPOINTSLICES).by_index("namespace", ns) if self._slice_service(s) == [key]
        ]
        by_ports = {ports_of(s): s for s in existing}
        groups = desired_groups(service, self.cache(PODS).by_index("namespace", ns))
        if not groups:
            groups = {
                tuple(sorted(pod_ports(service, {"spec": {}}))): []
            }  # an empty slice says "no endpoints"
        for ports, eps in groups.items():
            current = by_ports.pop(ports, None)
            if current is None:
                new = {
                    "apiVersion": "discovery.k8s.io/v1",
                    "kind": "EndpointSlice",
                    "metadata": {
                        "generateName": f"{name}-",
                        "namespace": ns,
                        "labels": {SERVICE_NAME: name, MANAGED_BY: CONTROLLER_NAME},
                        "ownerReferences": [controller_ref(service, "v1", "Service")],
                    },
                    "addressType": "IPv4",
                    "endpoints": eps,
                    "ports": slice_ports(ports),
                }
                created = await self.ctx.client.create(ENDPOINTSLICES, new, namespace=ns)
                self._unseen.setdefault(key, set()).add(meta(created)["name"])
            elif (current.get("endpoints") or []) != eps:
                updated = copy(current)
                updated["endpoints"] = eps
                await self.ctx.client.update(ENDPOINTSLICES, updated, namespace=ns)
        for stale in by_ports.values():
            try:
                await self.ctx.client.delete(ENDPOINTSLICES, meta(stale)["name"], namespace=ns)
            except errors.StatusError as err:
                if not errors.is_not_found(err):
                    raise
        return None
