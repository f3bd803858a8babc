"""Status errors: messages, reasons, codes and details exactly as the Go constructors build them."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery import errors
from apimachinery import field_errors as fe
from apimachinery.errors import GroupKind, GroupResource, StatusError

PODS = GroupResource("", "pods")
DEPLOYMENTS = GroupResource("apps", "deployments")

# (id, error, code, reason, message, details or None when upstream leaves it nil)
CASES: list[tuple[str, StatusError, int, str, str, dict[str, Any] | None]] = [
    (
        "not-found",
        errors.new_not_found(PODS, "x"),
        404,
        "NotFound",
        'pods "x" not found',
        {"name": "x", "kind": "pods"},
    ),
    (
        "not-found-group-from-string",
        errors.new_not_found("deployments.apps", "web"),
        404,
        "NotFound",
        'deployments.apps "web" not found',
        {"name": "web", "group": "apps", "kind": "deployments"},
    ),
    (
        "already-exists",
        errors.new_already_exists(PODS, "p3"),
        409,
        "AlreadyExists",
        'pods "p3" already exists',
        {"name": "p3", "kind": "pods"},
    ),
    (
        "generate-name-conflict",
        errors.new_generate_name_conflict(PODS, "web-abcde", 1),
        409,
        "AlreadyExists",
        'pods "web-abcde" already exists, the server was not able to generate a unique name for the object',
        {"name": "web-abcde", "kind": "pods", "retryAfterSeconds": 1},
    ),
    (
        "conflict",
        errors.new_conflict(GroupResource("", "configmaps"), "cfg", errors.OPTIMISTIC_LOCK_ERROR_MSG),
        409,
        "Conflict",
        'Operation cannot be fulfilled on configmaps "cfg": the object has been modified; '
        "please apply your changes to the latest version and try again",
        {"name": "cfg", "kind": "configmaps"},
    ),
    (
        "forbidden-with-name",
        errors.new_forbidden(PODS, "x", 'User "bob" cannot get resource "pods"'),
        403,
        "Forbidden",
        'pods "x" is forbidden: User "bob" cannot get resource "pods"',
        {"name": "x", "kind": "pods"},
    ),
    (
        "forbidden-collection",
        errors.new_forbidden(GroupResource("", "configmaps"), "", "no"),
        403,
        "Forbidden",
        "configmaps is forbidden: no",
        {"kind": "configmaps"},
    ),
    ("forbidden-no-resource", errors.new_forbidden(None, "", "no"), 403, "Forbidden", "forbidden: no", {}),
    ("unauthorized-default", errors.new_unauthorized(), 401, "Unauthorized", "not authorized", None),
    ("unauthorized", errors.new_unauthorized("Unauthorized"), 401, "Unauthorized", "Unauthorized", None),
    (
        "bad-request",
        errors.new_bad_request("field label not supported: foo"),
        400,
        "BadRequest",
        "field label not supported: foo",
        None,
    ),
    (
        "method-not-supported",
        errors.new_method_not_supported(DEPLOYMENTS, "watch"),
        405,
        "MethodNotAllowed",
        'watch is not supported on resources of kind "deployments.apps"',
        {"group": "apps", "kind": "deployments"},
    ),
    ("gone", errors.new_gone("gone"), 410, "Gone", "gone", None),
    (
        "resource-expired",
        errors.new_resource_expired("too old resource version: 1 (200)"),
        410,
        "Expired",
        "too old resource version: 1 (200)",
        None,
    ),
    (
        "too-many-requests",
        errors.new_too_many_requests("slow down", 3),
        429,
        "TooManyRequests",
        "slow down",
        {"retryAfterSeconds": 3},
    ),
    ("too-many-requests-no-retry", errors.new_too_many_requests("x", 0), 429, "TooManyRequests", "x", {}),
    (
        "too-many-requests-error",
        errors.new_too_many_requests_error("x"),
        429,
        "TooManyRequests",
        "Too many requests: x",
        None,
    ),
    (
        "entity-too-large",
        errors.new_request_entity_too_large_error("limit is 3145728"),
        413,
        "RequestEntityTooLarge",
        "Request entity too large: limit is 3145728",
        None,
    ),
    (
        "unsupported-media-type",
        errors.new_unsupported_media_type(["application/json", "application/yaml"]),
        415,
        "UnsupportedMediaType",
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml",
        None,
    ),
    (
        "not-acceptable",
        errors.new_not_acceptable(["application/json", "application/yaml"]),
        406,
        "NotAcceptable",
        "only the following media types are accepted: application/json, application/yaml",
        None,
    ),
    (
        "internal",
        errors.new_internal_error(RuntimeError("etcd down")),
        500,
        "InternalError",
        "Internal error occurred: etcd down",
        {"causes": [{"message": "etcd down"}]},
    ),
    (
        "service-unavailable",
        errors.new_service_unavailable("later"),
        503,
        "ServiceUnavailable",
        "later",
        None,
    ),
    (
        "timeout",
        errors.new_timeout_error("request did not complete within 60s", 0),
        504,
        "Timeout",
        "Timeout: request did not complete within 60s",
        {},
    ),
    (
        "server-timeout",
        errors.new_server_timeout(PODS, "create", 2),
        500,
        "ServerTimeout",
        "The create operation against pods could not be completed at this time, please try again.",
        {"name": "create", "kind": "pods", "retryAfterSeconds": 2},
    ),
    (
        "generic-404",
        errors.new_generic_server_response(404),
        404,
        "NotFound",
        "the server could not find the requested resource",
        {},
    ),
    (
        "generic-405",
        errors.new_generic_server_response(405),
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        {},
    ),
    (
        "generic-409-post",
        errors.new_generic_server_response(409, "POST"),
        409,
        "AlreadyExists",
        "the server reported a conflict",
        {},
    ),
    (
        "generic-409-put",
        errors.new_generic_server_response(409, "PUT"),
        409,
        "Conflict",
        "the server reported a conflict",
        {},
    ),
    (
        "generic-500-with-resource",
        errors.new_generic_server_response(500, "GET", "configmaps", "", "plain text failure", 0, True),
        500,
        "InternalError",
        'an error on the server ("plain text failure") has prevented the request from succeeding (get configmaps)',
        {
            "kind": "configmaps",
            "causes": [{"reason": "UnexpectedServerResponse", "message": "plain text failure"}],
        },
    ),
    (
        "generic-418",
        errors.new_generic_server_response(418, "GET", PODS, "x"),
        418,
        "",
        "the server responded with the status code 418 but did not return more information (get pods x)",
        {"name": "x", "kind": "pods"},
    ),
]


@pytest.mark.parametrize(
    ("err", "code", "reason", "message", "details"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_constructor(
    err: StatusError, code: int, reason: str, message: str, details: dict[str, Any] | None
) -> None:
    expected: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
    expected["message"] = message
    if reason:
        expected["reason"] = reason
    if details is not None:
        expected["details"] = details
    expected["code"] = code
    assert err.status == expected
    assert str(err) == message
    assert (err.code, err.reason) == (code, reason)


def test_invalid_one_error() -> None:
    err = errors.new_invalid(
        GroupKind("", "Pod"), "x", [fe.required(fe.Path("spec", "containers").index(0).child("name"))]
    )
    assert err.code == 422 and err.reason == "Invalid"
    assert err.message == 'Pod "x" is invalid: spec.containers[0].name: Required value'
    assert err.status["details"] == {
        "name": "x",
        "kind": "Pod",
        "causes": [
            {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.containers[0].name"}
        ],
    }


def test_invalid_several_errors_are_bracketed_and_deduplicated() -> None:
    name_err = fe.invalid("metadata.name", "bad_name", "must be lowercase")
    errs = [name_err, fe.not_supported("spec.restartPolicy", "Sometimes", ["Always", "Never"]), name_err]
    err = errors.new_invalid(GroupKind("apps", "Deployment"), "bad_name", errs)
    assert err.message == (
        'Deployment.apps "bad_name" is invalid: [metadata.name: Invalid value: "bad_name": must be lowercase, '
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never"]'
    )
    details = err.status["details"]
    assert (details["group"], details["kind"]) == ("apps", "Deployment")
    assert [c["reason"] for c in details["causes"]] == [
        "FieldValueInvalid",
        "FieldValueNotSupported",
        "FieldValueInvalid",
    ]


def test_invalid_without_errors() -> None:
    assert errors.new_invalid(GroupKind("", "Pod"), "x", []).message == 'Pod "x" is invalid'


def test_name_is_go_quoted() -> None:
    assert errors.new_not_found(PODS, 'a"b\n').message == 'pods "a\\"b\\n" not found'


def test_status_success() -> None:
    assert errors.status_success("configmaps", "cfg", "6f1c") == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": "cfg", "kind": "configmaps", "uid": "6f1c"},
    }


@pytest.mark.parametrize(
    ("predicate", "err", "expected"),
    [
        (errors.is_not_found, errors.new_not_found(PODS, "x"), True),
        (errors.is_not_found, errors.new_already_exists(PODS, "x"), False),
        (errors.is_not_found, errors.new_generic_server_response(404), True),
        (errors.is_not_found, StatusError({"code": 404}), True),
        (errors.is_not_found, ValueError("x"), False),
        (errors.is_conflict, errors.new_conflict(PODS, "x", "e"), True),
        (errors.is_conflict, errors.new_already_exists(PODS, "x"), False),
        (errors.is_already_exists, errors.new_already_exists(PODS, "x"), True),
        (errors.is_invalid, errors.new_invalid(GroupKind("", "Pod"), "x", []), True),
        (errors.is_resource_expired, errors.new_resource_expired("old"), True),
        (errors.is_gone, errors.new_resource_expired("old"), False),
        (errors.is_too_many_requests, errors.new_too_many_requests("x", 1), True),
    ],
    ids=lambda v: getattr(v, "__name__", None) or repr(v)[:30],
)
def test_predicates(predicate: Any, err: BaseException, expected: bool) -> None:
    assert predicate(err) is expected
