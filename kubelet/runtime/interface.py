"""The container runtime protocol: what the kubelet asks of whatever runs its pods.

The kubelet never starts a process itself. It talks to a *container runtime* through
the Container Runtime Interface (CRI), a gRPC API defined in k8s.io/cri-api
``pkg/apis/runtime/v1/api.proto``; Go code sees it as the role interfaces of
``pkg/apis/services.go``, which this module mirrors in Python:

====================  ===============================================================
``RuntimeVersioner``  ``version()``: who is on the other end
``PodSandboxManager`` run / stop / remove / status / list *sandboxes*, ``port_forward``
``ContainerManager``  create / start / stop / remove / status / list *containers*,
                      ``exec_sync``, streaming ``exec`` / ``attach``, container logs
``RuntimeService``    all of the above plus ``status()`` (RuntimeReady, NetworkReady)
``ImageService``      ``list_images``, ``image_status``, ``pull_image``, ``remove_image``
====================  ===============================================================

**A sandbox** is the pod's shared environment before any of the pod's own containers
exist: on Linux, a set of namespaces (network, IPC, UTS, optionally PID) held open by a
tiny "pause" process, plus the pod's cgroup. The network namespace is what gives a pod
its one IP that all its containers share (CNI sets it up when the sandbox starts). Each
container is then created *inside* a sandbox: it joins the sandbox's namespaces and gets
its own mount namespace (its image's root filesystem) and its own child cgroup.

Two implementations follow this protocol: ``cri.py`` (containerd over gRPC, real
processes) and ``simulated.py`` (state in dicts, no processes: the KWOK idea). The pod
workers above use only this module, so they run unchanged over either.

Shapes are plain dataclasses, a flattened subset of the CRI messages; every field
keeps its CRI name (``log_directory``, ``image_ref`` ...) so the proto reads alongside.
Timestamps are CRI's: Unix time in integer nanoseconds (0 = not yet). Errors are the
named exceptions at the bottom, translated once from gRPC status codes in ``cri.py``.

Streaming (exec / attach / port-forward) has two shapes, because the two runtimes do
it differently. containerd serves these streams itself and answers the CRI ``Exec``
call with a URL on its own streaming server; upstream's kubelet then proxies the
client's connection there (pkg/kubelet/server/server.go ``proxyStream``). A runtime
without a server of its own hands back a Python-level session instead. A
:class:`StreamEndpoint` carries one or the other, and the kubelet's server handles both.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

# --- sandboxes --------------------------------------------------------------------


class PodSandboxState(enum.Enum):
    READY = "SANDBOX_READY"
    NOTREADY = "SANDBOX_NOTREADY"


@dataclass(frozen=True)
class PodSandboxMetadata:
    """Identifies the pod a sandbox belongs to; ``attempt`` counts sandbox re-creations."""

    name: str
    namespace: str
    uid: str
    attempt: int = 0


@dataclass(frozen=True)
class PortMapping:
    container_port: int
    host_port: int = 0
    protocol: str = "TCP"
    host_ip: str = ""


@dataclass(frozen=True)
class DNSConfig:
    servers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PodSandboxConfig:
    """What the kubelet asks for when it starts a pod (CRI ``PodSandboxConfig``).

    ``host_network`` / ``host_pid`` / ``host_ipc`` flatten CRI's ``NamespaceOption``
    (``NODE`` when true, ``POD`` when false). ``log_directory`` is where the runtime
    writes every container's log, at ``log_directory/<container log_path>``.
    ``cgroup_parent`` is the pod's cgroup (``/kubepods/burstable/pod<uid>``).
    ``seccomp`` is ``Unconfined`` (the kubelet's default) or ``RuntimeDefault``.
    """

    metadata: PodSandboxMetadata
    hostname: str = ""
    log_directory: str = ""
    dns: DNSConfig | None = None
    port_mappings: list[PortMapping] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    host_network: bool = False
    host_pid: bool = False
    host_ipc: bool = False
    cgroup_parent: str = ""
    seccomp: str = "Unconfined"


@dataclass(frozen=True)
class PodSandbox:
    """One row of ``list_pod_sandbox``."""

    id: str
    metadata: PodSandboxMetadata
    state: PodSandboxState
    created_at: int
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PodSandboxStatus(PodSandbox):
    """``pod_sandbox_status``: a row plus the network: ``ip`` is "" for host-network pods."""

    ip: str = ""
    additional_ips: list[str] = field(default_factory=list)
    host_network: bool = False


@dataclass(frozen=True)
class PodSandboxFilter:
    id: str = ""
    state: PodSandboxState | None = None
    label_selector: dict[str, str] = field(default_factory=dict)


# --- containers -------------------------------------------------------------------


class ContainerState(enum.Enum):
    CREATED = "CONTAINER_CREATED"
    RUNNING = "CONTAINER_RUNNING"
    EXITED = "CONTAINER_EXITED"
    UNKNOWN = "CONTAINER_UNKNOWN"


@dataclass(frozen=True)
class ContainerMetadata:
    """``attempt`` is the restart count: the kubelet creates attempt N+1 after a crash."""

    name: str
    attempt: int = 0


@dataclass(frozen=True)
class Mount:
    container_path: str
    host_path: str
    readonly: bool = False


@dataclass(frozen=True)
class Resources:
    """CRI ``LinuxContainerResources``: what pod requests and limits become in cgroups.

    ``cpu_shares`` from the CPU request (1 CPU = 1024), ``cpu_quota``/``cpu_period``
    from the CPU limit (CFS bandwidth), ``memory_limit_in_bytes`` from the memory limit.
    0 means "not set".
    """

    cpu_shares: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    memory_limit_in_bytes: int = 0
    oom_score_adj: int = 0


@dataclass(frozen=True)
class ContainerConfig:
    """What to run (CRI ``ContainerConfig``). ``log_path`` is relative to the sandbox's
    ``log_directory``; ``envs`` keep their order (CRI sends a list of key/values)."""

    metadata: ContainerMetadata
    image: str
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    working_dir: str = ""
    envs: dict[str, str] = field(default_factory=dict)
    mounts: list[Mount] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    log_path: str = ""
    stdin: bool = False
    stdin_once: bool = False
    tty: bool = False
    resources: Resources = field(default_factory=Resources)
    run_as_user: int | None = None
    privileged: bool = False
    seccomp: str = "Unconfined"  # or "RuntimeDefault": the runtime's default syscall filter


@dataclass(frozen=True)
class Container:
    """One row of ``list_containers``."""

    id: str
    pod_sandbox_id: str
    metadata: ContainerMetadata
    image: str
    image_ref: str
    state: ContainerState
    created_at: int
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContainerStatus:
    """``container_status``. ``reason`` for an exited container is ``Completed`` (exit 0),
    ``Error`` (non-zero) or ``OOMKilled`` (the cgroup's memory limit was hit); ``log_path``
    is absolute here (sandbox ``log_directory`` joined with the container's)."""

    id: str
    metadata: ContainerMetadata
    state: ContainerState
    created_at: int
    started_at: int = 0
    finished_at: int = 0
    exit_code: int = 0
    image: str = ""
    image_ref: str = ""
    reason: str = ""
    message: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    log_path: str = ""


@dataclass(frozen=True)
class ContainerFilter:
    id: str = ""
    state: ContainerState | None = None
    pod_sandbox_id: str = ""
    label_selector: dict[str, str] = field(default_factory=dict)


class ExecResult(NamedTuple):
    """``exec_sync``'s answer; a tuple, so ``code, out, err = await rt.exec_sync(...)``."""

    exit_code: int
    stdout: bytes
    stderr: bytes


# --- logs -------------------------------------------------------------------------


@dataclass(frozen=True)
class LogLine:
    """One line of a container log in CRI format: ``<RFC3339Nano> <stream> <P|F> <content>``.

    ``partial`` is the ``P`` tag: the runtime split a long line and more follows.
    """

    timestamp: str
    stream: str
    content: bytes
    partial: bool = False


@dataclass(frozen=True)
class LogOptions:
    """``tail``: only the last N lines; ``since_ns``: only lines at or after this time;
    ``follow``: keep going until the container exits (kubelet logs.go ``LogOptions``)."""

    tail: int | None = None
    since_ns: int = 0
    follow: bool = False


# --- streaming --------------------------------------------------------------------


@dataclass(frozen=True)
class ExecRequest:
    container_id: str
    cmd: list[str]
    stdin: bool = False
    stdout: bool = True
    stderr: bool = True
    tty: bool = False


@dataclass(frozen=True)
class AttachRequest:
    container_id: str
    stdin: bool = False
    stdout: bool = True
    stderr: bool = True
    tty: bool = False


class StreamSession(Protocol):
    """An exec or attach running in-process, in the channels of ``channel.k8s.io``:
    output arrives as ``(1, bytes)`` for stdout and ``(2, bytes)`` for stderr."""

    async def write_stdin(self, data: bytes) -> None: ...
    async def close_stdin(self) -> None: ...
    async def resize(self, width: int, height: int) -> None: ...
    def output(self) -> AsyncIterator[tuple[int, bytes]]: ...
    async def wait(self) -> int:
        """The exit code, once the command has finished."""
        ...


class ByteStream(Protocol):
    """One forwarded connection: ``receive()`` returns b"" at end of stream."""

    async def send(self, data: bytes) -> None: ...
    async def receive(self) -> bytes: ...
    async def aclose(self) -> None: ...


class PortForwarder(Protocol):
    async def connect(self, port: int) -> ByteStream: ...


@dataclass(frozen=True)
class StreamEndpoint:
    """Where a stream is served: ``url`` on the runtime's own streaming server (proxy the
    client there), or an in-process ``session`` / ``forwarder``. Exactly one is set."""

    url: str = ""
    session: StreamSession | None = None
    forwarder: PortForwarder | None = None


# --- runtime and images -----------------------------------------------------------


@dataclass(frozen=True)
class VersionInfo:
    version: str
    runtime_name: str
    runtime_version: str
    runtime_api_version: str


@dataclass(frozen=True)
class RuntimeCondition:
    type: str  # "RuntimeReady" or "NetworkReady"
    status: bool
    reason: str = ""
    message: str = ""


@dataclass(frozen=True)
class RuntimeStatus:
    conditions: list[RuntimeCondition]

    def ready(self, condition: str) -> bool:
        return any(c.type == condition and c.status for c in self.conditions)


@dataclass(frozen=True)
class Image:
    id: str
    repo_tags: list[str] = field(default_factory=list)
    repo_digests: list[str] = field(default_factory=list)
    size: int = 0


class RuntimeVersioner(Protocol):
    async def version(self) -> VersionInfo: ...


class PodSandboxManager(Protocol):
    async def run_pod_sandbox(self, config: PodSandboxConfig) -> str: ...
    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None: ...
    async def remove_pod_sandbox(self, pod_sandbox_id: str) -> None: ...
    async def pod_sandbox_status(self, pod_sandbox_id: str) -> PodSandboxStatus: ...
    async def list_pod_sandbox(self, filter: PodSandboxFilter | None = None) -> list[PodSandbox]: ...
    async def port_forward(self, pod_sandbox_id: str, ports: list[int]) -> StreamEndpoint: ...


class ContainerManager(Protocol):
    async def create_container(
        self, pod_sandbox_id: str, config: ContainerConfig, sandbox_config: PodSandboxConfig
    ) -> str: ...
    async def start_container(self, container_id: str) -> None: ...
    async def stop_container(self, container_id: str, timeout: int) -> None:  # noqa: ASYNC109 - CRI's own parameter, sent to the runtime
        """SIGTERM, then SIGKILL once ``timeout`` seconds have passed (0: kill at once)."""
        ...

    async def remove_container(self, container_id: str) -> None: ...
    async def list_containers(self, filter: ContainerFilter | None = None) -> list[Container]: ...
    async def container_status(self, container_id: str) -> ContainerStatus: ...
    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float = 0) -> ExecResult: ...  # noqa: ASYNC109 - CRI's own parameter, sent to the runtime
    async def exec(self, request: ExecRequest) -> StreamEndpoint: ...
    async def attach(self, request: AttachRequest) -> StreamEndpoint: ...
    async def reopen_container_log(self, container_id: str) -> None: ...
    def read_container_log(self, container_id: str, options: LogOptions) -> AsyncIterator[LogLine]:
        """Lines of the container's log (upstream the kubelet reads the file itself:
        pkg/kubelet/kuberuntime/logs/logs.go; here the runtime owns that, so the
        simulated runtime can keep its logs in memory)."""
        ...


class RuntimeService(RuntimeVersioner, PodSandboxManager, ContainerManager, Protocol):
    async def status(self) -> RuntimeStatus: ...
    async def close(self) -> None: ...


class ImageService(Protocol):
    async def list_images(self) -> list[Image]: ...
    async def image_status(self, image: str) -> Image | None:
        """None when the image is not present (CRI answers an empty ``image``)."""
        ...

    async def pull_image(self, image: str, sandbox_config: PodSandboxConfig | None = None) -> str:
        """Returns the image reference (its id); raises :class:`ImagePullError`."""
        ...

    async def remove_image(self, image: str) -> None: ...


# --- errors -----------------------------------------------------------------------


class RuntimeServiceError(Exception):
    """Any runtime failure. Subclasses name the ones the kubelet reacts to."""


class NotFoundError(RuntimeServiceError):
    """No such sandbox, container or image (gRPC NOT_FOUND)."""


class ImagePullError(RuntimeServiceError):
    """The image could not be pulled: the kubelet reports ``ErrImagePull``."""


class ExecTimeoutError(RuntimeServiceError):
    """``exec_sync`` ran past its timeout (probes report this as a failure)."""
