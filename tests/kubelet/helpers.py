"""Shared builders for the kubelet tests: pods as plain dicts, a syncer over the simulated runtime."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from client.clock import FakeClock
from client.events import FakeRecorder
from kubelet.kuberuntime import PodSyncer
from kubelet.objects import StaticObjects
from kubelet.probes import ProbeManager
from kubelet.runtime.simulated import SimulatedRuntime
from kubelet.volumes import VolumeManager

HOST_IP = "192.0.2.1"


def pod(
    name: str = "web",
    *,
    command: list[str] | None = None,
    restart: str = "Always",
    annotations: dict[str, str] | None = None,
    init: list[dict[str, Any]] | None = None,
    image: str = "busybox:1.36",
    **container: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "nodeName": "n1",
        "restartPolicy": restart,
        "containers": [{"name": "c", "image": image, "command": command or ["sleep", "3600"], **container}],
    }
    if init:
        spec["initContainers"] = init
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "default",
            "uid": str(uuid.uuid4()),
            "annotations": annotations or {},
        },
        "spec": spec,
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    }


class Node:
    """A simulated runtime and a PodSyncer over it, on a fake clock."""

    def __init__(
        self, root: Path, objects: StaticObjects | None = None, clock: FakeClock | None = None
    ) -> None:
        self.clock = clock or FakeClock(1000.0)
        self.runtime = SimulatedRuntime("n1", clock=self.clock)
        self.events = FakeRecorder("kubelet", "n1")
        self.objects = objects or StaticObjects()
        self.probes = ProbeManager(self.runtime, self.events, lambda uid: None, real_network=False)
        self.root = root
        self.syncer = self.new_syncer()

    def new_syncer(self) -> PodSyncer:
        """A fresh syncer (as after a kubelet restart) over the same runtime."""
        return PodSyncer(
            self.runtime, self.runtime, self.events, self.probes, VolumeManager(self.root, self.objects),
            self.objects, host_ip=HOST_IP, root_dir=self.root, runtime_prefix="simulated",
            wall=lambda: self.runtime._ns() / 1e9, real_network=False,
        )  # fmt: skip

    def reasons(self) -> list[str]:
        return [reason for reason, _, _ in self.recorded()]

    def recorded(self) -> list[tuple[str, str, str]]:
        """(reason, message, fieldPath) of every event recorded so far."""
        return [
            (e["reason"], e["message"], e["involvedObject"].get("fieldPath", "")) for e in self.events.events
        ]
