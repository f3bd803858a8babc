"""What every REST handler shares: the resolved request scope and query-option parsing.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/rest.go (RequestScope, the
fieldManager / dryRun / fieldValidation options) and the option validation of
k8s.io/apimachinery/pkg/apis/meta/v1/validation/validation.go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from apimachinery import errors
from apiserver import fieldvalidation
from apiserver.requestinfo import RequestInfo
from apiserver.serialization import JSON, json_response, media_type

if TYPE_CHECKING:
    from apiserver.registry.registry import Registry, ResourceEntry


@dataclass
class Scope:
    """One resolved resource request: where it goes and who asked."""

    request: Request
    info: RequestInfo
    entry: ResourceEntry
    registry: Registry

    @property
    def store(self) -> Any:
        return self.entry.store

    @property
    def namespace(self) -> str:
        return self.info.namespace if self.entry.namespaced else ""

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default)


_DRY_RUN_VALUES = ("All",)


def dry_run(scope: Scope, body_options: dict[str, Any] | None = None) -> bool:
    """``dryRun=All`` (query) or ``"dryRun": ["All"]`` (DeleteOptions body)."""
    values = scope.request.query_params.getlist("dryRun")
    if body_options and isinstance(body_options.get("dryRun"), list):
        values = values + [str(v) for v in body_options["dryRun"]]
    for v in values:
        if v not in _DRY_RUN_VALUES:
            raise errors.new_bad_request(f'Invalid dryRun value "{v}": supported values: "All"')
    return bool(values)


def field_manager(scope: Scope, *, required: bool = False) -> str:
    """``fieldManager``, else the User-Agent up to its first ``/`` (managerOrUserAgent in create.go)."""
    manager = scope.query("fieldManager")
    if not manager:
        if required:
            raise errors.new_bad_request(
                'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
            )
        agent = scope.request.headers.get("user-agent", "")
        manager = agent.split("/", 1)[0] if agent else "unknown"
    if len(manager) > 128:
        raise errors.new_bad_request("fieldManager: Too long: may not be more than 128 bytes")
    return manager


def int_param(scope: Scope, name: str, *, minimum: int = 0) -> int | None:
    raw = scope.query(name)
    if raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise errors.new_bad_request(f'invalid value for {name}: "{raw}" is not an integer') from None
    if value < minimum:
        raise errors.new_bad_request(f"invalid value for {name}: must be greater than or equal to {minimum}")
    return value


#: runtime.Convert_Slice_string_To_bool: these are false, every other value is true.
FALSE_VALUES = frozenset({"", "0", "f", "false", "n", "no", "off"})


def bool_param(scope: Scope, name: str) -> bool:
    """A boolean query parameter, parsed as the real server's query decoder parses it."""
    return scope.query(name).lower() not in FALSE_VALUES


def check_fields(scope: Scope, obj: Any, body: bytes | None = None, *, decoded: bool = False) -> list[str]:
    """``fieldValidation``: unknown fields of ``obj``, duplicate keys of a JSON ``body``.

    Strict raises a 400; Warn returns the ``Warning`` header values; Ignore returns none.
    ``decoded``: the body was decoded as the object itself (create, update), where
    upstream reports strict errors through transformDecodeError (handlers/rest.go):
    ``ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: ...``.
    """
    mode = fieldvalidation.parse_mode(scope.query("fieldValidation"))
    if mode == "Ignore":
        return []
    if body is not None and media_type(scope.request.headers.get("content-type")) not in (
        "",
        JSON,
        "application/merge-patch+json",
        "application/strategic-merge-patch+json",
    ):
        body = None  # duplicate keys are a JSON notion: protobuf and YAML bodies are not checked for them
    info = scope.entry.info
    try:
        return fieldvalidation.enforce(
            mode, fieldvalidation.problems(obj, body, info.group, info.version, info.kind)
        )
    except errors.StatusError as e:
        if decoded:
            e.status["message"] = (
                f'{info.kind} in version "{info.version}" cannot be handled as a {info.kind}: {e.message}'
            )
        raise


def respond(obj: Any, status_code: int, warnings: list[str]) -> Response:
    """A JSON response with one ``Warning`` header per warning (kubectl prints each)."""
    response = json_response(obj, status_code)
    for warning in warnings:
        response.headers.append("Warning", warning)
    return response
