"""The scheduler cache: what every node has allocated, including pods not yet seen bound.

Binding takes a round trip to the API server, and the watch event confirming it comes
later still. If the scheduler waited for it, it could place one pod per round trip; if
it ignored the gap, it would place the next pod on resources already promised. So after
choosing a node it *assumes* the pod: adds it to that node's NodeInfo at once, and
binds in the background::

    assume_pod ──▶ (binding in flight) ──finish_binding──▶ (bound, waiting for the watch)
        │                  │ bind failed: forget_pod             │ watch shows the pod on a node:
        │                  ▼                                     ▼ add_pod confirms it
        └──────────── removed again                    counted as an ordinary pod
                                                        (or dropped after `ttl` if the
                                                         watch never shows it)

Pods that other informers report bound (``spec.nodeName`` set) are added with
``add_pod``/``update_pod``/``remove_pod``; nodes with ``add_node``/``update_node``/
``remove_node``. A pod may arrive before its node: it waits in a NodeInfo that is not
listed until the node appears.

The cache is also the cycle's snapshot (framework.Snapshot): the scheduling cycle is
synchronous on the event loop, so no informer callback can run in the middle of it.

Mirrors: pkg/scheduler/backend/cache/cache.go (``AssumePod``, ``FinishBinding``,
``ForgetPod``, ``AddPod``, ``cleanupAssumedPods``), backend/cache/snapshot.go.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Final

from scheduler.framework import Node, Pod
from scheduler.nodeinfo import NodeInfo, PodInfo, pod_key

#: How long an assumed pod whose binding succeeded may wait for its watch event.
#: (Upstream's durationToExpireAssumedPod; 0 there means "never", a 15 min default before.)
DEFAULT_ASSUMED_TTL: Final = 30.0


class Cache:
    def __init__(self, ttl: float = DEFAULT_ASSUMED_TTL, now: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.now = now
        self._infos: dict[str, NodeInfo] = {}
        #: only NodeInfos whose Node object exists, in a stable order
        self._node_list: list[NodeInfo] = []
        #: pod key -> node name, for every pod counted somewhere
        self._pod_node: dict[str, str] = {}
        #: assumed pod key -> deadline (None while the binding is in flight)
        self._assumed: dict[str, float | None] = {}
        self._listed: set[str] = set()
        self._image_nodes: Counter[str] = Counter()
        self._namespace_labels: dict[str, dict[str, str]] = {}
        #: pods counted anywhere with any (anti-)affinity term / a required anti-affinity term
        self._with_affinity = 0
        self._with_required_anti_affinity = 0
        #: listed nodes with any taint / with spec.unschedulable
        self._tainted = 0
        self._unschedulable = 0

    # --- the Snapshot protocol ---

    def node_infos(self) -> Sequence[NodeInfo]:
        return self._node_list

    def num_nodes_with_image(self, image: str) -> int:
        return self._image_nodes[image]

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        return self._namespace_labels.get(namespace, {})

    def have_pods_with_affinity(self, nodes: Sequence[NodeInfo]) -> bool:
        return self._with_affinity > 0

    def have_pods_with_required_anti_affinity(self, nodes: Sequence[NodeInfo]) -> bool:
        return self._with_required_anti_affinity > 0

    def have_tainted_nodes(self, nodes: Sequence[NodeInfo]) -> bool:
        return self._tainted > 0

    def have_unschedulable_nodes(self, nodes: Sequence[NodeInfo]) -> bool:
        return self._unschedulable > 0

    def _count_node(self, info: NodeInfo, sign: int) -> None:
        self._tainted += sign * bool(info.taints)
        self._unschedulable += sign * info.unschedulable

    def set_namespace(self, name: str, labels: dict[str, str] | None) -> None:
        if labels is None:
            self._namespace_labels.pop(name, None)
        else:
            self._namespace_labels[name] = labels

    def get(self, node_name: str) -> NodeInfo | None:
        info = self._infos.get(node_name)
        return info if node_name in self._listed else None

    # --- nodes ---

    def add_node(self, node: Node) -> NodeInfo:
        name = node["metadata"]["name"]
        info = self._infos.get(name)
        if info is None:
            info = self._infos[name] = NodeInfo.of(node)
        else:
            self._image_nodes.subtract(info.images.keys())
            if name in self._listed:
                self._count_node(info, -1)
            info.set_node(node)
        self._image_nodes.update(info.images.keys())
        self._count_node(info, +1)
        if name not in self._listed:
            self._listed.add(name)
            self._node_list.append(info)
        return info

    update_node = add_node

    def remove_node(self, name: str) -> None:
        info = self._infos.get(name)
        if info is None or name not in self._listed:
            return
        self._image_nodes.subtract(info.images.keys())
        self._count_node(info, -1)
        self._listed.discard(name)
        self._node_list.remove(info)
        if info.pods:  # keep counting its pods until they are deleted too
            info.node = {"metadata": {"name": name}}
        else:
            del self._infos[name]

    # --- pods ---

    def _info_for(self, node_name: str) -> NodeInfo:
        info = self._infos.get(node_name)
        if info is None:
            info = self._infos[node_name] = NodeInfo.of({"metadata": {"name": node_name}})
        return info

    def _count(self, info: PodInfo, sign: int) -> None:
        if info.has_affinity:
            self._with_affinity += sign
        if info.required_anti_affinity:
            self._with_required_anti_affinity += sign

    def _add(self, pod: Pod, node_name: str) -> None:
        info = PodInfo.of(pod)
        self._info_for(node_name).add_pod(info)
        self._count(info, +1)
        self._pod_node[info.key] = node_name

    def _remove(self, key: str) -> None:
        node_name = self._pod_node.pop(key, None)
        if node_name is not None and node_name in self._infos:
            info = self._infos[node_name].remove_pod(key)
            if info is not None:
                self._count(info, -1)

    def is_assumed(self, key: str) -> bool:
        return key in self._assumed

    def assume_pod(self, pod: Pod, node_name: str) -> Pod:
        """Count ``pod`` on ``node_name`` now; returns the copy with ``spec.nodeName`` set."""
        key = pod_key(pod)
        if key in self._pod_node:
            raise ValueError(f"pod {key} is in the cache, so can't be assumed")
        assumed = {**pod, "spec": {**pod["spec"], "nodeName": node_name}}
        self._add(assumed, node_name)
        self._assumed[key] = None
        return assumed

    def finish_binding(self, key: str) -> None:
        if key in self._assumed:
            self._assumed[key] = self.now() + self.ttl

    def forget_pod(self, key: str) -> None:
        if key in self._assumed:
            del self._assumed[key]
            self._remove(key)

    def add_pod(self, pod: Pod) -> None:
        """A bound pod seen through the watch (confirms an assumed one)."""
        key, node_name = pod_key(pod), pod["spec"]["nodeName"]
        self._assumed.pop(key, None)
        self._remove(key)
        self._add(pod, node_name)

    def update_pod(self, pod: Pod) -> None:
        self.add_pod(pod)

    def remove_pod(self, pod: Pod) -> None:
        key = pod_key(pod)
        self._assumed.pop(key, None)
        self._remove(key)

    def cleanup_expired(self) -> list[str]:
        """Drop assumed pods whose binding finished ``ttl`` ago and was never confirmed."""
        now = self.now()
        expired = [k for k, deadline in self._assumed.items() if deadline is not None and deadline < now]
        for key in expired:
            self.forget_pod(key)
        return expired

    def pod_count(self) -> int:
        return len(self._pod_node)
