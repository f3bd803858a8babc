"""Strategies of the core/v1 kinds that differ from the default.

Each class mirrors one k8s ``pkg/registry/core/<kind>/strategy.go``; kinds not
named here (configmaps, endpoints, podtemplates, limitranges...) use the default
:class:`~apiserver.registry.strategy.Strategy` unchanged.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
from typing import Any

from apimachinery import errors, validation
from apimachinery import field_errors as fe
from apimachinery.field_errors import FieldError
from apiserver.storage.store import ObjectStore

from .podspec import default_pod_admission, default_pod_spec, validate_pod_spec
from .strategy import Object, Strategy

#: The Service IP range kube-apiserver defaults to (--service-cluster-ip-range); .1 is the
#: ``kubernetes`` Service.
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")


class PodStrategy(Strategy):
    """pkg/registry/core/pod/strategy.go."""

    has_status = True
    return_deleted_object = True

    def prepare_for_create(self, obj: Object) -> None:
        super().prepare_for_create(obj)
        obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}

    def default(self, obj: Object) -> None:
        spec = obj.setdefault("spec", {})
        if isinstance(spec, dict):
            default_pod_spec(spec)
            default_pod_admission(spec)

    def validate(self, obj: Object) -> list[FieldError]:
        return super().validate(obj) + validate_pod_spec(obj.get("spec"), "spec")

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        errs = super().validate_update(new, old)
        # ValidatePodUpdate: only images, activeDeadlineSeconds, tolerations (additions)
        # and schedulingGates may change in a pod's spec.
        if _mutable_pod_view(new.get("spec") or {}) != _mutable_pod_view(old.get("spec") or {}):
            errs.append(
                fe.forbidden(
                    "spec",
                    "pod updates may not change fields other than `spec.containers[*].image`,"
                    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                    "(allow it to be set to 1 if it was previously negative)",
                )
            )
        return errs

    def grace_period(self, obj: Object, requested: int | None) -> int:
        """CheckGracefulDelete: 0 for unscheduled or finished pods, else request or spec (>= 0)."""
        spec, status = obj.get("spec") or {}, obj.get("status") or {}
        if not spec.get("nodeName") or status.get("phase") in ("Succeeded", "Failed"):
            return 0
        grace = requested if requested is not None else spec.get("terminationGracePeriodSeconds", 30)
        return 1 if grace < 0 else int(grace)


def _mutable_pod_view(spec: dict[str, Any]) -> dict[str, Any]:
    view = {
        k: v for k, v in spec.items() if k not in ("activeDeadlineSeconds", "tolerations", "schedulingGates")
    }
    for key in ("containers", "initContainers"):
        if isinstance(view.get(key), list):
            view[key] = [
                {k: v for k, v in c.items() if k != "image"} for c in view[key] if isinstance(c, dict)
            ]
    return view


def qos_class(spec: dict[str, Any]) -> str:
    """pkg/apis/core/helper/qos GetPodQOS, for cpu and memory."""
    requests: dict[str, set[str]] = {}
    limits: dict[str, set[str]] = {}
    guaranteed = True
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    for c in containers:
        res = c.get("resources") or {} if isinstance(c, dict) else {}
        req, lim = res.get("requests") or {}, res.get("limits") or {}
        for r in ("cpu", "memory"):
            if r in req:
                requests.setdefault(r, set()).add(str(req[r]))
            if r in lim:
                limits.setdefault(r, set()).add(str(lim[r]))
            eff_req = req.get(r, lim.get(r))
            if r not in lim or str(eff_req) != str(lim[r]):
                guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    return "Guaranteed" if guaranteed and containers else "Burstable"


class NamespaceStrategy(Strategy):
    """pkg/registry/core/namespace/strategy.go: the ``kubernetes`` finalizer, phase, name label."""

    has_status = True
    return_deleted_object = True

    def prepare_for_create(self, obj: Object) -> None:
        super().prepare_for_create(obj)
        spec = obj.setdefault("spec", {})
        finalizers = list(spec.get("finalizers") or [])
        if "kubernetes" not in finalizers:
            finalizers.append("kubernetes")
        spec["finalizers"] = finalizers
        obj["status"] = {"phase": "Active"}

    def prepare_for_update(self, new: Object, old: Object) -> None:
        super().prepare_for_update(new, old)
        new["spec"] = old.get("spec", {})  # spec.finalizers change only through /finalize

    def default(self, obj: Object) -> None:
        name = obj["metadata"].get("name")
        if name:
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = name

    def validate_name(self, name: str, prefix: bool) -> list[str]:
        return validation.name_is_dns_label(name, prefix)


class NodeStrategy(Strategy):
    """pkg/registry/core/node/strategy.go."""

    has_status = True

    def prepare_for_create(self, obj: Object) -> None:
        """Unlike most kinds, a Node keeps the status it is created with: the kubelet
        registers capacity, addresses and conditions in that one write."""
        status = obj.get("status")
        super().prepare_for_create(obj)
        if status is not None:
            obj["status"] = status


class ServiceStrategy(Strategy):
    """pkg/registry/core/service/strategy.go plus the defaults of SetDefaults_Service."""

    has_status = True

    def default(self, obj: Object) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("ipFamilies", ["IPv4"])
        for port in spec.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                port.setdefault("targetPort", port.get("port"))
        if spec.get("clusterIP"):
            spec.setdefault("clusterIPs", [spec["clusterIP"]])

    def initial_status(self, obj: Object) -> Object | None:
        return {"loadBalancer": {}}

    #: One allocation at a time: the free IP and port are computed from what is stored.
    _lock = asyncio.Lock()

    async def allocate(self, obj: Object, storage: ObjectStore, prefix: str) -> None:
        """The ClusterIP and NodePort allocators (pkg/registry/core/service/ipallocator, portallocator).

        Upstream keeps a bitmap in storage; this server has one writer, so it reads
        the Services that exist and takes a free address under a lock.
        """
        spec = obj.get("spec") or {}
        needs_ip = spec.get("type") != "ExternalName" and not spec.get("clusterIP")
        needs_ports = spec.get("type") in ("NodePort", "LoadBalancer") and any(
            isinstance(p, dict) and not p.get("nodePort") for p in spec.get("ports") or []
        )
        if not (needs_ip or needs_ports):
            return
        async with self._lock:
            page = await storage.list(prefix)
            used_ips = {ip for s in page.items for ip in (s.get("spec") or {}).get("clusterIPs") or []}
            used_ips.add(str(SERVICE_CIDR.network_address + 1))
            used_ports = {
                p.get("nodePort")
                for s in page.items
                for p in (s.get("spec") or {}).get("ports") or []
                if isinstance(p, dict)
            }
            if needs_ip:
                size = SERVICE_CIDR.num_addresses - 2
                start = random.randrange(size)
                for i in range(size):
                    ip = str(SERVICE_CIDR.network_address + 1 + (start + i) % size)
                    if ip not in used_ips:
                        spec["clusterIP"], spec["clusterIPs"] = ip, [ip]
                        break
            for port in spec.get("ports") or []:
                if isinstance(port, dict) and needs_ports and not port.get("nodePort"):
                    free = [p for p in range(30000, 32768) if p not in used_ports]
                    if not free:
                        raise errors.new_internal_error("range is full: no free node ports")
                    port["nodePort"] = random.choice(free)
                    used_ports.add(port["nodePort"])

    def validate(self, obj: Object) -> list[FieldError]:
        errs = super().validate(obj)
        spec = obj.get("spec") or {}
        types = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
        if spec.get("type") not in types:
            errs.append(fe.not_supported("spec.type", spec.get("type"), types))
        for i, port in enumerate(spec.get("ports") or []):
            p = port.get("port") if isinstance(port, dict) else None
            if not isinstance(p, int) or not 1 <= p <= 65535:
                errs.append(fe.invalid(f"spec.ports[{i}].port", p, "must be between 1 and 65535, inclusive"))
        if spec.get("type") != "ExternalName" and not spec.get("ports") and spec.get("clusterIP") != "None":
            errs.append(fe.required("spec.ports", ""))
        return errs

    def validate_name(self, name: str, prefix: bool) -> list[str]:
        return validation.name_is_dns1035_label(name, prefix)

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        errs = super().validate_update(new, old)
        old_ip = (old.get("spec") or {}).get("clusterIP")
        new_ip = (new.get("spec") or {}).get("clusterIP")
        if old_ip and new_ip != old_ip:
            if not new_ip:
                (new.get("spec") or {})["clusterIP"] = old_ip
            else:
                errs.append(fe.invalid("spec.clusterIP", new_ip, "field is immutable"))
        return errs


class SecretStrategy(Strategy):
    """pkg/registry/core/secret/strategy.go: ``type`` defaults to Opaque and is selectable."""

    def default(self, obj: Object) -> None:
        obj.setdefault("type", "Opaque")

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        errs = super().validate_update(new, old)
        if new.get("type") != old.get("type"):
            errs.append(fe.invalid("type", new.get("type"), "field is immutable"))
        if old.get("immutable") and (new.get("data") != old.get("data") or new.get("stringData")):
            errs.append(fe.forbidden("data", "field is immutable when `immutable` is set"))
        return errs


class ConfigMapStrategy(Strategy):
    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        errs = super().validate_update(new, old)
        if old.get("immutable") and (
            new.get("data") != old.get("data") or new.get("binaryData") != old.get("binaryData")
        ):
            errs.append(fe.forbidden("data", "field is immutable when `immutable` is set"))
        return errs


class EventStrategy(Strategy):
    """pkg/registry/core/event/strategy.go: selectable involvedObject.* fields."""

    allow_create_on_update = True


class ReplicationControllerStrategy(Strategy):
    has_status = True
    tracks_generation = True
    default_gc_policy = "OrphanDependents"

    def default(self, obj: Object) -> None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        template = spec.get("template") or {}
        labels = (template.get("metadata") or {}).get("labels")
        if labels:
            spec.setdefault("selector", dict(labels))
            obj["metadata"].setdefault("labels", dict(labels))
        if isinstance(template.get("spec"), dict):
            default_pod_spec(template["spec"])

    def initial_status(self, obj: Object) -> Object | None:
        return {"replicas": 0}


class ServiceAccountStrategy(Strategy):
    return_deleted_object = True
