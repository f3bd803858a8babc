"""An asyncio REST client for any resource, built from a kubeconfig.

Every component (scheduler, controllers, kubelet) reaches the API server through
this one client, the way Go components use client-go's ``rest.RESTClient`` under the
dynamic client. It knows nothing about kinds: a resource is addressed by its
:class:`GVR` (group, version, plural resource), an optional namespace and a name,
and objects are plain dicts of the wire JSON::

    GET    /api/v1/namespaces/default/configmaps/web        core group ("")
    GET    /apis/apps/v1/namespaces/default/deployments     named group
    GET    /api/v1/nodes/node1                              cluster-scoped
    PATCH  /api/v1/namespaces/default/pods/web/status       subresource

* ``load_kubeconfig(path)`` (client/kubeconfig.py) reads the server URL, the CA and a credential (client
  certificate + key, or a bearer token), from embedded ``*-data`` fields or files;
* ``RESTClient`` sends over one :class:`~client.transport.Transport` (client/transport.py):
  HTTP/1.1 on a pool of keep-alive connections, at most 100 carrying requests at
  once, as client-go over Go's net/http; a request that gets no answer raises
  :class:`~client.transport.TransportError` (``ConnectError``, ``ReadTimeout``, ...);
* a request answered with an error raises :class:`~apimachinery.errors.StatusError`,
  rebuilt from the ``Status`` body the server sent (``errors.from_status``), so callers
  test ``errors.is_not_found(err)``, ``is_conflict``, ``is_resource_expired`` ...;
* two retries are hidden, both upstream's: a 429 or 5xx answer carrying ``Retry-After``
  is retried after that many seconds, at most ``max_retries`` (10) times (client-go);
  a GET sent on a keep-alive connection the server had just closed is sent once more
  on a new one (net/http, in the transport);
* ``watch(...)`` returns a :class:`Watch`: an async context manager that opens the
  stream, and an async iterator of ``{"type", "object"}`` events, one per line.

Mirrors: k8s.io/client-go/rest/{config.go, request.go (checkWait, transformResponse),
with_retry.go}, client-go/dynamic/simple.go, client-go/discovery (``get_path``),
client-go/tools/clientcmd/loader.go.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, TypedDict
from urllib.parse import quote, urlencode

import orjson

from apimachinery import errors
from client.kubeconfig import KubeConfig, load_kubeconfig
from client.transport import Response, StreamingResponse, Transport


class GVR(NamedTuple):
    """A resource's group, version and plural name: ``GVR("apps", "v1", "deployments")``."""

    group: str
    version: str
    resource: str

    def path(self, namespace: str = "", name: str = "", subresource: str = "") -> str:
        """The URL path: ``/api/v1/namespaces/ns/pods/web/status`` (empty parts left out)."""
        parts = ["/api", self.version] if not self.group else ["/apis", self.group, self.version]
        if namespace:
            parts += ["namespaces", quote(namespace, safe="")]
        parts.append(self.resource)
        if name:
            parts.append(quote(name, safe=""))
            if subresource:
                parts.append(subresource)
        return "/".join(parts)

    def group_resource(self) -> errors.GroupResource:
        return errors.GroupResource(self.group, self.resource)


# A few resources every component needs; any other is just another GVR(...).
NAMESPACES = GVR("", "v1", "namespaces")
CONFIGMAPS = GVR("", "v1", "configmaps")
PODS = GVR("", "v1", "pods")
NODES = GVR("", "v1", "nodes")
EVENTS = GVR("", "v1", "events")
LEASES = GVR("coordination.k8s.io", "v1", "leases")


class PatchType(enum.StrEnum):
    """The four PATCH bodies, told apart by Content-Type (types.PatchType)."""

    JSON = "application/json-patch+json"
    MERGE = "application/merge-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"
    APPLY = "application/apply-patch+yaml"


__all__ = ["GVR", "KubeConfig", "PatchType", "RESTClient", "Watch", "WatchEvent", "load_kubeconfig"]


class WatchEvent(TypedDict):
    """One line of a watch stream: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR (a Status)."""

    type: str
    object: dict[str, Any]


def _retry_after(response: Response) -> int | None:
    """client-go's ``checkWait``: 429 and 5xx may carry ``Retry-After: <seconds>``."""
    if response.status != 429 and response.status < 500:
        return None
    try:
        seconds = int(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def _error(response: Response, method: str, gvr: GVR | None, name: str) -> errors.StatusError:
    """The error for a non-2xx answer: the server's Status if it sent one (transformResponse)."""
    body = response.body
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        decoded = None
    if isinstance(decoded, dict) and decoded.get("kind") == "Status":
        status: errors.Status = decoded  # type: ignore[assignment]
        status.setdefault("code", response.status)
        return errors.from_status(status)
    return errors.new_generic_server_response(
        response.status,
        method,
        gvr.group_resource() if gvr else None,
        name,
        body.decode("utf-8", "replace").strip(),
        _retry_after(response) or 0,
        is_unexpected_response=True,
    )


def _params(**values: Any) -> dict[str, str]:
    """Query parameters, leaving out the unset ones; booleans as ``true``."""
    out: dict[str, str] = {}
    for key, value in values.items():
        if value is None or value == "" or value is False:
            continue
        out[key] = "true" if value is True else str(value)
    return out


def _target(path: str, params: dict[str, str] | None) -> str:
    """The request target: the path, and the query if there is one (``a=b&c=d``)."""
    return f"{path}?{urlencode(params)}" if params else path


class RESTClient:
    """CRUD, patch and watch for any resource, over one keep-alive HTTP connection pool."""

    def __init__(
        self,
        config: KubeConfig,
        *,
        timeout: float = 30.0,
        max_retries: int = 10,
        user_agent: str = "pykube-client/0.1",
        max_connections: int = 100,
    ) -> None:
        self.config = config
        self.max_retries = max_retries
        headers = {"Accept": "application/json", "User-Agent": user_agent}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        self._transport = Transport(
            config.server,
            ssl_context=config.ssl_context(),
            headers=headers,
            connect_timeout=timeout,
            read_timeout=timeout,
            max_connections=max_connections,
        )

    @classmethod
    def from_kubeconfig(cls, path: str | Path, context: str | None = None, **kwargs: Any) -> RESTClient:
        return cls(load_kubeconfig(path, context), **kwargs)

    async def __aenter__(self) -> RESTClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._transport.aclose()

    # --- the verbs --------------------------------------------------------------------

    async def get(self, gvr: GVR, name: str, *, namespace: str = "", subresource: str = "") -> Any:
        return await self.request("GET", gvr, namespace=namespace, name=name, subresource=subresource)

    async def list(
        self,
        gvr: GVR,
        *,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_: str = "",
        resource_version: str | None = None,
        resource_version_match: str = "",
        timeout_seconds: int | None = None,
    ) -> Any:
        """One page of a LIST: ``{"metadata": {"resourceVersion", "continue"}, "items": [...]}``.

        ``resource_version=None`` leaves the parameter out (a consistent read); ``"0"``
        lets the server answer from its cache.
        """
        params = _params(
            labelSelector=label_selector,
            fieldSelector=field_selector,
            limit=limit or None,
            resourceVersion=resource_version,
            resourceVersionMatch=resource_version_match,
            timeoutSeconds=timeout_seconds,
        )
        if continue_:
            params["continue"] = continue_
        return await self.request("GET", gvr, namespace=namespace, params=params)

    async def create(
        self,
        gvr: GVR,
        obj: dict[str, Any],
        *,
        namespace: str = "",
        subresource: str = "",
        name: str = "",
        field_manager: str = "",
        dry_run: bool = False,
    ) -> Any:
        """POST ``obj`` to the collection (or to ``name/subresource``, e.g. a binding)."""
        params = _params(fieldManager=field_manager, dryRun="All" if dry_run else None)
        return await self.request(
            "POST", gvr, namespace=namespace, name=name, subresource=subresource, params=params, body=obj
        )

    async def update(
        self,
        gvr: GVR,
        obj: dict[str, Any],
        *,
        namespace: str = "",
        subresource: str = "",
        field_manager: str = "",
        dry_run: bool = False,
    ) -> Any:
        """PUT ``obj`` (its ``metadata.resourceVersion`` makes it a compare-and-swap: 409 if stale)."""
        name = obj["metadata"]["name"]
        params = _params(fieldManager=field_manager, dryRun="All" if dry_run else None)
        return await self.request(
            "PUT", gvr, namespace=namespace, name=name, subresource=subresource, params=params, body=obj
        )

    async def patch(
        self,
        gvr: GVR,
        name: str,
        patch: Any,
        *,
        namespace: str = "",
        patch_type: PatchType = PatchType.MERGE,
        subresource: str = "",
        field_manager: str = "",
        force: bool | None = None,
        dry_run: bool = False,
    ) -> Any:
        """PATCH ``name``; server-side apply (``PatchType.APPLY``) needs a ``field_manager``."""
        params = _params(fieldManager=field_manager, force=force, dryRun="All" if dry_run else None)
        return await self.request(
            "PATCH",
            gvr,
            namespace=namespace,
            name=name,
            subresource=subresource,
            params=params,
            body=patch,
            content_type=patch_type.value,
        )

    async def delete(
        self,
        gvr: GVR,
        name: str,
        *,
        namespace: str = "",
        propagation_policy: str = "",
        grace_period_seconds: int | None = None,
        preconditions: dict[str, str] | None = None,
    ) -> Any:
        """DELETE ``name``; answers the deleted object, or a ``Success`` Status."""
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            body["gracePeriodSeconds"] = grace_period_seconds
        if preconditions:
            body["preconditions"] = preconditions
        return await self.request("DELETE", gvr, namespace=namespace, name=name, body=body)

    def watch(
        self,
        gvr: GVR,
        *,
        namespace: str = "",
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
        allow_watch_bookmarks: bool = False,
        timeout_seconds: int | None = None,
    ) -> Watch:
        """A watch of the collection; open it with ``async with``, then ``async for`` the events."""
        params = _params(
            watch=True,
            resourceVersion=resource_version,
            labelSelector=label_selector,
            fieldSelector=field_selector,
            allowWatchBookmarks=allow_watch_bookmarks,
            timeoutSeconds=timeout_seconds,
        )
        return Watch(self, gvr, gvr.path(namespace), params, timeout_seconds)

    # --- the one request path ---------------------------------------------------------

    async def request(
        self,
        method: str,
        gvr: GVR,
        *,
        namespace: str = "",
        name: str = "",
        subresource: str = "",
        params: dict[str, str] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        """Send one request; decode the JSON answer or raise the server's StatusError."""
        content = orjson.dumps(body) if body is not None else None
        target = _target(gvr.path(namespace, name, subresource), params)
        attempt = 0
        while True:
            response = await self._transport.request(method, target, content, content_type)
            wait = _retry_after(response)
            if wait is None or attempt >= self.max_retries:
                break
            attempt += 1
            await asyncio.sleep(wait)
        if response.is_success:
            return orjson.loads(response.body) if response.body else None
        raise _error(response, method, gvr, name)

    async def get_path(self, path: str) -> Any:
        """GET a document above the resources, by its path: ``/api``, ``/apis/apps/v1`` (discovery)."""
        response = await self._transport.request("GET", path)
        if response.is_success:
            return orjson.loads(response.body)
        raise _error(response, "GET", None, "")

    async def _open_stream(
        self, path: str, params: dict[str, str], read_timeout: float | None
    ) -> StreamingResponse:
        return await self._transport.stream("GET", _target(path, params), read_timeout=read_timeout)


class Watch:
    """An open watch stream (client-go ``watch.Interface``): events until the server ends it.

    ::

        async with rest.watch(PODS, namespace="default", resource_version=rv) as events:
            async for event in events:
                ...  # event["type"], event["object"]

    Opening raises ``StatusError`` for an HTTP error (for example 410 on some servers,
    or 504 "Too large resource version"); a too-old resourceVersion usually arrives
    instead as one ``ERROR`` event carrying a 410 Status, which is yielded like any
    other event. Leaving the ``async with`` block closes the stream (``Stop()``).
    """

    def __init__(
        self, client: RESTClient, gvr: GVR, path: str, params: dict[str, str], timeout_seconds: int | None
    ) -> None:
        self._client = client
        self._gvr = gvr
        self._path = path
        self._params = params
        # The server ends the stream after timeoutSeconds; the read timeout only guards
        # against a dead connection, so it is longer (and infinite without timeoutSeconds).
        self._read_timeout = timeout_seconds + 30.0 if timeout_seconds else None
        self._response: StreamingResponse | None = None

    async def __aenter__(self) -> Watch:
        response = await self._client._open_stream(self._path, self._params, self._read_timeout)
        if not response.is_success:  # its body arrived whole; the connection is back in the pool
            raise _error(response, "GET", self._gvr, "")
        self._response = response
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._response is not None:
            await self._response.aclose()
            self._response = None

    def __aiter__(self) -> AsyncIterator[WatchEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[WatchEvent]:
        if self._response is None:
            raise RuntimeError("open the watch with `async with` first")
        # lines() joins lines split across chunks and splits chunks holding several.
        async for line in self._response.lines():
            if line.strip():
                event: WatchEvent = orjson.loads(line)
                yield event
