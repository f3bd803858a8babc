"""API errors: ``StatusError`` and one constructor per ``metav1.Status`` reason.

Every failed request is answered with a ``Status`` object (``kind: Status``,
``status: Failure``), and clients decide what happened from its ``reason`` and
``code``, not from the text. kubectl then prints ``Error from server (<reason>):
<message>``, so the messages below are copied byte for byte from upstream.

A ``StatusError`` carries the exact dict that goes on the wire. Empty fields are
left out just as Go's ``omitempty`` leaves them out; ``details`` is present
exactly when upstream sets it (so a 404 for an unknown path has ``"details": {}``).

Resources are named as upstream's ``GroupResource`` (plural resource + API group)
and kinds as ``GroupKind``; both print ``resource.group`` / ``Kind.group``, or the
bare name for the core group::

    new_not_found(GroupResource("", "pods"), "x")          # pods "x" not found
    new_not_found("deployments.apps", "x")                 # deployments.apps "x" not found
    new_invalid(GroupKind("", "Pod"), "x", [required(...)])  # Pod "x" is invalid: ...

Mirrors: k8s.io/apimachinery/pkg/api/errors/errors.go; NotAcceptable and
UnsupportedMediaType mirror k8s.io/apiserver/pkg/endpoints/handlers/negotiation/errors.go.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, NamedTuple, TypedDict

from apimachinery.field_errors import FieldError, aggregate_message
from apimachinery.goformat import go_quote


class StatusCause(TypedDict, total=False):
    reason: str  # Go's StatusCause.Type, serialized as "reason"
    message: str
    field: str


class StatusDetails(TypedDict, total=False):
    name: str
    group: str
    kind: str  # the resource (plural) for most reasons, the Kind for Invalid
    uid: str
    causes: list[StatusCause]
    retryAfterSeconds: int


class Status(TypedDict, total=False):
    kind: str
    apiVersion: str
    metadata: dict[str, Any]
    status: str
    message: str
    reason: str
    details: StatusDetails
    code: int


class Reason:
    """The ``StatusReason`` values (apimachinery/pkg/apis/meta/v1/types.go)."""

    UNKNOWN: Final = ""
    UNAUTHORIZED: Final = "Unauthorized"
    FORBIDDEN: Final = "Forbidden"
    NOT_FOUND: Final = "NotFound"
    ALREADY_EXISTS: Final = "AlreadyExists"
    CONFLICT: Final = "Conflict"
    GONE: Final = "Gone"
    INVALID: Final = "Invalid"
    SERVER_TIMEOUT: Final = "ServerTimeout"
    TIMEOUT: Final = "Timeout"
    TOO_MANY_REQUESTS: Final = "TooManyRequests"
    BAD_REQUEST: Final = "BadRequest"
    METHOD_NOT_ALLOWED: Final = "MethodNotAllowed"
    NOT_ACCEPTABLE: Final = "NotAcceptable"
    REQUEST_ENTITY_TOO_LARGE: Final = "RequestEntityTooLarge"
    UNSUPPORTED_MEDIA_TYPE: Final = "UnsupportedMediaType"
    INTERNAL_ERROR: Final = "InternalError"
    EXPIRED: Final = "Expired"
    SERVICE_UNAVAILABLE: Final = "ServiceUnavailable"


class GroupResource(NamedTuple):
    """A resource within an API group: ``GroupResource("apps", "deployments")``."""

    group: str
    resource: str

    def __str__(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @classmethod
    def parse(cls, text: str) -> GroupResource:
        """``"deployments.apps"`` → ``("apps", "deployments")`` (schema.ParseGroupResource)."""
        resource, _, group = text.partition(".")
        return cls(group, resource)


class GroupKind(NamedTuple):
    """A kind within an API group: ``GroupKind("apps", "Deployment")``."""

    group: str
    kind: str

    def __str__(self) -> str:
        return f"{self.kind}.{self.group}" if self.group else self.kind


ResourceLike = GroupResource | str


class StatusError(Exception):
    """An error that is a ``metav1.Status``; ``str(err)`` is its message."""

    def __init__(self, status: Status) -> None:
        super().__init__(status.get("message", ""))
        self.status: Status = status

    @property
    def code(self) -> int:
        return self.status.get("code", 0)

    @property
    def reason(self) -> str:
        return self.status.get("reason", Reason.UNKNOWN)

    @property
    def message(self) -> str:
        return self.status.get("message", "")

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"StatusError({self.code}, {self.reason!r}, {self.message!r})"


def _gr(resource: ResourceLike | None) -> GroupResource:
    if resource is None:
        return GroupResource("", "")
    return GroupResource.parse(resource) if isinstance(resource, str) else resource


def _details(
    *,
    name: str = "",
    group: str = "",
    kind: str = "",
    causes: list[StatusCause] | None = None,
    retry: int = 0,
) -> StatusDetails:
    """Build StatusDetails leaving out empty fields, as Go's ``omitempty`` does."""
    details = StatusDetails()
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    if causes:
        details["causes"] = causes
    if retry:
        details["retryAfterSeconds"] = retry
    return details


def _failure(code: int, reason: str, message: str, details: StatusDetails | None = None) -> StatusError:
    status = Status(kind="Status", apiVersion="v1", metadata={}, status="Failure")
    if message:
        status["message"] = message
    if reason:
        status["reason"] = reason
    if details is not None:
        status["details"] = details
    status["code"] = code
    return StatusError(status)


def _resource_details(gr: GroupResource, name: str = "", retry: int = 0) -> StatusDetails:
    return _details(name=name, group=gr.group, kind=gr.resource, retry=retry)


def new_not_found(resource: ResourceLike, name: str) -> StatusError:
    """404 NotFound: ``pods "x" not found``."""
    gr = _gr(resource)
    message = f"{gr} {go_quote(name)} not found"
    return _failure(404, Reason.NOT_FOUND, message, _resource_details(gr, name))


def new_already_exists(resource: ResourceLike, name: str) -> StatusError:
    """409 AlreadyExists: ``pods "x" already exists``."""
    gr = _gr(resource)
    message = f"{gr} {go_quote(name)} already exists"
    return _failure(409, Reason.ALREADY_EXISTS, message, _resource_details(gr, name))


def new_generate_name_conflict(resource: ResourceLike, name: str, retry_after_seconds: int) -> StatusError:
    """409 AlreadyExists when a ``generateName`` suffix collided."""
    gr = _gr(resource)
    message = (
        f"{gr} {go_quote(name)} already exists, "
        "the server was not able to generate a unique name for the object"
    )
    return _failure(409, Reason.ALREADY_EXISTS, message, _resource_details(gr, name, retry_after_seconds))


def new_unauthorized(reason: str = "") -> StatusError:
    """401 Unauthorized; kubectl prints ``error: You must be logged in to the server (...)``."""
    return _failure(401, Reason.UNAUTHORIZED, reason or "not authorized")


def new_forbidden(resource: ResourceLike | None, name: str, err: BaseException | str) -> StatusError:
    """403 Forbidden: ``pods "x" is forbidden: <err>`` (or ``pods is forbidden: ...`` without a name)."""
    gr = _gr(resource)
    if not gr.resource and not gr.group:
        message = f"forbidden: {err}"
    elif not name:
        message = f"{gr} is forbidden: {err}"
    else:
        message = f"{gr} {go_quote(name)} is forbidden: {err}"
    return _failure(403, Reason.FORBIDDEN, message, _resource_details(gr, name))


def new_conflict(resource: ResourceLike, name: str, err: BaseException | str) -> StatusError:
    """409 Conflict: ``Operation cannot be fulfilled on pods "x": <err>``."""
    gr = _gr(resource)
    message = f"Operation cannot be fulfilled on {gr} {go_quote(name)}: {err}"
    return _failure(409, Reason.CONFLICT, message, _resource_details(gr, name))


# The ``err`` upstream passes to NewConflict when a resourceVersion precondition fails
# (apiserver/pkg/registry/generic/registry/store.go, OptimisticLockErrorMsg).
OPTIMISTIC_LOCK_ERROR_MSG: Final = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def new_apply_conflict(causes: list[StatusCause], message: str) -> StatusError:
    """409 Conflict from server-side apply, one cause per conflicting field manager."""
    return _failure(409, Reason.CONFLICT, message, _details(causes=causes))


def new_gone(message: str) -> StatusError:
    """410 Gone (deprecated upstream in favour of ``new_resource_expired``)."""
    return _failure(410, Reason.GONE, message)


def new_resource_expired(message: str) -> StatusError:
    """410 Expired: a resourceVersion or continue token is older than the server keeps."""
    return _failure(410, Reason.EXPIRED, message)


def new_invalid(kind: GroupKind, name: str, errs: Sequence[FieldError]) -> StatusError:
    """422 Invalid: ``Pod "x" is invalid: [spec.a: Required value, spec.b: ...]``.

    Unlike the other reasons, ``details.kind`` is the Kind, not the resource;
    each field error becomes one cause ``{reason: <type>, message: <body>, field}``.
    """
    causes = [_cause(err) for err in errs]
    message = f"{kind} {go_quote(name)} is invalid"
    if errs:
        message += ": " + aggregate_message(errs)
    details = _details(name=name, group=kind.group, kind=kind.kind, causes=causes)
    return _failure(422, Reason.INVALID, message, details)


def _cause(err: FieldError) -> StatusCause:
    cause = StatusCause(reason=err.type, message=err.body())
    if err.field:
        cause["field"] = err.field
    return cause


def new_bad_request(reason: str) -> StatusError:
    """400 BadRequest with a free-text message."""
    return _failure(400, Reason.BAD_REQUEST, reason)


def new_too_many_requests(message: str, retry_after_seconds: int) -> StatusError:
    """429 TooManyRequests with a retry hint (``details`` always present)."""
    return _failure(429, Reason.TOO_MANY_REQUESTS, message, _details(retry=retry_after_seconds))


def new_too_many_requests_error(message: str) -> StatusError:
    """429 TooManyRequests: ``Too many requests: <message>``."""
    return _failure(429, Reason.TOO_MANY_REQUESTS, f"Too many requests: {message}")


def new_request_entity_too_large_error(message: str) -> StatusError:
    """413 RequestEntityTooLarge: ``Request entity too large: <message>``."""
    return _failure(413, Reason.REQUEST_ENTITY_TOO_LARGE, f"Request entity too large: {message}")


def new_service_unavailable(reason: str) -> StatusError:
    """503 ServiceUnavailable with a free-text message."""
    return _failure(503, Reason.SERVICE_UNAVAILABLE, reason)


def new_method_not_supported(resource: ResourceLike, action: str) -> StatusError:
    """405 MethodNotAllowed: ``<action> is not supported on resources of kind "pods"``."""
    gr = _gr(resource)
    message = f"{action} is not supported on resources of kind {go_quote(str(gr))}"
    return _failure(405, Reason.METHOD_NOT_ALLOWED, message, _details(group=gr.group, kind=gr.resource))


def new_server_timeout(resource: ResourceLike, operation: str, retry_after_seconds: int) -> StatusError:
    """500 ServerTimeout: a transient failure the client should retry."""
    gr = _gr(resource)
    message = f"The {operation} operation against {gr} could not be completed at this time, please try again."
    details = _details(name=operation, group=gr.group, kind=gr.resource, retry=retry_after_seconds)
    return _failure(500, Reason.SERVER_TIMEOUT, message, details)


def new_internal_error(err: BaseException | str) -> StatusError:
    """500 InternalError: ``Internal error occurred: <err>``."""
    cause = StatusCause(message=str(err)) if str(err) else StatusCause()
    return _failure(500, Reason.INTERNAL_ERROR, f"Internal error occurred: {err}", {"causes": [cause]})


def new_timeout_error(message: str, retry_after_seconds: int) -> StatusError:
    """504 Timeout: ``Timeout: <message>``."""
    return _failure(504, Reason.TIMEOUT, f"Timeout: {message}", _details(retry=retry_after_seconds))


def new_not_acceptable(accepted: Sequence[str]) -> StatusError:
    """406 NotAcceptable: no media type in ``Accept`` can be produced."""
    message = f"only the following media types are accepted: {', '.join(accepted)}"
    return _failure(406, Reason.NOT_ACCEPTABLE, message)


def new_unsupported_media_type(accepted: Sequence[str]) -> StatusError:
    """415 UnsupportedMediaType: the request body's ``Content-Type`` cannot be decoded."""
    message = (
        "the body of the request was in an unknown format - "
        f"accepted media types include: {', '.join(accepted)}"
    )
    return _failure(415, Reason.UNSUPPORTED_MEDIA_TYPE, message)


_GENERIC: Final = {
    404: (Reason.NOT_FOUND, "the server could not find the requested resource"),
    400: (Reason.BAD_REQUEST, "the server rejected our request for an unknown reason"),
    401: (Reason.UNAUTHORIZED, "the server has asked for the client to provide credentials"),
    405: (Reason.METHOD_NOT_ALLOWED, "the server does not allow this method on the requested resource"),
    422: (Reason.INVALID, "the server rejected our request due to an error in our request"),
    503: (Reason.SERVICE_UNAVAILABLE, "the server is currently unable to handle the request"),
    504: (
        Reason.TIMEOUT,
        "the server was unable to return a response in the time allotted, but may still be processing the request",
    ),
    429: (
        Reason.TOO_MANY_REQUESTS,
        "the server has received too many requests and has asked us to try again later",
    ),
}


def new_generic_server_response(
    code: int,
    verb: str = "",
    resource: ResourceLike | None = None,
    name: str = "",
    server_message: str = "",
    retry_after_seconds: int = 0,
    is_unexpected_response: bool = False,
) -> StatusError:
    """An error known only by its HTTP code.

    The API server uses it for requests that match no route: an unknown path is
    ``new_generic_server_response(404)`` (``the server could not find the requested
    resource``, ``"details": {}``) and a wrong method ``new_generic_server_response(405)``
    (``the server does not allow this method on the requested resource``); see
    apiserver/pkg/server/handler.go. Clients use it for non-Status error bodies.
    """
    reason = Reason.UNKNOWN
    message = f"the server responded with the status code {code} but did not return more information"
    if code == 409:
        reason = Reason.ALREADY_EXISTS if verb == "POST" else Reason.CONFLICT
        message = "the server reported a conflict"
    elif code in _GENERIC:
        reason, message = _GENERIC[code]
    elif code == 403:
        reason, message = Reason.FORBIDDEN, server_message
    elif code == 406:
        reason = Reason.NOT_ACCEPTABLE
        message = (
            server_message
            if server_message not in ("", "unknown")
            else "the server was unable to respond with a content type that the client supports"
        )
    elif code == 415:
        reason, message = Reason.UNSUPPORTED_MEDIA_TYPE, server_message
    elif code >= 500:
        reason = Reason.INTERNAL_ERROR
        message = (
            f"an error on the server ({go_quote(server_message)}) has prevented the request from succeeding"
        )
    gr = _gr(resource)
    if (gr.group or gr.resource) and name:
        message = f"{message} ({verb.lower()} {gr} {name})"
    elif gr.group or gr.resource:
        message = f"{message} ({verb.lower()} {gr})"
    causes = [StatusCause(reason="UnexpectedServerResponse", message=server_message)]
    details = _details(
        name=name,
        group=gr.group,
        kind=gr.resource,
        causes=causes if is_unexpected_response else None,
        retry=retry_after_seconds,
    )
    return _failure(code, reason, message, details)


def status_success(resource: ResourceLike | None = None, name: str = "", uid: str = "") -> Status:
    """The ``Success`` Status a delete returns when the store does not return the object.

    ``details.kind`` is the resource (plural), as in store.go finalizeDelete;
    there is no ``code`` field.
    """
    gr = _gr(resource)
    details = _details(name=name, group=gr.group, kind=gr.resource)
    if uid:
        details["uid"] = uid
    return Status(kind="Status", apiVersion="v1", metadata={}, status="Success", details=details)


def from_status(status: Status) -> StatusError:
    """Rebuild the error a server sent (client side of ``FromObject``)."""
    return StatusError(status)


def reason_for_error(err: BaseException | None) -> str:
    """The reason of a StatusError, or ``""`` (StatusReasonUnknown) for anything else."""
    return err.reason if isinstance(err, StatusError) else Reason.UNKNOWN


_KNOWN_REASONS: Final = frozenset(
    value for key, value in vars(Reason).items() if key.isupper() and value != Reason.UNKNOWN
)


def _is(err: BaseException | None, reason: str, code: int) -> bool:
    """Upstream's rule: match on reason, or on code when the reason is not a known one."""
    if not isinstance(err, StatusError):
        return False
    known = err.reason in _KNOWN_REASONS
    return err.reason == reason or (not known and err.code == code)


def is_not_found(err: BaseException | None) -> bool:
    return _is(err, Reason.NOT_FOUND, 404)


def is_already_exists(err: BaseException | None) -> bool:
    return reason_for_error(err) == Reason.ALREADY_EXISTS


def is_conflict(err: BaseException | None) -> bool:
    return _is(err, Reason.CONFLICT, 409)


def is_invalid(err: BaseException | None) -> bool:
    return _is(err, Reason.INVALID, 422)


def is_gone(err: BaseException | None) -> bool:
    return _is(err, Reason.GONE, 410)


def is_resource_expired(err: BaseException | None) -> bool:
    return reason_for_error(err) == Reason.EXPIRED


def is_bad_request(err: BaseException | None) -> bool:
    return _is(err, Reason.BAD_REQUEST, 400)


def is_forbidden(err: BaseException | None) -> bool:
    return _is(err, Reason.FORBIDDEN, 403)


def is_too_many_requests(err: BaseException | None) -> bool:
    return reason_for_error(err) == Reason.TOO_MANY_REQUESTS or (
        isinstance(err, StatusError) and err.code == 429
    )
