"""The Node object: registration, status, and the heartbeat Lease.

Mirrors pkg/kubelet/kubelet_node_status.go (``registerWithAPIServer``,
``initialNode``, ``updateNodeStatus``, ``tryUpdateNodeStatus``), the setters in
pkg/kubelet/nodestatus/setters.go, and pkg/kubelet/nodelease/controller.go.

* **Registration**: create ``nodes/<name>`` with the well-known labels
  (``kubernetes.io/hostname``, ``kubernetes.io/os``, ``kubernetes.io/arch``,
  ``node.kubernetes.io/instance-type``) and ``spec.podCIDR``; if it exists, adopt it.
* **Status** (``PATCH nodes/<name>/status``, strategic merge: conditions merge by
  ``type``): capacity and allocatable (cpu, memory from /proc/meminfo, pods 110,
  ephemeral-storage of the root dir's filesystem; or from flags for simulated nodes),
  ``nodeInfo`` (every field; the Python client insists), addresses, the kubelet
  endpoint port, and the four conditions. Checked every ``status_check`` seconds
  against the Node as the server has it, and sent when something differs (the node
  lifecycle controller may have set ``Ready=Unknown``), otherwise every
  ``status_report`` seconds (upstream's nodeStatusReportFrequency, 5 min; 1 min here).
* **Heartbeat**: the Lease ``kube-node-lease/<node>`` (holder = node, 40 s), its
  ``renewTime`` renewed every 10 s by a PUT on its resourceVersion, created with an
  ownerReference to the Node so it goes when the Node does. The node lifecycle
  controller reads the Lease, not the status, to decide that a node is alive.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apimachinery import errors
from apimachinery.meta import now, now_micro
from client.rest import LEASES, NODES, PatchType, RESTClient
from kubelet.runtime import interface as rt

log = logging.getLogger(__name__)

KUBELET_VERSION = "v1.32.0"
LEASE_NAMESPACE = "kube-node-lease"
ARCH = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm"}


def _read(path: str, default: str = "") -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return default


def host_ip() -> str:
    """The address other hosts reach us on: the source of the default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def host_capacity(root_dir: Path, pods: int = 110) -> dict[str, str]:
    """What the machine has (cadvisor's MachineInfo, in Quantity strings)."""
    mem_kib = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    root = root_dir if root_dir.exists() else Path("/")
    return {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{mem_kib}Ki",
        "pods": str(pods),
        "ephemeral-storage": f"{shutil.disk_usage(root).total // 1024}Ki",
    }


def os_image() -> str:
    for line in _read("/etc/os-release").splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return platform.system()


def node_info(version: rt.VersionInfo, simulated: bool = False) -> dict[str, str]:
    machine_id = _read("/etc/machine-id") or _read("/var/lib/dbus/machine-id")
    return {
        "architecture": ARCH.get(platform.machine(), platform.machine()),
        "bootID": _read("/proc/sys/kernel/random/boot_id"),
        "containerRuntimeVersion": f"{version.runtime_name}://{version.runtime_version}",
        "kernelVersion": platform.release(),
        "kubeProxyVersion": "",  # deprecated; kubelets since 1.31 leave it empty
        "kubeletVersion": KUBELET_VERSION,
        "machineID": machine_id,
        "operatingSystem": "linux" if not simulated else platform.system().lower(),
        "osImage": os_image() if not simulated else "Simulated (pykube)",
        "systemUUID": _read("/sys/class/dmi/id/product_uuid") or machine_id,
    }


def _conditions(runtime_status: rt.RuntimeStatus, heartbeat: str) -> list[dict[str, Any]]:
    problems = [
        f"container runtime {c.type}=false reason:{c.reason} message:{c.message}"
        for c in runtime_status.conditions if not c.status
    ]  # fmt: skip
    ready = not problems
    rows = [
        ("MemoryPressure", False, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", False, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", False, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
        ("Ready", ready, "KubeletReady" if ready else "KubeletNotReady",
         "kubelet is posting ready status" if ready else "; ".join(problems)),
    ]  # fmt: skip
    return [
        {"type": t, "status": "True" if s else "False", "reason": r, "message": m,
         "lastHeartbeatTime": heartbeat, "lastTransitionTime": heartbeat}
        for t, s, r, m in rows
    ]  # fmt: skip


@dataclass
class NodeConfig:
    name: str
    host_ip: str
    pod_cidr: str = ""
    capacity: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    kubelet_port: int = 10250
    simulated: bool = False
    lease_duration: int = 40
    lease_renew: float = 10.0
    status_check: float = 10.0  # nodeStatusUpdateFrequency
    status_report: float = 60.0


#: Condition fields that change on every heartbeat, left out of the comparison.
_TIMES = ("lastHeartbeatTime", "lastTransitionTime")


def status_differs(status: dict[str, Any], server: dict[str, Any]) -> bool:
    """``nodeStatusHasChanged``: a field this kubelet reports, or a condition, differs.

    Conditions are compared without their times; fields the kubelet does not report
    (another writer's conditions, ``volumesInUse``) are not looked at.
    """
    if any(server.get(key) != value for key, value in status.items() if key != "conditions"):
        return True
    theirs = {c.get("type"): c for c in server.get("conditions") or []}
    for cond in status["conditions"]:
        prev = theirs.get(cond["type"])
        if prev is None or any(prev.get(k) != v for k, v in cond.items() if k not in _TIMES):
            return True
    return False


class NodeAgent:
    def __init__(
        self, rest: RESTClient, config: NodeConfig, runtime: rt.RuntimeService, images: rt.ImageService
    ) -> None:
        self.rest, self.config, self.runtime, self.images = rest, config, runtime, images
        self.uid = ""
        self._last_report = 0.0
        self.lease_renewals = 0

    def node_object(self) -> dict[str, Any]:
        c = self.config
        arch = ARCH.get(platform.machine(), platform.machine())
        labels = {
            "kubernetes.io/hostname": c.name,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": arch,
            "beta.kubernetes.io/os": "linux",
            "beta.kubernetes.io/arch": arch,
            "node.kubernetes.io/instance-type": "simulated" if c.simulated else "pykube",
            **c.labels,
        }
        spec: dict[str, Any] = {"podCIDR": c.pod_cidr, "podCIDRs": [c.pod_cidr]} if c.pod_cidr else {}
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": c.name, "labels": labels},
            "spec": spec,
        }

    async def register(self) -> None:
        try:
            node = await self.rest.create(NODES, self.node_object())
        except errors.StatusError as err:
            if not errors.is_already_exists(err):
                raise
            node = await self.rest.get(NODES, self.config.name)
        self.uid = node["metadata"]["uid"]
        await self.update_status(force=True)

    async def status(self) -> dict[str, Any]:
        c = self.config
        version, runtime_status = await self.runtime.version(), await self.runtime.status()
        capacity = dict(c.capacity)
        images = [
            {"names": [*i.repo_tags, *i.repo_digests][:5], "sizeBytes": i.size}
            for i in (await self.images.list_images())[:50] if i.repo_tags or i.repo_digests
        ]  # fmt: skip
        return {
            "capacity": capacity,
            "allocatable": dict(capacity),
            "conditions": _conditions(runtime_status, now()),
            "addresses": [
                {"type": "InternalIP", "address": c.host_ip},
                {"type": "Hostname", "address": c.name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": c.kubelet_port}},
            "nodeInfo": node_info(version, c.simulated),
            "images": images,
        }

    async def update_status(self, force: bool = False) -> bool:
        """PATCH the status if it differs from the server's or ``status_report`` passed.

        ``tryUpdateNodeStatus`` compares with the Node *as the server has it*, not with
        what this kubelet last sent: the node lifecycle controller writes ``Ready=Unknown``
        when the Lease lapses, and the kubelet must put ``Ready=True`` back on its next
        check (``nodeStatusUpdateFrequency``), not at the next periodic report.
        """
        status = await self.status()
        server = (await self.rest.get(NODES, self.config.name)).get("status") or {}
        loop_now = asyncio.get_running_loop().time()
        changed = status_differs(status, server)
        if not (force or changed or loop_now - self._last_report >= self.config.status_report):
            return False
        theirs = {c.get("type"): c for c in server.get("conditions") or []}
        for cond in status["conditions"]:  # keep transition times of unchanged conditions
            prev = theirs.get(cond["type"])
            if prev is not None and prev.get("status") == cond["status"] and prev.get("lastTransitionTime"):
                cond["lastTransitionTime"] = prev["lastTransitionTime"]
        await self.rest.patch(
            NODES, self.config.name, {"status": status}, subresource="status", patch_type=PatchType.STRATEGIC
        )
        self._last_report = loop_now
        return True

    def lease_object(self) -> dict[str, Any]:
        c = self.config
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": c.name,
                "namespace": LEASE_NAMESPACE,
                "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": c.name, "uid": self.uid}],
            },
            "spec": {
                "holderIdentity": c.name,
                "leaseDurationSeconds": c.lease_duration,
                "renewTime": now_micro(),
            },
        }

    async def renew_lease(self) -> None:
        """Create the Lease, or PUT a fresh ``renewTime`` on the one we read (optimistic concurrency)."""
        try:
            lease = await self.rest.get(LEASES, self.config.name, namespace=LEASE_NAMESPACE)
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                raise
            await self.rest.create(LEASES, self.lease_object(), namespace=LEASE_NAMESPACE)
            self.lease_renewals += 1
            return
        lease["spec"].update(holderIdentity=self.config.name, leaseDurationSeconds=self.config.lease_duration)
        lease["spec"]["renewTime"] = now_micro()
        if not lease["metadata"].get("ownerReferences") and self.uid:
            lease["metadata"]["ownerReferences"] = self.lease_object()["metadata"]["ownerReferences"]
        await self.rest.update(LEASES, lease, namespace=LEASE_NAMESPACE)
        self.lease_renewals += 1

    async def run(self) -> None:
        """Register, then keep the Lease and the status fresh until cancelled."""
        while True:
            try:
                await self.register()
                break
            except (errors.StatusError, OSError) as err:
                log.warning("node registration failed, retrying: %s", err)
                await asyncio.sleep(1)
        await asyncio.gather(self._loop(self.renew_lease, self.config.lease_renew),
                             self._loop(self.update_status, self.config.status_check))  # fmt: skip

    async def _loop(self, fn: Any, period: float) -> None:
        while True:
            try:
                await fn()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("%s failed: %s", getattr(fn, "__name__", fn), err)
            await asyncio.sleep(period)
