"""ImageLocality: prefer nodes that already have the pod's images (no pull needed).

For each container image present on the node: its size, scaled by how widespread the
image is (``nodes having it / all nodes``, so an image on every node gives no edge).
The sum is clamped into [23 MB, 1000 MB * containers] and mapped linearly onto 0..100.

Mirrors: pkg/scheduler/framework/plugins/imagelocality/image_locality.go.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from scheduler.framework import MAX_NODE_SCORE, SKIP, CycleState, Pod, Status
from scheduler.nodeinfo import NodeInfo

NAME: Final = "ImageLocality"
MB: Final = 1024 * 1024
MIN_THRESHOLD: Final = 23 * MB
MAX_CONTAINER_THRESHOLD: Final = 1000 * MB


def normalized_image_name(name: str) -> str:
    """``nginx`` → ``nginx:latest`` (the form nodes report)."""
    if name.rfind(":") <= name.rfind("/"):
        name += ":latest"
    return name


def image_score(pod: Pod, node: NodeInfo, num_nodes_with: dict[str, int], total_nodes: int) -> int:
    containers = [*(pod["spec"].get("initContainers") or []), *pod["spec"].get("containers", [])]
    total = 0
    for c in containers:
        image = normalized_image_name(c.get("image", ""))
        size = node.images.get(image)
        if size is not None and total_nodes:
            total += int(size * (num_nodes_with.get(image, 0) / total_nodes))
    max_threshold = MAX_CONTAINER_THRESHOLD * max(len(containers), 1)
    total = min(max(total, MIN_THRESHOLD), max_threshold)
    return MAX_NODE_SCORE * (total - MIN_THRESHOLD) // (max_threshold - MIN_THRESHOLD)


class ImageLocality:
    name = NAME

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status | None:
        """Skip when no node has any of the pod's images: every score would be 0.

        (Not upstream, whose PreScore only counts nodes; the totals are the same.)
        """
        spec = pod["spec"]
        snapshot = state.snapshot
        for c in (*(spec.get("initContainers") or []), *spec.get("containers", [])):
            if snapshot.num_nodes_with_image(normalized_image_name(c.get("image", ""))):
                return None
        return SKIP

    def score(self, state: CycleState, pod: Pod, node: NodeInfo) -> int:
        if not node.images:
            return 0
        snapshot = state.snapshot
        spec = pod["spec"]
        images = [
            c.get("image", "") for c in (*(spec.get("initContainers") or []), *spec.get("containers", []))
        ]
        spread = {
            normalized_image_name(i): snapshot.num_nodes_with_image(normalized_image_name(i)) for i in images
        }
        return image_score(pod, node, spread, len(snapshot.node_infos()))
