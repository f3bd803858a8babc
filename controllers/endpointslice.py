"""The EndpointSlice controller: a Service's endpoints as ``discovery.k8s.io/v1`` slices.

The same question as the Endpoints controller (which pods back this Service, on
which ports) answered in the newer shape kube-proxy reads: each endpoint carries
its own ``conditions`` (``ready``, ``serving``, ``terminating``), and endpoints are
grouped into slices that share one port list. Slices are labelled
``kubernetes.io/service-name`` and ``endpointslice.kubernetes.io/managed-by:
endpointslice-controller.k8s.io`` and owned by the Service (so the GC removes them
with it).

A slice holds at most ``max_endpoints_per_slice`` endpoints (100, kube-controller-manager's
``--max-endpoints-per-slice``), so a Service with 250 ready pods has three slices, named
``<service>-<random>`` by ``generateName``. When pods come and go the slices are edited
in place rather than rebuilt, as upstream's ``reconcileByPortMapping`` does, for each
port list:

1. every existing slice keeps the endpoints still wanted (refreshed if their conditions
   changed) and drops the others; a slice left empty is to be deleted;
2. new endpoints first go into slices already being updated, fullest first, up to the
   limit;
3. what is left goes, if fewer than a full slice, into the unchanged slice that it fits
   best (the fullest one with room: ``getSliceToFill``), otherwise into new slices;
4. finally a slice to delete is reused for a slice to create (renamed into an update), so
   a Service whose ports change keeps its slice names.

Simplifications: the desired endpoints are placed in address order rather than
upstream's set order; no topology hints, no ``endpointslice.kubernetes.io/skip-mirror``,
IPv4 only, and no ``EndpointSliceTracker`` generation checks beyond waiting for the
slices this controller created to show up in its cache.

Mirrors: pkg/controller/endpointslice/endpointslice_controller.go (syncService),
staging/src/k8s.io/endpointslice/reconciler.go (reconcileByPortMapping, finalize) and
utils.go (podToEndpoint, getEndpointPorts, getSliceToFill).
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
MAX_ENDPOINTS_PER_SLICE = 100
UNSEEN_TIMEOUT = 10.0  # stop waiting for a created slice that never shows up (deleted at once)

Endpoint = dict[str, Any]
Ports = tuple[Port, ...]


@dataclass
class Plan:
    """What ``place`` decided: slices to create (ports, endpoints), update, delete."""

    create: list[tuple[Ports, list[Endpoint]]] = field(default_factory=list)
    update: list[tuple[Obj, Ports, list[Endpoint]]] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)


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


def endpoint_key(ep: Endpoint) -> tuple[Any, ...]:
    """An endpoint's identity (upstream's ``hashEndpoint``): addresses and the pod."""
    ref = ep.get("targetRef") or {}
    return (tuple(ep.get("addresses") or []), ref.get("namespace", ""), ref.get("name", ""))


def fill(slice_eps: list[Endpoint], remaining: list[Endpoint], limit: int) -> None:
    """Move endpoints from the front of ``remaining`` into ``slice_eps`` up to ``limit``."""
    room = max(limit - len(slice_eps), 0)
    slice_eps.extend(remaining[:room])
    del remaining[:room]


def place_ports(ports: Ports, existing: list[Obj], desired: list[Endpoint], limit: int, plan: Plan) -> None:
    """``reconcileByPortMapping``: place ``desired`` over the ``existing`` slices of one port list."""
    wanted = {endpoint_key(ep): ep for ep in desired}
    updates: list[tuple[Obj, list[Endpoint]]] = []
    unchanged: list[tuple[Obj, list[Endpoint]]] = []
    for s in existing:
        kept: list[Endpoint] = []
        changed = False
        for ep in s.get("endpoints") or []:
            want = wanted.pop(endpoint_key(ep), None)
            if want is None:
                changed = True
                continue
            changed = changed or want != ep
            kept.append(want)
        if not kept and (desired or s is not existing[0]):  # no endpoints: keep one, empty
            plan.delete.append(s)
        elif changed:
            updates.append((s, kept))
        else:
            unchanged.append((s, kept))
    remaining = list(wanted.values())
    for _, eps in sorted(updates, key=lambda u: -len(u[1])):  # fullest first
        fill(eps, remaining, limit)
    while remaining:
        target: tuple[Obj, list[Endpoint]] | None = None
        if len(remaining) < limit:  # getSliceToFill: the closest fit among unchanged slices
            fits = [u for u in unchanged if len(u[1]) + len(remaining) <= limit]
            target = max(fits, key=lambda u: len(u[1]), default=None)
        chunk: list[Endpoint] = [] if target is None else list(target[1])
        fill(chunk, remaining, limit)
        if target is None:
            plan.create.append((ports, chunk))
        else:
            unchanged.remove(target)
            updates.append((target[0], chunk))
    if not desired and not existing:
        plan.create.append((ports, []))  # an empty slice says "no endpoints"
    plan.update.extend((s, ports, eps) for s, eps in updates)


def place(
    existing: list[Obj], groups: dict[Ports, list[Endpoint]], limit: int = MAX_ENDPOINTS_PER_SLICE
) -> Plan:
    """Every port list's placement, then ``finalize``: reuse slices to delete for creates."""
    plan = Plan()
    by_ports: dict[Ports, list[Obj]] = {}
    for s in existing:
        by_ports.setdefault(ports_of(s), []).append(s)
    for ports, eps in groups.items():
        place_ports(ports, by_ports.pop(ports, []), eps, limit, plan)
    for stale in by_ports.values():
        plan.delete.extend(stale)
    while plan.create and plan.delete:
        ports, eps = plan.create.pop()
        plan.update.append((plan.delete.pop(0), ports, eps))
    return plan


class EndpointSliceController(Controller):
    name = "endpointslice"

    def __init__(self, ctx: Context, **options: Any) -> None:
        super().__init__(ctx, **options)
        # Slices created but not yet seen in the cache, per Service (the expectations
        # of endpointslice_tracker.go): until they arrive, acting again would duplicate them.
        # (names, when created): reconciling before they arrive would create them twice.
        self._unseen: dict[str, tuple[set[str], float]] = {}
        self.max_endpoints = int(options.get("max_endpoints_per_slice", MAX_ENDPOINTS_PER_SLICE))

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
        unseen, since = self._unseen.get(key, (set(), 0.0))
        if unseen - {meta(s)["name"] for s in existing} and self.ctx.now() - since < UNSEEN_TIMEOUT:
            return Result(requeue_after=1.0)  # our last creates have not reached the cache yet
        self._unseen.pop(key, None)
        groups = desired_groups(service, self.cache(PODS).by_index("namespace", ns))
        if not groups:
            groups = {tuple(sorted(pod_ports(service, {"spec": {}}))): []}
        plan = place(existing, groups, self.max_endpoints)
        for ports, eps in plan.create:
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
            self._unseen.setdefault(key, (set(), self.ctx.now()))[0].add(meta(created)["name"])
        for current, ports, eps in plan.update:
            if (current.get("endpoints") or []) == eps and ports_of(current) == ports:
                continue
            updated = copy(current)
            updated["endpoints"] = eps
            updated["ports"] = slice_ports(ports)
            await self.ctx.client.update(ENDPOINTSLICES, updated, namespace=ns)
        for stale in plan.delete:
            try:
                await self.ctx.client.delete(ENDPOINTSLICES, meta(stale)["name"], namespace=ns)
            except errors.StatusError as err:
                if not errors.is_not_found(err):
                    raise
        return None
