"""Field paths and field-level validation errors.

Validation never stops at the first problem: it walks the object and collects a
list of ``FieldError``s, each naming the offending field by its path
(``spec.containers[0].ports[1].containerPort``, ``metadata.labels[app]``). The
API server then turns the whole list into one 422 ``Invalid`` Status whose
``details.causes`` carry one entry per error (see ``errors.new_invalid``).

An error renders as ``<path>: <Type>[: <value>][: <detail>]``::

    spec.containers[0].name: Required value
    metadata.name: Invalid value: "Bad": a lowercase RFC 1123 subdomain ...
    spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never"
    metadata.annotations: Too long: must have at most 262144 bytes

Mirrors: k8s.io/apimachinery/pkg/util/validation/field/errors.go and path.go.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from apimachinery.goformat import go_quote, go_value


class Path:
    """A field path built step by step, as validation descends into an object.

    ``Path("spec").child("containers").index(0).child("name")`` renders as
    ``spec.containers[0].name``; ``Path("metadata", "labels").key("app")`` as
    ``metadata.labels[app]``. Paths are immutable: each step returns a new one.
    """

    __slots__ = ("_text",)

    def __init__(self, name: str = "", *more_names: str) -> None:
        self._text = ".".join(n for n in (name, *more_names) if n)

    @classmethod
    def _of(cls, text: str) -> Path:
        path = cls()
        path._text = text
        return path

    def child(self, name: str, *more_names: str) -> Path:
        """The path of a struct field: ``spec`` → ``spec.containers``."""
        text = ".".join((name, *more_names))
        return Path._of(f"{self._text}.{text}" if self._text else text)

    def index(self, i: int) -> Path:
        """The path of a list element: ``containers`` → ``containers[0]``."""
        return Path._of(f"{self._text}[{i}]")

    def key(self, k: str) -> Path:
        """The path of a map entry: ``labels`` → ``labels[app]`` (the key is not quoted)."""
        return Path._of(f"{self._text}[{k}]")

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Path({self._text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Path) and other._text == self._text

    def __hash__(self) -> int:
        return hash(self._text)


# The machine-readable error types; each becomes ``details.causes[].reason`` on the wire.
NOT_FOUND: Final = "FieldValueNotFound"
REQUIRED: Final = "FieldValueRequired"
DUPLICATE: Final = "FieldValueDuplicate"
INVALID: Final = "FieldValueInvalid"
NOT_SUPPORTED: Final = "FieldValueNotSupported"
FORBIDDEN: Final = "FieldValueForbidden"
TOO_LONG: Final = "FieldValueTooLong"
TOO_MANY: Final = "FieldValueTooMany"
INTERNAL: Final = "InternalError"
TYPE_INVALID: Final = "FieldValueTypeInvalid"

# ... and their human-readable form, the ``<Type>`` part of the message (ErrorType.String).
_TYPE_TEXT: Final = {
    NOT_FOUND: "Not found",
    REQUIRED: "Required value",
    DUPLICATE: "Duplicate value",
    INVALID: "Invalid value",
    NOT_SUPPORTED: "Unsupported value",
    FORBIDDEN: "Forbidden",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
    INTERNAL: "Internal error",
    TYPE_INVALID: "Invalid value",
}

# Error types whose message never shows the bad value.
_VALUE_HIDDEN: Final = frozenset({REQUIRED, FORBIDDEN, TOO_LONG, INTERNAL})


class _Omit:
    """Marker for "no value to show" (upstream's ``omitValue``)."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = _Omit()


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: ``str(err)`` is the line kubectl prints."""

    type: str
    field: str
    bad_value: Any
    detail: str

    def body(self) -> str:
        """The message without the field path (``ErrorBody``); this is ``causes[].message``."""
        text = _TYPE_TEXT[self.type]
        if self.type not in _VALUE_HIDDEN and self.bad_value is not OMIT:
            text = f"{text}: {go_value(self.bad_value)}"
        if self.detail:
            text = f"{text}: {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.body()}"


PathLike = Path | str


def required(path: PathLike, detail: str = "") -> FieldError:
    """A value that must be set is missing (empty string, null, empty list)."""
    return FieldError(REQUIRED, str(path), "", detail)


def invalid(path: PathLike, value: Any, detail: str) -> FieldError:
    """A malformed value: failed regex, out of range, ..."""
    return FieldError(INVALID, str(path), value, detail)


def duplicate(path: PathLike, value: Any) -> FieldError:
    """A value that must be unique appears twice (container names, ports)."""
    return FieldError(DUPLICATE, str(path), value, "")


def not_found(path: PathLike, value: Any) -> FieldError:
    """A value refers to something that does not exist."""
    return FieldError(NOT_FOUND, str(path), value, "")


def not_supported(path: PathLike, value: Any, valid_values: Iterable[str]) -> FieldError:
    """A value outside an enumeration; the detail lists the allowed values, quoted."""
    quoted = [go_quote(v) for v in valid_values]
    detail = "supported values: " + ", ".join(quoted) if quoted else ""
    return FieldError(NOT_SUPPORTED, str(path), value, detail)


def forbidden(path: PathLike, detail: str) -> FieldError:
    """A well-formed value that is not allowed here (immutable field, policy)."""
    return FieldError(FORBIDDEN, str(path), "", detail)


def too_long(path: PathLike, value: Any, max_length: int) -> FieldError:
    """A value longer than ``max_length`` bytes; the value itself is not echoed."""
    detail = f"must have at most {max_length} bytes" if max_length >= 0 else "value is too long"
    return FieldError(TOO_LONG, str(path), value, detail)


def too_many(path: PathLike, actual: int, max_quantity: int) -> FieldError:
    """A list with more than ``max_quantity`` items (``actual`` < 0 hides the count)."""
    detail = f"must have at most {max_quantity} items" if max_quantity >= 0 else "has too many items"
    return FieldError(TOO_MANY, str(path), actual if actual >= 0 else OMIT, detail)


def internal_error(path: PathLike, err: BaseException | str) -> FieldError:
    """Something went wrong that is not the user's fault."""
    return FieldError(INTERNAL, str(path), None, str(err))


def type_invalid(path: PathLike, value: Any, detail: str) -> FieldError:
    """A value of the wrong JSON type for its schema."""
    return FieldError(TYPE_INVALID, str(path), value, detail)


def aggregate_message(errs: Sequence[FieldError]) -> str:
    """Join errors as ``ErrorList.ToAggregate().Error()`` does.

    Duplicated messages are dropped; one error prints bare, several print as
    ``[a, b]``; no errors print as the empty string.
    """
    seen: dict[str, None] = {}
    for err in errs:
        seen.setdefault(str(err))
    messages = list(seen)
    if len(messages) == 1:
        return messages[0]
    return "[" + ", ".join(messages) + "]" if messages else ""
