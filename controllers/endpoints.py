"""The Endpoints controller: which pod IPs back a Service, and on which ports.

For a Service with a selector, every pod the selector matches (in the Service's
namespace, with an IP, not finished) becomes an address: under ``addresses`` if its
``Ready`` condition is True (or the Service sets ``publishNotReadyAddresses``), else
under ``notReadyAddresses``. Each Service port resolves its ``targetPort`` per pod:
a number is used as is; a name is looked up among the pod's container ports (pods
without such a port are left out for that port). Addresses with the same resolved
ports share one *subset* (``RepackSubsets``).

Key: the Service's ``namespace/name``. Watched: Services, and pods mapped to every
Service in their namespace whose selector matches their labels (old and new labels,
so a relabelled pod leaves the old Service). A Service without a selector is left
alone: its Endpoints are the user's.

Mirrors: pkg/controller/endpoint/endpoints_controller.go (syncService, addEndpointSubset),
pkg/api/v1/endpoints/util.go (RepackSubsets), pkg/api/v1/pod/util.go (FindPort).
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from apimachinery.meta import object_key
from apimachinery.selectors import selector_from_set
from client.cache import copy
from controllers.base import ENDPOINTS, PODS, SERVICES, Controller, Result, Watch
from controllers.util import Obj, is_pod_ready, is_pod_terminated, meta

Port = tuple[str, int, str]  # (name, port, protocol)


def find_port(pod: Obj, service_port: dict[str, Any]) -> int | None:
    """The container port a Service port's ``targetPort`` means for this pod (``FindPort``)."""
    target = service_port.get("targetPort", service_port.get("port"))
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    protocol = service_port.get("protocol", "TCP")
    for container in (pod.get("spec") or {}).get("containers") or []:
        for cp in container.get("ports") or []:
            if cp.get("name") == target and cp.get("protocol", "TCP") == protocol:
                return int(cp["containerPort"])
    return None


def service_selects(service: Obj, pod: Obj) -> bool:
    sel = (service.get("spec") or {}).get("selector")
    return bool(sel) and selector_from_set(sel)(meta(pod).get("labels"))


def endpoint_pods(service: Obj, pods: list[Obj]) -> list[Obj]:
    """Pods that may be endpoints: selected, with an IP, not finished, not being deleted."""
    return [
        p
        for p in pods
        if service_selects(service, p)
        and (p.get("status") or {}).get("podIP")
        and not is_pod_terminated(p)
        and not meta(p).get("deletionTimestamp")
    ]


def pod_ports(service: Obj, pod: Obj) -> tuple[Port, ...]:
    out = []
    for sp in (service.get("spec") or {}).get("ports") or []:
        port = find_port(pod, sp)
        if port is not None:
            out.append((sp.get("name", ""), port, sp.get("protocol", "TCP")))
    return tuple(sorted(out))


def address(pod: Obj) -> dict[str, Any]:
    m = meta(pod)
    addr: dict[str, Any] = {
        "ip": pod["status"]["podIP"],
        "targetRef": {
            "kind": "Pod",
            "namespace": m.get("namespace", ""),
            "name": m["name"],
            "uid": m.get("uid", ""),
        },
    }
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        addr["nodeName"] = node
    return addr


def is_ready_endpoint(service: Obj, pod: Obj) -> bool:
    return bool((service.get("spec") or {}).get("publishNotReadyAddresses")) or is_pod_ready(pod)


def desired_subsets(service: Obj, pods: list[Obj]) -> list[dict[str, Any]]:
    """The Endpoints ``subsets`` for a Service and the pods in its namespace."""
    groups: dict[tuple[Port, ...], dict[str, list[dict[str, Any]]]] = {}
    for pod in endpoint_pods(service, pods):
        ports = pod_ports(service, pod)
        if not ports and (service.get("spec") or {}).get("ports"):
            continue
        group = groups.setdefault(ports, {"addresses": [], "notReadyAddresses": []})
        group["addresses" if is_ready_endpoint(service, pod) else "notReadyAddresses"].append(address(pod))
    subsets = []
    for ports, group in sorted(groups.items()):
        subset: dict[str, Any] = {}
        for field in ("addresses", "notReadyAddresses"):
            if group[field]:
                subset[field] = sorted(group[field], key=lambda a: (a["ip"], a["targetRef"]["name"]))
        subset["ports"] = [
            {"name": n, "port": p, "protocol": proto} if n else {"port": p, "protocol": proto}
            for n, p, proto in ports
        ]
        subsets.append(subset)
    return subsets


class EndpointsController(Controller):
    name = "endpoint"

    def watches(self) -> list[Watch]:
        return [Watch(SERVICES), Watch(ENDPOINTS), Watch(PODS, keys=self._services_for)]

    def _services_for(self, pod: Obj) -> list[str]:
        ns = meta(pod).get("namespace", "")
        return [
            object_key(s) for s in self.cache(SERVICES).by_index("namespace", ns) if service_selects(s, pod)
        ]

    async def reconcile(self, key: str) -> Result | None:
        ns, _, name = key.rpartition("/")
        service = self.cache(SERVICES).get(key)
        current = self.cache(ENDPOINTS).get(key)
        if service is None:
            if current is not None:
                try:
                    await self.ctx.client.delete(ENDPOINTS, name, namespace=ns)
                except errors.StatusError as err:
                    if not errors.is_not_found(err):
                        raise
            return None
        if not (service.get("spec") or {}).get("selector"):
            return None
        subsets = desired_subsets(service, self.cache(PODS).by_index("namespace", ns))
        labels = dict(meta(service).get("labels") or {})
        if current is None:
            ep = {
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": name, "namespace": ns, "labels": labels},
                "subsets": subsets,
            }
            await self.ctx.client.create(ENDPOINTS, ep, namespace=ns)  # AlreadyExists: retried, then updated
        elif (current.get("subsets") or []) != subsets or (meta(current).get("labels") or {}) != labels:
            updated = copy(current)
            updated["subsets"] = subsets
            updated["metadata"]["labels"] = labels
            await self.ctx.client.update(ENDPOINTS, updated, namespace=ns)
        return None
