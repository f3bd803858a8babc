"""What a pod asks for: its effective resource requests, computed as upstream does.

A pod's request is not just the sum of its containers. Init containers run one after
another *before* the app containers, so each only needs room for itself; sidecars
(init containers with ``restartPolicy: Always``) keep running, so they add up::

    effective = max( sum(app containers) + sum(sidecars),
                     max over init containers i of (request(i) + sidecars started before i) )
              + pod.spec.overhead          (RuntimeClass overhead, e.g. a VM sandbox)

Quantities become integers in the unit the scheduler counts in: CPU in millicores,
everything else (memory, ephemeral-storage, extended resources) in whole units, both
rounded up as ``Quantity.MilliValue``/``Value`` do. Each distinct quantity is parsed
once (an LRU cache): ten thousand pods asking for ``100m`` share one parse.

For *scoring* only, containers that request no CPU or memory count as 100m / 200Mi
(``GetNonzeroRequests``), so that a node full of "free" pods does not look empty.

Mirrors: k8s.io/component-helpers/resource/helpers.go (``PodRequests``),
pkg/scheduler/util/pod_resources.go (``GetNonzeroRequests``),
pkg/scheduler/framework/plugins/noderesources/fit.go (``computePodResourceRequest``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, Final

from apimachinery import quantity

CPU: Final = "cpu"
MEMORY: Final = "memory"
EPHEMERAL_STORAGE: Final = "ephemeral-storage"
PODS: Final = "pods"

#: Used for scoring when a container requests no CPU / memory (util.DefaultMilliCPURequest ...).
DEFAULT_MILLI_CPU_REQUEST: Final = 100
DEFAULT_MEMORY_REQUEST: Final = 200 * 1024 * 1024

Resources = dict[str, int]


@functools.lru_cache(maxsize=4096)
def _units(name: str, q: str | int | float) -> int:
    """One quantity in scheduler units, parsed once: pods repeat the same few strings."""
    return quantity.milli_value(q) if name == CPU else quantity.value(q)


def to_units(resources: Mapping[str, Any] | None) -> Resources:
    """A ResourceList (``{"cpu": "500m", "memory": "1Gi"}``) in scheduler units."""
    out: Resources = {}
    for name, q in (resources or {}).items():
        out[name] = _units(name, q)
    return out


def _add(into: Resources, other: Mapping[str, int]) -> None:
    for name, v in other.items():
        into[name] = into.get(name, 0) + v


def _max(into: Resources, other: Mapping[str, int]) -> None:
    for name, v in other.items():
        if v > into.get(name, 0):
            into[name] = v


def _container_requests(container: Mapping[str, Any], non_zero: bool) -> Resources:
    requests = to_units((container.get("resources") or {}).get("requests"))
    if non_zero:
        requests.setdefault(CPU, DEFAULT_MILLI_CPU_REQUEST)
        requests.setdefault(MEMORY, DEFAULT_MEMORY_REQUEST)
    return requests


def pod_requests(pod: Mapping[str, Any], non_zero: bool = False) -> Resources:
    """The pod's effective requests (resourcehelper.PodRequests); see the module docstring."""
    spec = pod.get("spec") or {}
    total: Resources = {}
    for c in spec.get("containers") or []:
        _add(total, _container_requests(c, non_zero))
    sidecars: Resources = {}
    init_peak: Resources = {}
    for c in spec.get("initContainers") or []:
        requests = _container_requests(c, non_zero)
        if c.get("restartPolicy") == "Always":
            _add(total, requests)
            _add(sidecars, requests)
            needed = dict(sidecars)
        else:
            needed = dict(requests)
            _add(needed, sidecars)
        _max(init_peak, needed)
    _max(total, init_peak)
    _add(total, to_units(spec.get("overhead")))
    return total


def host_ports(pod: Mapping[str, Any]) -> list[tuple[str, str, int]]:
    """The (hostIP, protocol, hostPort) triples the pod claims on its node (``GetContainerPorts``)."""
    spec = pod.get("spec") or {}
    containers: Iterable[Mapping[str, Any]] = [
        *(spec.get("containers") or []),
        *(c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"),
    ]
    out = []
    for c in containers:
        for p in c.get("ports") or []:
            port = p.get("hostPort") or 0
            if port > 0:
                out.append((p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", port))
    return out
