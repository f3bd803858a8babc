"""The errors a strategic merge patch can fail with, and the HTTP status each becomes.

Upstream builds these in k8s.io/apimachinery/pkg/util/mergepatch/errors.go and
prints the offending values with Go's ``%v``, so a client sees exactly::

    map: map[image:nginx] does not contain declared merge key: name
    unknown patch type: remove in map: map[$patch:remove name:c]
    invalid patch format of setElementOrder list

The API server then sorts them into statuses in
k8s.io/apiserver/pkg/endpoints/handlers/patch.go (``interpretStrategicMergePatchError``):

=========================================================  ==========================
error                                                      status
=========================================================  ==========================
bad ``$deleteFromPrimitiveList`` / ``$retainKeys`` /        400 BadRequest
``$setElementOrder`` format
lists of lists                                             422 (generic response)
anything else (missing merge key, unknown ``$patch``,       upstream: 500 with no reason
element types that differ, ...)                            here: 400 BadRequest
=========================================================  ==========================

The last row is a deliberate difference. Upstream hands those errors back as
plain Go errors, which the server can only report as a 500 ``Error from server:
...``, although the fault is in the request. Here they are 400s carrying the
same message. Every error also records *where* it happened: one
``details.causes`` entry whose ``field`` is the path in the patch, for example
``spec.template.spec.containers[0]``. The message itself stays byte for byte
upstream's.
"""

from __future__ import annotations

from typing import Any, Final

from apimachinery import errors
from apimachinery.field_errors import Path
from apimachinery.goformat import go_float

# The sentinel errors (mergepatch.Err...). The server turns the first three into 400s.
BAD_PRIMITIVE_LIST: Final = "invalid patch format of primitive list"
BAD_RETAIN_KEYS: Final = "invalid patch format of retainKeys"
BAD_SET_ELEMENT_ORDER: Final = "invalid patch format of setElementOrder list"
NO_LIST_OF_LISTS: Final = "lists of lists are not supported"


class PatchError(Exception):
    """A strategic merge patch could not be applied; ``path`` says where in the patch."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def to_status(self) -> errors.StatusError:
        """Translate to the API error the server answers with (see the table above)."""
        if self.message == NO_LIST_OF_LISTS:
            err = errors.new_generic_server_response(422, server_message=self.message)
        else:
            err = errors.new_bad_request(self.message)
        cause = errors.StatusCause(reason="FieldValueInvalid", message=self.message)
        if str(self.path):
            cause["field"] = str(self.path)
        err.status.setdefault("details", {})["causes"] = [cause]
        return err


# --- the constructors of mergepatch/errors.go --------------------------------------------


def no_merge_key(item: dict[str, Any], merge_key: str, path: Path) -> PatchError:
    """A list item merged by key lacks the key (``ErrNoMergeKey``)."""
    return PatchError(f"map: {go_v(item)} does not contain declared merge key: {merge_key}", path)


def bad_arg_type(expected: str, actual: Any, path: Path) -> PatchError:
    """A value of the wrong JSON type (``ErrBadArgType``); ``expected`` is a Go type name."""
    return PatchError(f"expected a {expected}, but received a {go_type_name(actual)}", path)


def bad_patch_type(directive: Any, item: dict[str, Any], path: Path) -> PatchError:
    """An unknown ``$patch`` value (``ErrBadPatchType``)."""
    return PatchError(f"unknown patch type: {go_s(directive)} in map: {go_v(item)}", path)


# --- Go's fmt, as these messages use it ---------------------------------------------------

MAP: Final = "map[string]interface {}"
SLICE: Final = "[]interface {}"


def go_type_name(value: Any) -> str:
    """``reflect.TypeOf(v).String()`` for a value decoded from JSON (integers stay int64)."""
    if value is None:
        return "%!s(<nil>)"
    if isinstance(value, dict):
        return MAP
    if isinstance(value, list):
        return SLICE
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return "string"


def go_v(value: Any) -> str:
    """Go's ``%v``: ``map[a:1 b:[x y]]`` with sorted keys, strings unquoted, nil as ``<nil>``."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_v(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_v(v) for v in value) + "]"
    return str(value)


def go_s(value: Any) -> str:
    """Go's ``%s``: strings as they are, anything else as ``%!s(int64=5)``."""
    if isinstance(value, str):
        return value
    if value is None:
        return "%!s(<nil>)"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_s(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_s(v) for v in value) + "]"
    return f"%!s({go_type_name(value)}={go_v(value)})"
