"""NodeInfo and PodInfo: everything the plugins need to know about a node, precomputed.

Filters run once per (pod, node), thousands of times a second, so nothing they read is
recomputed there. ``PodInfo`` parses a pod once (its requests, host ports, affinity
terms); ``NodeInfo`` keeps, per node, the running totals a filter compares against::

    NodeInfo(node-1)
      allocatable      {"cpu": 4000, "memory": 8Gi, "pods": 110}    from node.status.allocatable
      requested        sum of the effective requests of its pods (bound *and* assumed)
      alloc_cpu/memory/pods, req_cpu/memory   the same numbers as plain ints, so the
                       NodeResourcesFit filter and the resource scores are integer
                       arithmetic on slots, not dict lookups
      taints, unschedulable                   from node.spec, read once per node update
      non_zero_cpu/mem the same with 100m / 200Mi for pods that request nothing (scoring)
      pods             key -> PodInfo
      used_ports       {(protocol, port): {hostIP, ...}}
      images           image name -> size in bytes                   from node.status.images
      pods_with_affinity / pods_with_required_anti_affinity          (InterPodAffinity)

``generation`` increases on every change, so callers can tell a NodeInfo changed.

Mirrors: pkg/scheduler/framework/types.go (NodeInfo, PodInfo, AffinityTerm,
WeightedAffinityTerm, ImageStateSummary).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from apimachinery.selectors import NOTHING, Selector, from_label_selector
from scheduler import resources
from scheduler.framework import CycleState, Node, Pod

_generation = itertools.count(1)
_CPU_MEMORY = frozenset((resources.CPU, resources.MEMORY))


def pod_key(pod: Mapping[str, Any]) -> str:
    meta = pod["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    """A PodAffinityTerm with its selectors parsed (framework.AffinityTerm)."""

    selector: Selector
    namespaces: frozenset[str]
    namespace_selector: Selector
    topology_key: str
    weight: int = 1

    def matches(self, pod: Pod, namespace_labels: Mapping[str, str] | None = None) -> bool:
        meta = pod["metadata"]
        ns = meta.get("namespace", "")
        if ns in self.namespaces or self.namespace_selector(namespace_labels or {}):
            return self.selector(meta.get("labels"))
        return False


def _terms(pod: Pod, raw: list[dict[str, Any]] | None, weighted: bool) -> list[AffinityTerm]:
    out = []
    for item in raw or []:
        term = item.get("podAffinityTerm", {}) if weighted else item
        namespaces = frozenset(term.get("namespaces") or ())
        ns_selector = term.get("namespaceSelector")
        if not namespaces and ns_selector is None:
            namespaces = frozenset((pod["metadata"].get("namespace", ""),))
        out.append(
            AffinityTerm(
                selector=from_label_selector(term.get("labelSelector")),
                namespaces=namespaces,
                namespace_selector=NOTHING if ns_selector is None else from_label_selector(ns_selector),
                topology_key=term.get("topologyKey", ""),
                weight=int(item.get("weight", 1)) if weighted else 1,
            )
        )
    return out


@dataclass(slots=True)
class PodInfo:
    """A pod parsed once for the scheduler (framework.PodInfo)."""

    pod: Pod
    key: str
    requests: resources.Resources
    #: ``requests`` as ints; ``only_cpu_memory`` when it asks for nothing else (the fast path)
    cpu: int
    memory: int
    only_cpu_memory: bool
    non_zero_cpu: int
    non_zero_memory: int
    host_ports: list[tuple[str, str, int]]
    required_affinity: list[AffinityTerm]
    required_anti_affinity: list[AffinityTerm]
    preferred_affinity: list[AffinityTerm]
    preferred_anti_affinity: list[AffinityTerm]

    @property
    def priority(self) -> int:
        return int(self.pod.get("spec", {}).get("priority") or 0)

    @classmethod
    def of(cls, pod: Pod) -> PodInfo:
        affinity = pod.get("spec", {}).get("affinity") or {}
        pa, paa = affinity.get("podAffinity") or {}, affinity.get("podAntiAffinity") or {}
        non_zero = resources.pod_requests(pod, non_zero=True)
        requests = resources.pod_requests(pod)
        return cls(
            pod=pod,
            key=pod_key(pod),
            requests=requests,
            cpu=requests.get(resources.CPU, 0),
            memory=requests.get(resources.MEMORY, 0),
            only_cpu_memory=requests.keys() <= _CPU_MEMORY,
            non_zero_cpu=non_zero.get(resources.CPU, 0),
            non_zero_memory=non_zero.get(resources.MEMORY, 0),
            host_ports=resources.host_ports(pod),
            required_affinity=_terms(pod, pa.get("requiredDuringSchedulingIgnoredDuringExecution"), False),
            required_anti_affinity=_terms(
                pod, paa.get("requiredDuringSchedulingIgnoredDuringExecution"), False
            ),
            preferred_affinity=_terms(pod, pa.get("preferredDuringSchedulingIgnoredDuringExecution"), True),
            preferred_anti_affinity=_terms(
                pod, paa.get("preferredDuringSchedulingIgnoredDuringExecution"), True
            ),
        )

    @property
    def has_affinity(self) -> bool:
        return bool(
            self.required_affinity
            or self.required_anti_affinity
            or self.preferred_affinity
            or self.preferred_anti_affinity
        )


@dataclass(slots=True, eq=False)
class NodeInfo:
    """One node and the pods on it, with running totals (framework.NodeInfo)."""

    node: Node
    name: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    allocatable: resources.Resources = field(default_factory=dict)
    requested: resources.Resources = field(default_factory=dict)
    non_zero_cpu: int = 0
    non_zero_memory: int = 0
    alloc_cpu: int = 0
    alloc_memory: int = 0
    alloc_pods: int = 0
    req_cpu: int = 0
    req_memory: int = 0
    taints: list[dict[str, Any]] = field(default_factory=list)
    unschedulable: bool = False
    pods: dict[str, PodInfo] = field(default_factory=dict)
    used_ports: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    images: dict[str, int] = field(default_factory=dict)
    pods_with_affinity: int = 0
    pods_with_required_anti_affinity: int = 0
    generation: int = 0

    @classmethod
    def of(cls, node: Node, pods: list[Pod] | None = None) -> NodeInfo:
        info = cls(node)
        info.set_node(node)
        for pod in pods or []:
            info.add_pod(PodInfo.of(pod))
        return info

    def set_node(self, node: Node) -> None:
        self.node = node
        self.name = node["metadata"]["name"]
        self.labels = node["metadata"].get("labels") or {}
        status = node.get("status") or {}
        self.allocatable = resources.to_units(status.get("allocatable") or status.get("capacity"))
        self.alloc_cpu = self.allocatable.get(resources.CPU, 0)
        self.alloc_memory = self.allocatable.get(resources.MEMORY, 0)
        self.alloc_pods = self.allocatable.get(resources.PODS, 0)
        spec = node.get("spec") or {}
        self.taints = spec.get("taints") or []
        self.unschedulable = bool(spec.get("unschedulable"))
        self.images = {}
        for image in status.get("images") or []:
            for name in image.get("names") or []:
                self.images[name] = int(image.get("sizeBytes") or 0)
        self.generation = next(_generation)

    def add_pod(self, info: PodInfo) -> None:
        self._update(info, +1)
        self.pods[info.key] = info

    def remove_pod(self, key: str) -> PodInfo | None:
        info = self.pods.pop(key, None)
        if info is not None:
            self._update(info, -1)
        return info

    def _update(self, info: PodInfo, sign: int) -> None:
        for name, amount in info.requests.items():
            self.requested[name] = self.requested.get(name, 0) + sign * amount
        self.req_cpu += sign * info.cpu
        self.req_memory += sign * info.memory
        self.non_zero_cpu += sign * info.non_zero_cpu
        self.non_zero_memory += sign * info.non_zero_memory
        for ip, protocol, port in info.host_ports:
            ips = self.used_ports.setdefault((protocol, port), set())
            if sign > 0:
                ips.add(ip)
            else:
                ips.discard(ip)
                if not ips:
                    del self.used_ports[(protocol, port)]
        if info.has_affinity:
            self.pods_with_affinity += sign
        if info.required_anti_affinity:
            self.pods_with_required_anti_affinity += sign
        self.generation = next(_generation)

    def clone(self) -> NodeInfo:
        """An independent copy, for "what if these pods were gone" (preemption)."""
        copy = NodeInfo(self.node)
        copy.set_node(self.node)
        for info in self.pods.values():
            copy.add_pod(info)
        return copy


def cycle_pod_info(state: CycleState, pod: Pod) -> PodInfo:
    """The pod being scheduled, parsed once per cycle and shared by every plugin."""
    info: PodInfo | None = state.pod_info
    if info is None or info.pod is not pod:
        info = state.pod_info = PodInfo.of(pod)
    return info
