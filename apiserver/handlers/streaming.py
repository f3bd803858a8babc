"""pods/log, pods/exec, pods/attach, pods/portforward: proxied to the pod's kubelet.

Mirrors pkg/registry/core/pod/rest/log.go and subresources.go (``LogREST``,
``ExecREST``, ``AttachREST``, ``PortForwardREST``), pkg/registry/core/pod/strategy.go
(``LogLocation``, ``ExecLocation``, ``streamLocation``: which container, which node,
which kubelet URL) and k8s.io/apiserver/pkg/util/proxy/upgradeaware.go (the proxy)::

    kubectl ──GET …/pods/web/log?container=c&follow=true──► API server ──GET /containerLogs/ns/web/c──► kubelet
    kubectl ══WS  …/pods/web/exec?command=sh (v5.channel)══► API server ══WS  /exec/ns/web/c══════════► kubelet
    kubectl ══WS  …/pods/web/portforward (SPDY/3.1+pf)═════► API server ══WS  /portForward/ns/web═════► kubelet

The kubelet is found from the pod's ``spec.nodeName``: the Node's ``status.addresses``
(InternalIP, then ExternalIP, then Hostname: kubeadm's ``--kubelet-preferred-address-types``)
and ``status.daemonEndpoints.kubeletEndpoint.Port``. The API server authenticates to
it with ``apiserver-kubelet-client``; like kube-apiserver without
``--kubelet-certificate-authority`` (the default), it does not verify the kubelet's
self-signed serving certificate. WebSocket messages are relayed unchanged both ways, so whatever protocol
the kubelet negotiated with kubectl (v5 channels, SPDY in WebSocket) passes through.
ASGI cannot serve a raw ``Upgrade: SPDY/3.1`` POST; those get a 400, which is also what
tells kubectl's fallback to stop.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocket

from apimachinery import errors, wsstream
from apimachinery.errors import GroupResource
from apiserver import requestinfo
from apiserver.options import ServerOptions
from apiserver.pki import PKI
from apiserver.registry.registry import Registry
from apiserver.serialization import status_response

from .common import Scope

Object = dict[str, Any]
DEFAULT_KUBELET_PORT = 10250
ADDRESS_TYPES = ("InternalIP", "ExternalIP", "Hostname")
#: What a kubelet's error body is read up to (upstream maxReadLength).
MAX_ERROR_BODY = 50_000


# -- where: container and kubelet -------------------------------------------------------


def pick_container(pod: Object, requested: str) -> str:
    """The container a request is for (strategy.go ``LogLocation`` / ``validateContainer``)."""
    spec = pod.get("spec") or {}
    name = pod["metadata"]["name"]
    containers = [c["name"] for c in spec.get("containers") or []]
    init = [c["name"] for c in spec.get("initContainers") or []]
    ephemeral = [c["name"] for c in spec.get("ephemeralContainers") or []]
    if not requested:
        if len(containers) == 1:
            return containers[0]
        message = (
            f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
        )
        if init:
            message += f" or one of the init containers: [{' '.join(init)}]"
        if ephemeral:
            message += f" or one of the ephemeral containers: [{' '.join(ephemeral)}]"
        raise errors.new_bad_request(message)
    if requested not in containers + init + ephemeral:
        raise errors.new_bad_request(f"container {requested} is not valid for pod {name}")
    return requested


async def kubelet_base(registry: Registry, pod: Object) -> str | None:
    """``https://<address>:<port>`` of the pod's node, or None if it is not scheduled."""
    node_name = (pod.get("spec") or {}).get("nodeName", "")
    if not node_name:
        return None
    nodes = registry.get("", "v1", "nodes")
    assert nodes is not None
    node = await nodes.store.get("", node_name)
    status = node.get("status") or {}
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    address = next((addresses[t] for t in ADDRESS_TYPES if addresses.get(t)), None)
    if address is None:
        raise errors.new_bad_request(f"node {node_name} has no known addresses")
    port = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get(
        "Port"
    ) or DEFAULT_KUBELET_PORT
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}:{port}"


def kubelet_tls(options: ServerOptions) -> ssl.SSLContext:
    """Present apiserver-kubelet-client to the kubelet; do not verify the kubelet's certificate.

    As kube-apiserver without ``--kubelet-certificate-authority`` (its default): a kubelet
    serves with a certificate it signed itself (kubelet/serving.py), so there is no CA to
    check it against. The kubelet, in turn, accepts only clients the cluster CA signed.
    """
    pki = PKI(options.pki)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.load_cert_chain(pki.kubelet_client_cert, pki.kubelet_client_key)
    context.set_alpn_protocols(["http/1.1"])
    return context


def _path(*parts: str) -> str:
    return "/" + "/".join(quote(p, safe="") for p in parts)


# -- pods/log ---------------------------------------------------------------------------

_LOG_PARAMS = ("follow", "tailLines", "previous", "timestamps", "sinceSeconds", "sinceTime", "limitBytes")


def _check_log_options(scope: Scope) -> None:
    """The few ``PodLogOptions`` rules the API server itself enforces (validation.go)."""
    for name in ("tailLines", "sinceSeconds", "limitBytes"):
        raw = scope.query(name)
        if raw == "":
            continue
        try:
            value = int(raw)
        except ValueError:
            raise errors.new_bad_request(f'invalid value for {name}: "{raw}" is not an integer') from None
        if (name == "tailLines" and value < 0) or (name != "tailLines" and value < 1):
            bound = "greater than or equal to 0" if name == "tailLines" else "greater than 0"
            raise errors.new_bad_request(f"{name}: Invalid value: {value}: must be {bound}")
    if scope.query("sinceSeconds") and scope.query("sinceTime"):
        raise errors.new_bad_request("at most one of `sinceTime` or `sinceSeconds` may be specified")


async def log(scope: Scope) -> Response:
    """GET pods/log: stream the kubelet's ``/containerLogs`` as ``text/plain``."""
    _check_log_options(scope)
    pod = await scope.store.get(scope.namespace, scope.info.name)
    container = pick_container(pod, scope.query("container"))
    base = await kubelet_base(scope.registry, pod)
    if base is None:  # not scheduled: upstream answers an empty stream (LogLocation: nil location)
        return Response(b"", media_type="text/plain")
    params = {k: scope.query(k) for k in _LOG_PARAMS if scope.query(k)}
    url = base + _path("containerLogs", scope.namespace, scope.info.name, container)
    client = httpx.AsyncClient(
        verify=kubelet_tls(scope.request.app.state.options), timeout=httpx.Timeout(30, read=None)
    )
    try:
        response = await client.send(client.build_request("GET", url, params=params), stream=True)
    except httpx.HTTPError as err:
        await client.aclose()
        raise errors.new_internal_error(f"error connecting to the kubelet at {base}: {err}") from None
    if response.status_code != 200:
        body = (await response.aread())[:MAX_ERROR_BODY].decode(errors="replace")
        await response.aclose()
        await client.aclose()
        raise _backend_error(response.status_code, body, scope.info.name)

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.aiter_raw():
                yield chunk
        finally:
            await response.aclose()
            await client.aclose()

    return StreamingResponse(relay(), media_type="text/plain")


def _backend_error(code: int, body: str, name: str) -> errors.StatusError:
    """rest/streamer.go ``GenericHttpResponseChecker``: the kubelet's error as a Status."""
    if code == 400:
        return errors.new_bad_request(body)
    if code == 500:
        return errors.new_internal_error(body)
    return errors.new_generic_server_response(code, "", GroupResource("", "pods/log"), name, body)


async def needs_upgrade(scope: Scope) -> Response:
    """exec/attach/portforward without a WebSocket: upstream would accept SPDY here.

    The same checks as the WebSocket path run first, so when kubectl falls back to SPDY
    after a refused WebSocket, the error it prints is the real one (no host, no such
    container ...)."""
    await _kubelet_stream_url(
        scope.request.url.path, scope.request.query_params.multi_items(), scope.registry
    )
    if scope.request.headers.get("upgrade", "").lower().startswith("spdy"):
        raise errors.new_bad_request(
            "SPDY upgrades are not served by this API server: use a WebSocket client (kubectl 1.30+ does by default)"
        )
    raise errors.new_bad_request("Upgrade request required")


# -- exec, attach, portforward: WebSocket ---------------------------------------------


async def websocket(ws: WebSocket, registry: Registry | None, options: ServerOptions) -> None:
    """A WebSocket to ``/api/v1/namespaces/{ns}/pods/{name}/{exec|attach|portforward}``:
    resolve the pod, dial its kubelet, then relay messages until either side closes."""
    try:
        if registry is None:
            raise errors.new_service_unavailable("the server is starting")
        url = await _kubelet_stream_url(ws.url.path, ws.query_params.multi_items(), registry)
        protocols = list(ws.scope.get("subprotocols") or [])
        upstream = await wsstream.connect(url, protocols, ssl_context=kubelet_tls(options))
    except errors.StatusError as err:
        await _deny(ws, err)
        return
    except wsstream.UpgradeFailure as err:
        await _deny(ws, _backend_error(err.status, err.body.decode(errors="replace"), ""))
        return
    except (OSError, TimeoutError) as err:
        await _deny(ws, errors.new_internal_error(f"error dialing backend: {err}"))
        return
    await ws.accept(subprotocol=upstream.subprotocol or None)
    await wsstream.relay(ws, upstream)


async def _kubelet_stream_url(path: str, params: list[tuple[str, str]], registry: Registry) -> str:
    """The kubelet URL for an exec/attach/portforward request (strategy.go ``streamLocation``)."""
    info = requestinfo.parse("GET", path, False)
    if info is None or info.group != "" or info.resource != "pods" or not info.name:
        raise errors.new_generic_server_response(404)
    if info.subresource not in ("exec", "attach", "portforward"):
        raise errors.new_bad_request(f"{info.subresource or 'this resource'} is not served over WebSocket")
    pods = registry.get("", "v1", "pods")
    assert pods is not None
    pod = await pods.store.get(info.namespace, info.name)
    base = await kubelet_base(registry, pod)
    if base is None:
        raise errors.new_bad_request(f"pod {info.name} does not have a host assigned")
    query = [(k, v) for k, v in params if k != "container"]
    if info.subresource == "portforward":
        target = _path("portForward", info.namespace, info.name)
    else:
        container = pick_container(pod, dict(params).get("container", ""))
        target = _path(info.subresource, info.namespace, info.name, container)
    return base + target + (f"?{urlencode(query)}" if query else "")


async def _deny(ws: WebSocket, error: errors.StatusError) -> None:
    """Refuse the upgrade with the Status as a plain HTTP answer (kubectl then prints it)."""
    await ws.send_denial_response(status_response(error))
