"""What the runtime says about a pod, and where to find a pod's containers by name.

The kubelet keeps no database: the truth about what runs is the runtime's list of
sandboxes and containers, each labelled with the pod it belongs to (upstream:
pkg/kubelet/kuberuntime/labels.go). :func:`observe` gathers that into a
:class:`RuntimePod` (upstream's ``kubecontainer.PodStatus``, built by
``GetPodStatus`` in kuberuntime_manager.go): the pod's sandboxes, newest first, and
per container name every instance (attempt) still present, newest first.

Labels and annotations the kubelet puts on what it creates::

    io.kubernetes.pod.name / .namespace / .uid       on sandboxes and containers
    io.kubernetes.container.name                     on containers
    io.kubernetes.container.restartCount             annotation: the attempt number
    pykube.io/node-name                              the node whose kubelet created it

Because the labels carry everything, a restarted kubelet finds its running
containers again and adopts them instead of starting new ones.

**For the streaming server** (logs, exec, attach, port-forward; kubelet/server.py)
:class:`PodLookup` answers, for a namespace/pod/container, the running container's
id, the previous instance's id (``kubectl logs --previous``), its log path and the
sandbox id (port-forward), straight from the runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubelet.runtime import interface as rt

POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
POD_UID = "io.kubernetes.pod.uid"
CONTAINER_NAME = "io.kubernetes.container.name"
RESTART_COUNT = "io.kubernetes.container.restartCount"
#: Ours, not upstream's: which node's kubelet made it. Upstream a runtime serves one
#: kubelet; here two kubelets may share one containerd (a lab, a test), and orphan
#: cleanup must never remove the other node's pods.
NODE_NAME = "pykube.io/node-name"


@dataclass
class RuntimePod:
    uid: str
    sandboxes: list[rt.PodSandboxStatus] = field(default_factory=list)
    containers: dict[str, list[rt.ContainerStatus]] = field(default_factory=dict)

    @property
    def sandbox(self) -> rt.PodSandboxStatus | None:
        return self.sandboxes[0] if self.sandboxes else None

    def ready_sandbox(self) -> rt.PodSandboxStatus | None:
        s = self.sandbox
        return s if s is not None and s.state == rt.PodSandboxState.READY else None

    def latest(self, name: str) -> rt.ContainerStatus | None:
        found = self.containers.get(name)
        return found[0] if found else None

    def previous(self, name: str) -> rt.ContainerStatus | None:
        found = self.containers.get(name)
        return found[1] if found and len(found) > 1 else None

    def running(self) -> dict[str, str]:
        """Container name -> id of every running container."""
        return {
            name: found[0].id
            for name, found in self.containers.items()
            if found and found[0].state == rt.ContainerState.RUNNING
        }

    def all(self) -> list[rt.ContainerStatus]:
        return [c for found in self.containers.values() for c in found]


async def observe(runtime: rt.RuntimeService, uid: str) -> RuntimePod:
    """Ask the runtime about one pod (its sandboxes and containers, by the uid label)."""
    pod = RuntimePod(uid)
    rows = await runtime.list_pod_sandbox(rt.PodSandboxFilter(label_selector={POD_UID: uid}))
    for row in sorted(rows, key=lambda s: (s.metadata.attempt, s.created_at), reverse=True):
        try:
            pod.sandboxes.append(await runtime.pod_sandbox_status(row.id))
        except rt.NotFoundError:
            continue
    containers = await runtime.list_containers(rt.ContainerFilter(label_selector={POD_UID: uid}))
    statuses = []
    for container in containers:
        try:
            statuses.append(await runtime.container_status(container.id))
        except rt.NotFoundError:
            continue
    for status in sorted(statuses, key=lambda c: (c.metadata.attempt, c.created_at), reverse=True):
        pod.containers.setdefault(status.metadata.name, []).append(status)
    return pod


async def pods_on_runtime(runtime: rt.RuntimeService, node_name: str) -> dict[str, tuple[str, str]]:
    """Every pod uid this node's kubelet holds sandboxes or containers for -> (namespace, name)."""
    found: dict[str, tuple[str, str]] = {}
    for s in await runtime.list_pod_sandbox(rt.PodSandboxFilter(label_selector={NODE_NAME: node_name})):
        if POD_UID in s.labels:
            found[s.labels[POD_UID]] = (s.labels.get(POD_NAMESPACE, ""), s.labels.get(POD_NAME, ""))
    mine = rt.ContainerFilter(label_selector={NODE_NAME: node_name})
    for c in await runtime.list_containers(mine):  # containers whose sandbox is already gone
        if POD_UID in c.labels:
            found.setdefault(c.labels[POD_UID], (c.labels.get(POD_NAMESPACE, ""), c.labels.get(POD_NAME, "")))
    return found


@dataclass(frozen=True)
class ContainerLocation:
    """Where one container of a pod is, for logs/exec/attach/port-forward."""

    pod_uid: str
    sandbox_id: str
    container_id: str  # the newest instance ("" if none yet)
    previous_container_id: str  # the one before it (``kubectl logs --previous``), or ""
    log_path: str  # absolute path of the newest instance's CRI log ("" for the simulated runtime)
    running: bool


class PodLookup:
    """Find a pod's containers by namespace/name/container on the runtime of one kubelet."""

    def __init__(self, runtime: rt.RuntimeService) -> None:
        self.runtime = runtime

    async def pod_uid(self, namespace: str, name: str) -> str | None:
        rows = await self.runtime.list_pod_sandbox(
            rt.PodSandboxFilter(label_selector={POD_NAMESPACE: namespace, POD_NAME: name})
        )
        rows.sort(key=lambda s: s.created_at, reverse=True)
        return rows[0].labels.get(POD_UID) if rows else None

    async def container(self, namespace: str, name: str, container: str) -> ContainerLocation | None:
        """The named container of the pod (newest sandbox); None when the pod is not here."""
        uid = await self.pod_uid(namespace, name)
        if uid is None:
            return None
        pod = await observe(self.runtime, uid)
        latest, previous = pod.latest(container), pod.previous(container)
        sandbox = pod.sandbox
        return ContainerLocation(
            pod_uid=uid,
            sandbox_id=sandbox.id if sandbox else "",
            container_id=latest.id if latest else "",
            previous_container_id=previous.id if previous else "",
            log_path=latest.log_path if latest else "",
            running=latest is not None and latest.state == rt.ContainerState.RUNNING,
        )

    async def containers(self, namespace: str, name: str) -> list[str]:
        """Names of the pod's containers the runtime knows, for "container not found" messages."""
        uid = await self.pod_uid(namespace, name)
        return sorted((await observe(self.runtime, uid)).containers) if uid else []
