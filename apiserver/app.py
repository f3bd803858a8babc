"""The API server application: the handler chain around the REST API.

Mirrors k8s.io/apiserver/pkg/server/config.go (DefaultBuildHandlerChain) and
handler.go (the director that sends discovery, health and OpenAPI paths to their
handlers and resource paths to the REST installer), reduced to what this server
has::

    request ─► authentication (auth.py, wrapped around this app by server.py)
            ─► /version /api /apis ...    discovery.py
            ─► /openapi/v2, /openapi/v3   openapi.py
            ─► /healthz /livez /readyz    here
            ─► /api/..., /apis/...        requestinfo.parse ─► registry entry ─► verb handler
            ─► anything else              404 Status

Every error leaves as a ``Status`` (``serialization.status_response``); an
unexpected exception is logged and answered 500 InternalError, and the server
keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from apimachinery import errors
from apiserver import discovery, openapi, requestinfo
from apiserver.bootstrap import ensure_default_objects
from apiserver.handlers import delete as delete_handlers
from apiserver.handlers import get as get_handlers
from apiserver.handlers import patch as patch_handlers
from apiserver.handlers import streaming, subresources, watch, write
from apiserver.handlers.common import FALSE_VALUES, Scope
from apiserver.options import ServerOptions
from apiserver.registry.registry import Registry
from apiserver.serialization import status_response
from apiserver.storage import open_backend
from apiserver.storage.compactor import run_compactor
from apiserver.storage.store import ObjectStore

log = logging.getLogger(__name__)

Handler = Callable[[Scope], Awaitable[Response]]

#: (subresource, verb) -> handler. "" is the resource itself.
HANDLERS: dict[tuple[str, str], Handler] = {
    ("", "get"): get_handlers.get,
    ("", "list"): get_handlers.list_,
    ("", "watch"): watch.watch,
    ("", "create"): write.create,
    ("", "update"): write.update,
    ("", "patch"): patch_handlers.patch,
    ("", "delete"): delete_handlers.delete,
    ("", "deletecollection"): delete_handlers.delete_collection,
    ("status", "get"): get_handlers.get,
    ("status", "update"): write.update,
    ("status", "patch"): patch_handlers.patch,
    ("scale", "get"): subresources.scale,
    ("scale", "update"): subresources.scale,
    ("scale", "patch"): subresources.scale,
    ("binding", "create"): subresources.binding,
    ("eviction", "create"): subresources.eviction,
    ("finalize", "update"): subresources.finalize,
    ("log", "get"): streaming.log,
    # exec/attach/portforward arrive as WebSockets (the WebSocketRoute below); plain HTTP gets a 400
    ("exec", "get"): streaming.needs_upgrade,
    ("exec", "create"): streaming.needs_upgrade,
    ("attach", "get"): streaming.needs_upgrade,
    ("attach", "create"): streaming.needs_upgrade,
    ("portforward", "get"): streaming.needs_upgrade,
    ("portforward", "create"): streaming.needs_upgrade,
}


def _resolve(request: Request, registry: Registry) -> Scope:
    """URL → Scope, or the 404/405 the real server gives for a URL it does not serve."""
    watch_param = request.query_params.get("watch", "").lower() not in FALSE_VALUES
    info = requestinfo.parse(request.method, request.url.path, watch_param)
    if info is None:
        raise errors.new_generic_server_response(404)
    entry = registry.get(info.group, info.version, info.resource)
    if entry is None:
        raise errors.new_generic_server_response(404)
    if not entry.namespaced and info.namespace and info.resource != "namespaces":
        raise errors.new_generic_server_response(404)
    if info.group == "" and info.resource == "bindings" and info.verb == "create":
        return Scope(request, info, entry, registry)
    if entry.namespaced and not info.namespace and info.verb not in ("list", "watch"):
        raise errors.new_generic_server_response(405)
    if info.subresource:
        sub = entry.info.subresource(info.subresource)
        if sub is None:
            raise errors.new_generic_server_response(404)
        allowed = sub.verbs
    else:
        allowed = entry.info.verbs
    verb = "get" if info.verb == "watch" and info.name and info.subresource else info.verb
    if verb not in allowed and not (verb == "watch" and "watch" in entry.info.verbs):
        raise errors.new_method_not_supported(errors.GroupResource(info.group, info.resource), verb)
    return Scope(request, info, entry, registry)


def create_app(options: ServerOptions) -> Starlette:
    """The ASGI app; its lifespan opens storage, starts the watch caches and seeds defaults."""
    state: dict[str, Registry] = {}

    async def resource(request: Request) -> Response:
        registry = state.get("registry")
        if registry is None:
            raise errors.new_service_unavailable("the server is starting")
        scope = _resolve(request, registry)
        if scope.info.group == "" and scope.info.resource == "bindings":
            return await subresources.binding(scope)
        handler = HANDLERS.get((scope.info.subresource, scope.info.verb))
        if handler is None:
            if scope.info.subresource in ("log", "exec", "attach", "portforward", "proxy"):
                raise errors.new_bad_request(
                    f"{scope.info.subresource} needs the kubelet of the pod's node, which this cluster does not run yet"
                )
            raise errors.new_method_not_supported(
                errors.GroupResource(scope.info.group, scope.info.resource), scope.info.verb
            )
        return await handler(scope)

    async def healthz(request: Request) -> Response:
        name = request.url.path.strip("/")
        checks = ["ping", "etcd"] if name != "livez" else ["ping"]
        registry = state.get("registry")
        failed = ""
        if registry is None:
            failed = "etcd"
        elif "etcd" in checks:
            try:
                await asyncio.wait_for(registry.storage.current_revision(), 2)
            except Exception:  # any failure of the backend is a failed check
                failed = "etcd"
        if "verbose" in request.query_params:
            lines = [
                f"[{'-' if c == failed else '+'}]{c} {'failed' if c == failed else 'ok'}" for c in checks
            ]
            lines.append(f"{name} check {'failed' if failed else 'passed'}")
            return PlainTextResponse("\n".join(lines) + "\n", 500 if failed else 200)
        if failed:
            return PlainTextResponse(f"[-]{failed} failed: reason withheld\n{name} check failed\n", 500)
        return PlainTextResponse("ok")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        options.data_dir.mkdir(parents=True, exist_ok=True)
        backend = open_backend(options.storage, options.data_dir)
        await backend.start()
        registry = Registry(ObjectStore(backend), watch_cache_size=options.watch_cache_size)
        await registry.start()
        await ensure_default_objects(registry, options)
        state["registry"] = registry
        compactor = asyncio.create_task(run_compactor(backend, options.compaction_interval))
        log.info("API server ready on %s:%d (storage: %s)", options.bind_address, options.port, backend.name)
        try:
            yield
        finally:
            compactor.cancel()
            state.pop("registry", None)
            await registry.stop()
            await backend.close()

    async def on_status_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, errors.StatusError)
        return status_response(exc)

    async def on_http_exception(request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else 500
        return status_response(errors.new_generic_server_response(code))

    async def on_error(request: Request, exc: Exception) -> Response:
        log.exception("internal error serving %s %s", request.method, request.url.path)
        return status_response(errors.new_internal_error(str(exc) or type(exc).__name__))

    async def resource_websocket(websocket: WebSocket) -> None:
        await streaming.websocket(websocket, state.get("registry"), options)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    routes = [
        *discovery.routes(),
        *openapi.routes(),
        Route("/healthz", healthz),
        Route("/livez", healthz),
        Route("/readyz", healthz),
        Route("/api/{path:path}", resource, methods=methods),
        Route("/apis/{path:path}", resource, methods=methods),
        WebSocketRoute("/api/{path:path}", resource_websocket),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            errors.StatusError: on_status_error,
            HTTPException: on_http_exception,
            Exception: on_error,
        },
    )
    app.state.options = options  # pods/log reads the kubelet client certificate's path here
    return app
