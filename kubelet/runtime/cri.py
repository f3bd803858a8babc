"""The containerd runtime: our runtime protocol over the CRI v1 gRPC API.

This is upstream's ``pkg/kubelet/cri/remote/remote_runtime.go`` and
``remote_image.go``: one gRPC connection to the runtime's unix socket, one method
per CRI call, errors translated at this boundary. A gRPC call is an HTTP/2 POST to
``/<package>.<Service>/<Method>`` whose body is the serialized request message, so we
call the two services by those paths (``/runtime.v1.RuntimeService/RunPodSandbox``)
with message classes generated from the CRI ``api.proto`` (``cri_api/``).

What containerd does with each call, down to the kernel:

==========================  =========================================================
``RunPodSandbox``           unpack the pause image; create a network namespace and run
                            the CNI plugins in it (bridge + host-local: a veth pair and
                            an IP); start a shim, which runs ``runc create`` + ``start``
                            for the pause process in new IPC/UTS(/PID) namespaces and
                            a cgroup under the pod's ``cgroup_parent``
``CreateContainer``         snapshot the image (an overlayfs mount: the container's
                            root), write an OCI runtime spec: joins the sandbox's
                            namespaces, its own mount namespace, limits in its cgroup
``StartContainer``          ``runc start``: exec the command; stdout/stderr piped by the
                            shim into the CRI-format log file
``StopContainer(timeout)``  SIGTERM, wait up to ``timeout`` seconds, SIGKILL
``ExecSync`` / ``Exec``     ``runc exec``: a new process in the same namespaces/cgroup
``StopPodSandbox``          kill every container and the pause process; CNI DEL
``RemovePodSandbox``        delete the records, the network namespace, the shim
==========================  =========================================================

A memory limit becomes ``memory.limit_in_bytes`` in the container's cgroup; when the
kernel's OOM killer ends the process there, containerd reports exit 137, reason
``OOMKilled``. The pod's own cgroup (``cgroup_parent``) is left behind by
RemovePodSandbox: removing it is the kubelet's job (``cgroups.remove_pod_cgroup``).

Images: ``PullImage`` always contacts the registry, even for an image that is already
present, so the kubelet asks ``ImageStatus`` first (``image_policy.ensure_image``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
import grpc.aio
from google.protobuf.message import Message

from kubelet.runtime import cri_convert as conv
from kubelet.runtime import interface as rt
from kubelet.runtime.cri_api import api_pb2 as pb
from kubelet.runtime.logs import read_log_file

R = TypeVar("R", bound=Message)

RUNTIME = "runtime.v1.RuntimeService"
IMAGES = "runtime.v1.ImageService"


class CRIRuntime:
    """``RuntimeService`` and ``ImageService`` for a CRI endpoint such as
    ``unix:///DIR/run/containerd.sock``."""

    def __init__(self, endpoint: str, timeout: float = 30.0, pull_timeout: float = 300.0) -> None:
        self.endpoint = endpoint
        self.timeout, self.pull_timeout = timeout, pull_timeout
        self._channel = grpc.aio.insecure_channel(
            endpoint, options=[("grpc.max_receive_message_length", 16 << 20)]
        )
        self._methods: dict[str, Any] = {}

    async def _call(
        self, service: str, method: str, request: Message, response: type[R], deadline: float = 0
    ) -> R:
        path = f"/{service}/{method}"
        if (call := self._methods.get(path)) is None:
            call = self._methods[path] = self._channel.unary_unary(
                path, request_serializer=_serialize, response_deserializer=response.FromString
            )
        try:
            result: R = await call(request, timeout=deadline or self.timeout)
        except grpc.aio.AioRpcError as err:
            raise _translate(method, err) from None
        return result

    async def close(self) -> None:
        await self._channel.close()

    # --- RuntimeService: version and status ----------------------------------

    async def version(self) -> rt.VersionInfo:
        v = await self._call(RUNTIME, "Version", pb.VersionRequest(version="v1"), pb.VersionResponse)
        return rt.VersionInfo(v.version, v.runtime_name, v.runtime_version, v.runtime_api_version)

    async def status(self) -> rt.RuntimeStatus:
        s = await self._call(RUNTIME, "Status", pb.StatusRequest(), pb.StatusResponse)
        return rt.RuntimeStatus(
            [rt.RuntimeCondition(c.type, c.status, c.reason, c.message) for c in s.status.conditions]
        )

    # --- PodSandboxManager -----------------------------------------------------

    async def run_pod_sandbox(self, config: rt.PodSandboxConfig) -> str:
        request = pb.RunPodSandboxRequest(config=conv.sandbox_config(config))
        return (await self._call(RUNTIME, "RunPodSandbox", request, pb.RunPodSandboxResponse)).pod_sandbox_id

    async def stop_pod_sandbox(self, pod_sandbox_id: str) -> None:
        request = pb.StopPodSandboxRequest(pod_sandbox_id=pod_sandbox_id)
        await self._call(RUNTIME, "StopPodSandbox", request, pb.StopPodSandboxResponse)

    async def remove_pod_sandbox(self, pod_sandbox_id: str) -> None:
        request = pb.RemovePodSandboxRequest(pod_sandbox_id=pod_sandbox_id)
        await self._call(RUNTIME, "RemovePodSandbox", request, pb.RemovePodSandboxResponse)

    async def pod_sandbox_status(self, pod_sandbox_id: str) -> rt.PodSandboxStatus:
        request = pb.PodSandboxStatusRequest(pod_sandbox_id=pod_sandbox_id)
        response = await self._call(RUNTIME, "PodSandboxStatus", request, pb.PodSandboxStatusResponse)
        return conv.sandbox_status(response.status)

    async def list_pod_sandbox(self, filter: rt.PodSandboxFilter | None = None) -> list[rt.PodSandbox]:
        request = pb.ListPodSandboxRequest(filter=conv.sandbox_filter(filter))
        response = await self._call(RUNTIME, "ListPodSandbox", request, pb.ListPodSandboxResponse)
        return [conv.sandbox_row(s) for s in response.items]

    async def port_forward(self, pod_sandbox_id: str, ports: list[int]) -> rt.StreamEndpoint:
        request = pb.PortForwardRequest(pod_sandbox_id=pod_sandbox_id, port=ports)
        return rt.StreamEndpoint(
            url=(await self._call(RUNTIME, "PortForward", request, pb.PortForwardResponse)).url
        )

    # --- ContainerManager ------------------------------------------------------

    async def create_container(
        self, pod_sandbox_id: str, config: rt.ContainerConfig, sandbox_config: rt.PodSandboxConfig
    ) -> str:
        request = pb.CreateContainerRequest(
            pod_sandbox_id=pod_sandbox_id,
            config=conv.container_config(config, sandbox_config),
            sandbox_config=conv.sandbox_config(sandbox_config),
        )
        return (
            await self._call(RUNTIME, "CreateContainer", request, pb.CreateContainerResponse)
        ).container_id

    async def start_container(self, container_id: str) -> None:
        request = pb.StartContainerRequest(container_id=container_id)
        await self._call(RUNTIME, "StartContainer", request, pb.StartContainerResponse)

    async def stop_container(self, container_id: str, timeout: int) -> None:  # noqa: ASYNC109 - CRI's own parameter, sent to the runtime
        request = pb.StopContainerRequest(container_id=container_id, timeout=timeout)
        # the gRPC deadline must outlast the grace period, or we would give up first
        await self._call(
            RUNTIME, "StopContainer", request, pb.StopContainerResponse, deadline=timeout + self.timeout
        )

    async def remove_container(self, container_id: str) -> None:
        request = pb.RemoveContainerRequest(container_id=container_id)
        await self._call(RUNTIME, "RemoveContainer", request, pb.RemoveContainerResponse)

    async def list_containers(self, filter: rt.ContainerFilter | None = None) -> list[rt.Container]:
        request = pb.ListContainersRequest(filter=conv.container_filter(filter))
        response = await self._call(RUNTIME, "ListContainers", request, pb.ListContainersResponse)
        return [conv.container_row(c) for c in response.containers]

    async def container_status(self, container_id: str) -> rt.ContainerStatus:
        request = pb.ContainerStatusRequest(container_id=container_id)
        response = await self._call(RUNTIME, "ContainerStatus", request, pb.ContainerStatusResponse)
        return conv.container_status(response.status)

    async def exec_sync(self, container_id: str, cmd: list[str], timeout: float = 0) -> rt.ExecResult:  # noqa: ASYNC109 - CRI's own parameter, sent to the runtime
        seconds = int(timeout + 0.999) if timeout else 0  # CRI counts whole seconds; 0 = none
        request = pb.ExecSyncRequest(container_id=container_id, cmd=cmd, timeout=seconds)
        deadline = seconds + self.timeout if seconds else 24 * 3600.0
        r = await self._call(RUNTIME, "ExecSync", request, pb.ExecSyncResponse, deadline=deadline)
        return rt.ExecResult(r.exit_code, r.stdout, r.stderr)

    async def exec(self, request: rt.ExecRequest) -> rt.StreamEndpoint:
        msg = pb.ExecRequest(
            container_id=request.container_id,
            cmd=request.cmd,
            tty=request.tty,
            stdin=request.stdin,
            stdout=request.stdout,
            stderr=request.stderr and not request.tty,  # a TTY merges stderr into stdout
        )
        return rt.StreamEndpoint(url=(await self._call(RUNTIME, "Exec", msg, pb.ExecResponse)).url)

    async def attach(self, request: rt.AttachRequest) -> rt.StreamEndpoint:
        msg = pb.AttachRequest(
            container_id=request.container_id,
            tty=request.tty,
            stdin=request.stdin,
            stdout=request.stdout,
            stderr=request.stderr and not request.tty,
        )
        return rt.StreamEndpoint(url=(await self._call(RUNTIME, "Attach", msg, pb.AttachResponse)).url)

    async def reopen_container_log(self, container_id: str) -> None:
        request = pb.ReopenContainerLogRequest(container_id=container_id)
        await self._call(RUNTIME, "ReopenContainerLog", request, pb.ReopenContainerLogResponse)

    async def read_container_log(
        self, container_id: str, options: rt.LogOptions
    ) -> AsyncIterator[rt.LogLine]:
        status = await self.container_status(container_id)

        async def running() -> bool:
            try:
                return (await self.container_status(container_id)).state == rt.ContainerState.RUNNING
            except rt.NotFoundError:
                return False

        async for line in read_log_file(status.log_path, options, running):
            yield line

    # --- ImageService ----------------------------------------------------------

    async def list_images(self) -> list[rt.Image]:
        response = await self._call(IMAGES, "ListImages", pb.ListImagesRequest(), pb.ListImagesResponse)
        return [conv.image(i) for i in response.images]

    async def image_status(self, image: str) -> rt.Image | None:
        request = pb.ImageStatusRequest(image=pb.ImageSpec(image=image))
        response = await self._call(IMAGES, "ImageStatus", request, pb.ImageStatusResponse)
        return conv.image(response.image) if response.HasField("image") and response.image.id else None

    async def pull_image(self, image: str, sandbox_config: rt.PodSandboxConfig | None = None) -> str:
        request = pb.PullImageRequest(image=pb.ImageSpec(image=image))
        if sandbox_config is not None:
            request.sandbox_config.CopyFrom(conv.sandbox_config(sandbox_config))
        try:
            response = await self._call(
                IMAGES, "PullImage", request, pb.PullImageResponse, deadline=self.pull_timeout
            )
        except rt.RuntimeServiceError as err:
            raise rt.ImagePullError(str(err)) from None
        return response.image_ref

    async def remove_image(self, image: str) -> None:
        request = pb.RemoveImageRequest(image=pb.ImageSpec(image=image))
        await self._call(IMAGES, "RemoveImage", request, pb.RemoveImageResponse)


def _translate(method: str, err: grpc.aio.AioRpcError) -> rt.RuntimeServiceError:
    """gRPC status -> our named errors (upstream: remote_runtime.go wraps them the same way)."""
    details = err.details() or ""
    if err.code() == grpc.StatusCode.NOT_FOUND:
        return rt.NotFoundError(f"{method}: {details}")
    if method == "ExecSync" and (err.code() == grpc.StatusCode.DEADLINE_EXCEEDED or "timeout" in details):
        return rt.ExecTimeoutError(f"{method}: {details}")
    return rt.RuntimeServiceError(f"{method}: {err.code().name}: {details}")


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


if TYPE_CHECKING:  # mypy checks that both protocols are implemented in full
    _runtime: rt.RuntimeService = CRIRuntime("")
    _images: rt.ImageService = CRIRuntime("")
