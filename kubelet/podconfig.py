"""From a pod spec to the CRI's sandbox and container configs.

Mirrors pkg/kubelet/kuberuntime/kuberuntime_sandbox.go ``generatePodSandboxConfig`` and
kuberuntime_container.go ``generateContainerConfig`` (with _linux.go for resources):

* the sandbox carries the pod's identity (name, namespace, uid, attempt), its labels
  plus ours (podstate.py), its annotations (the simulated runtime reads its behaviour
  from them), hostNetwork/hostPID/hostIPC, host ports, the log directory
  ``<root>/logs/<ns>_<pod>_<uid>`` and the pod cgroup ``/kubepods/<qos>/pod<uid>``;
* a container gets its command/args, env, mounts (volume host paths + subPath), the
  log path ``<container>/<attempt>.log``, and its resources as cgroup numbers:
  CPU request -> ``cpu_shares`` (1 CPU = 1024, at least 2), CPU limit -> CFS quota per
  100 ms period, memory limit -> ``memory_limit_in_bytes``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from apimachinery.quantity import milli_value, value
from kubelet.podstate import CONTAINER_NAME, NODE_NAME, POD_NAME, POD_NAMESPACE, POD_UID, RESTART_COUNT
from kubelet.runtime import interface as rt
from kubelet.runtime.cgroups import pod_cgroup_parent

QOS_DIRS = {"Guaranteed": "", "Burstable": "burstable", "BestEffort": "besteffort"}


def pod_ref(pod: dict[str, Any]) -> str:
    """``web_default(uid)``: how upstream's format.Pod names a pod in messages."""
    meta = pod["metadata"]
    return f"{meta['name']}_{meta.get('namespace', '')}({meta['uid']})"


def pull_policy(container: dict[str, Any]) -> str:
    if policy := container.get("imagePullPolicy"):
        return str(policy)
    image = container.get("image", "")
    tag = image.rsplit("/", 1)[-1].partition("@")[0]
    return "Always" if ":" not in tag or tag.endswith(":latest") else "IfNotPresent"


def resources(container: dict[str, Any]) -> rt.Resources:
    """Requests and limits -> cgroup settings (kuberuntime_container_linux.go)."""
    res = container.get("resources") or {}
    requests, limits = res.get("requests") or {}, res.get("limits") or {}
    cpu_request = requests.get("cpu", limits.get("cpu"))
    shares = max(2, milli_value(cpu_request) * 1024 // 1000) if cpu_request is not None else 2
    quota, period = 0, 0
    if "cpu" in limits:
        period = 100_000
        quota = max(1000, milli_value(limits["cpu"]) * period // 1000)
    memory = value(limits["memory"]) if "memory" in limits else 0
    return rt.Resources(cpu_shares=shares, cpu_quota=quota, cpu_period=period, memory_limit_in_bytes=memory)


def sandbox_config(pod: dict[str, Any], attempt: int, root_dir: Path, node_name: str) -> rt.PodSandboxConfig:
    meta, spec = pod["metadata"], pod["spec"]
    uid, host_network = meta["uid"], bool(spec.get("hostNetwork"))
    labels = {
        **(meta.get("labels") or {}),
        POD_NAME: meta["name"],
        POD_NAMESPACE: meta.get("namespace", ""),
        POD_UID: uid,
        NODE_NAME: node_name,
    }
    ports = [
        rt.PortMapping(p["containerPort"], p.get("hostPort", 0), p.get("protocol", "TCP"), p.get("hostIP", ""))
        for c in spec["containers"] for p in c.get("ports") or [] if p.get("hostPort")
    ]  # fmt: skip
    qos = QOS_DIRS.get((pod.get("status") or {}).get("qosClass", "BestEffort"), "besteffort")
    return rt.PodSandboxConfig(
        rt.PodSandboxMetadata(meta["name"], meta.get("namespace", ""), uid, attempt),
        hostname="" if host_network else (spec.get("hostname") or meta["name"])[:63],
        log_directory=str(root_dir / "logs" / f"{meta.get('namespace', '')}_{meta['name']}_{uid}"),
        port_mappings=ports,
        labels=labels,
        annotations=dict(meta.get("annotations") or {}),
        host_network=host_network,
        host_pid=bool(spec.get("hostPID")),
        host_ipc=bool(spec.get("hostIPC")),
        cgroup_parent=pod_cgroup_parent(uid, qos),
    )


def mounts(container: dict[str, Any], volume_paths: dict[str, str]) -> list[rt.Mount]:
    out = []
    for m in container.get("volumeMounts") or []:
        host = volume_paths.get(m["name"])
        if host is None:
            continue
        if sub := m.get("subPath"):
            host = str(Path(host) / sub)
            os.makedirs(host, exist_ok=True)
        out.append(rt.Mount(m["mountPath"], host, bool(m.get("readOnly"))))
    return out


def container_config(
    pod: dict[str, Any],
    c: dict[str, Any],
    attempt: int,
    env: dict[str, str],
    volume_paths: dict[str, str],
    node_name: str,
) -> rt.ContainerConfig:
    meta, name = pod["metadata"], c["name"]
    security = c.get("securityContext") or {}
    return rt.ContainerConfig(
        rt.ContainerMetadata(name, attempt),
        c.get("image", ""),
        command=list(c.get("command") or []),
        args=list(c.get("args") or []),
        working_dir=c.get("workingDir", ""),
        envs=env,
        mounts=mounts(c, volume_paths),
        labels={
            POD_NAME: meta["name"],
            POD_NAMESPACE: meta.get("namespace", ""),
            POD_UID: meta["uid"],
            CONTAINER_NAME: name,
            NODE_NAME: node_name,
        },
        annotations={RESTART_COUNT: str(attempt)},
        log_path=f"{name}/{attempt}.log",
        stdin=bool(c.get("stdin")),
        stdin_once=bool(c.get("stdinOnce")),
        tty=bool(c.get("tty")),
        resources=resources(c),
        run_as_user=security.get("runAsUser"),
        privileged=bool(security.get("privileged")),
    )
