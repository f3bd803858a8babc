"""Our runtime dataclasses to CRI protobuf messages and back.

Upstream's kubelet builds the same messages in pkg/kubelet/kuberuntime:
``kuberuntime_sandbox.go`` (``generatePodSandboxConfig``: metadata, hostname, log
directory, DNS, port mappings, ``linux.cgroup_parent`` and the namespace options) and
``kuberuntime_container.go`` / ``kuberuntime_container_linux.go``
(``generateContainerConfig``: command, env, mounts, log path, resources, security).

Three details matter in practice (../shared/reference/containerd-cri.md):

* a host-network pod has no UTS namespace of its own, so its ``hostname`` is left
  empty (the kubelet does the same) or runc fails to set it;
* ``SecurityProfile.RuntimeDefault`` is 0, protobuf's default, so a profile is set by
  marking the sub-message present (``SetInParent``) and then its type: never by a
  truthiness test, which silently leaves it out;
* a container's namespace options repeat its sandbox's (network and IPC from the pod,
  PID per container unless the pod shares the host's).
"""

from __future__ import annotations

from kubelet.runtime import interface as rt
from kubelet.runtime.cri_api import api_pb2 as pb

_PROFILES = {"RuntimeDefault": pb.SecurityProfile.RuntimeDefault, "Unconfined": pb.SecurityProfile.Unconfined}


def _set_seccomp(profile: pb.SecurityProfile, name: str) -> None:
    if name not in _PROFILES:
        raise rt.RuntimeServiceError(f"unsupported seccomp profile {name!r}")
    profile.SetInParent()  # present even when the type is RuntimeDefault (== 0)
    profile.profile_type = _PROFILES[name]


def namespace_options(config: rt.PodSandboxConfig) -> pb.NamespaceOption:
    return pb.NamespaceOption(
        network=pb.NODE if config.host_network else pb.POD,
        pid=pb.NODE if config.host_pid else pb.CONTAINER,
        ipc=pb.NODE if config.host_ipc else pb.POD,
    )


def sandbox_config(config: rt.PodSandboxConfig) -> pb.PodSandboxConfig:
    m = config.metadata
    msg = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=m.name, uid=m.uid, namespace=m.namespace, attempt=m.attempt),
        hostname="" if config.host_network else config.hostname,
        log_directory=config.log_directory,
        port_mappings=[
            pb.PortMapping(
                protocol=pb.Protocol.Value(p.protocol),
                container_port=p.container_port,
                host_port=p.host_port,
                host_ip=p.host_ip,
            )
            for p in config.port_mappings
        ],
        labels=config.labels,
        annotations=config.annotations,
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=config.cgroup_parent,
            security_context=pb.LinuxSandboxSecurityContext(namespace_options=namespace_options(config)),
        ),
    )
    if config.dns is not None:
        msg.dns_config.CopyFrom(
            pb.DNSConfig(servers=config.dns.servers, searches=config.dns.searches, options=config.dns.options)
        )
    _set_seccomp(msg.linux.security_context.seccomp, config.seccomp)
    return msg


def container_config(config: rt.ContainerConfig, sandbox: rt.PodSandboxConfig) -> pb.ContainerConfig:
    r = config.resources
    msg = pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=config.metadata.name, attempt=config.metadata.attempt),
        image=pb.ImageSpec(image=config.image),
        command=config.command,
        args=config.args,
        working_dir=config.working_dir,
        envs=[pb.KeyValue(key=k, value=v) for k, v in config.envs.items()],
        mounts=[
            pb.Mount(container_path=m.container_path, host_path=m.host_path, readonly=m.readonly)
            for m in config.mounts
        ],
        labels=config.labels,
        annotations=config.annotations,
        log_path=config.log_path,
        stdin=config.stdin,
        stdin_once=config.stdin_once,
        tty=config.tty,
        linux=pb.LinuxContainerConfig(
            resources=pb.LinuxContainerResources(
                cpu_period=r.cpu_period,
                cpu_quota=r.cpu_quota,
                cpu_shares=r.cpu_shares,
                memory_limit_in_bytes=r.memory_limit_in_bytes,
                oom_score_adj=r.oom_score_adj,
            ),
            security_context=pb.LinuxContainerSecurityContext(
                privileged=config.privileged, namespace_options=namespace_options(sandbox)
            ),
        ),
    )
    if config.run_as_user is not None:
        msg.linux.security_context.run_as_user.value = config.run_as_user
    _set_seccomp(msg.linux.security_context.seccomp, config.seccomp)
    return msg


def _sandbox_metadata(m: pb.PodSandboxMetadata) -> rt.PodSandboxMetadata:
    return rt.PodSandboxMetadata(m.name, m.namespace, m.uid, m.attempt)


def sandbox_row(s: pb.PodSandbox) -> rt.PodSandbox:
    state = rt.PodSandboxState(pb.PodSandboxState.Name(s.state))
    return rt.PodSandbox(
        s.id, _sandbox_metadata(s.metadata), state, s.created_at, dict(s.labels), dict(s.annotations)
    )


def sandbox_status(s: pb.PodSandboxStatus) -> rt.PodSandboxStatus:
    return rt.PodSandboxStatus(
        id=s.id,
        metadata=_sandbox_metadata(s.metadata),
        state=rt.PodSandboxState(pb.PodSandboxState.Name(s.state)),
        created_at=s.created_at,
        labels=dict(s.labels),
        annotations=dict(s.annotations),
        ip=s.network.ip,
        additional_ips=[ip.ip for ip in s.network.additional_ips],
        host_network=s.linux.namespaces.options.network == pb.NODE,
    )


def container_row(c: pb.Container) -> rt.Container:
    return rt.Container(
        id=c.id,
        pod_sandbox_id=c.pod_sandbox_id,
        metadata=rt.ContainerMetadata(c.metadata.name, c.metadata.attempt),
        image=c.image.image,
        image_ref=c.image_ref,
        state=rt.ContainerState(pb.ContainerState.Name(c.state)),
        created_at=c.created_at,
        labels=dict(c.labels),
        annotations=dict(c.annotations),
    )


def container_status(c: pb.ContainerStatus) -> rt.ContainerStatus:
    return rt.ContainerStatus(
        id=c.id,
        metadata=rt.ContainerMetadata(c.metadata.name, c.metadata.attempt),
        state=rt.ContainerState(pb.ContainerState.Name(c.state)),
        created_at=c.created_at,
        started_at=c.started_at,
        finished_at=c.finished_at,
        exit_code=c.exit_code,
        image=c.image.image,
        image_ref=c.image_ref,
        reason=c.reason,
        message=c.message,
        labels=dict(c.labels),
        annotations=dict(c.annotations),
        log_path=c.log_path,
    )


def image(i: pb.Image) -> rt.Image:
    return rt.Image(i.id, list(i.repo_tags), list(i.repo_digests), i.size)


def sandbox_filter(f: rt.PodSandboxFilter | None) -> pb.PodSandboxFilter | None:
    if f is None:
        return None
    msg = pb.PodSandboxFilter(id=f.id, label_selector=f.label_selector)
    if f.state is not None:
        msg.state.state = pb.PodSandboxState.Value(f.state.value)
    return msg


def container_filter(f: rt.ContainerFilter | None) -> pb.ContainerFilter | None:
    if f is None:
        return None
    msg = pb.ContainerFilter(id=f.id, pod_sandbox_id=f.pod_sandbox_id, label_selector=f.label_selector)
    if f.state is not None:
        msg.state.state = pb.ContainerState.Value(f.state.value)
    return msg
