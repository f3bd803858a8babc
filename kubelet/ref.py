"""A reference to a pod's container, for the events the kubelet records about it.

``kubectl describe pod`` shows ``Pulled``, ``Created``, ``Started``, ``Unhealthy`` ...
per container because each event's ``involvedObject`` is the pod with a
``fieldPath``: ``spec.containers{app}`` (or ``spec.initContainers{init}``).

Mirrors: pkg/kubelet/container/ref.go (``GenerateContainerRef``, ``fieldPath``).
"""

from __future__ import annotations

from typing import Any


def container_ref(pod: dict[str, Any], container: str = "", init: bool = False) -> dict[str, Any]:
    """The pod's ObjectReference, pointing at ``container`` if one is named."""
    meta = pod["metadata"]
    ref = {
        "kind": "Pod",
        "apiVersion": "v1",
        "namespace": meta.get("namespace", ""),
        "name": meta["name"],
        "uid": meta.get("uid", ""),
        "resourceVersion": meta.get("resourceVersion", ""),
    }
    if container:
        ref["fieldPath"] = f"spec.{'initContainers' if init else 'containers'}{{{container}}}"
    return ref
