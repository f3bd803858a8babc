"""Name, label and ObjectMeta validation, with upstream's exact messages.

Two layers, as upstream has them:

* *string checks* (``is_dns1123_subdomain``, ``is_qualified_name``, ...) take a
  string and return a list of human-readable problems, empty when valid;
* *field validators* (``validate_labels``, ``validate_object_meta``, ...) walk a
  part of an object and return ``FieldError``s that name the offending path.

Each kind picks a *name function* for its ``metadata.name``: most kinds use
``name_is_dns_subdomain`` (253 chars, dots allowed), namespaces and a few others
``name_is_dns_label`` (63 chars, no dots), services ``name_is_dns1035_label``
(must start with a letter). A name function takes ``prefix=True`` when checking
a ``generateName``, which may end with ``-`` because a random suffix follows.

Mirrors: k8s.io/apimachinery/pkg/util/validation/validation.go (string checks),
pkg/api/validate/content/kube.go (label keys and values, 1.32 wording),
pkg/api/validation/{generic.go,objectmeta.go} and
pkg/apis/meta/v1/validation/validation.go (ValidateLabels).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from apimachinery import field_errors as fe
from apimachinery.field_errors import FieldError, Path
from apimachinery.goformat import go_quote

# --- message builders (validation.go) -------------------------------------------------


def max_len_error(length: int) -> str:
    return f"must be no more than {length} characters"


def regex_error(msg: str, fmt: str, *examples: str) -> str:
    """``<msg> (e.g. 'a' or 'b', regex used for validation is '<fmt>')``."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}'" for e in examples)
    return f"{msg} (e.g. {shown}, regex used for validation is '{fmt}')"


def empty_error() -> str:
    return "must be non-empty"


def inclusive_range_error(lo: int, hi: int) -> str:
    return f"must be between {lo} and {hi}, inclusive"


# --- DNS names ------------------------------------------------------------------------

DNS1123_LABEL_FMT: Final = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS1123_LABEL_ERR_MSG: Final = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character"
)
DNS1123_LABEL_MAX_LENGTH: Final = 63

DNS1123_SUBDOMAIN_FMT: Final = DNS1123_LABEL_FMT + r"(\." + DNS1123_LABEL_FMT + ")*"
DNS1123_SUBDOMAIN_ERR_MSG: Final = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character"
)
DNS1123_SUBDOMAIN_MAX_LENGTH: Final = 253

DNS1035_LABEL_FMT: Final = "[a-z]([-a-z0-9]*[a-z0-9])?"
DNS1035_LABEL_ERR_MSG: Final = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
    "start with an alphabetic character, and end with an alphanumeric character"
)
DNS1035_LABEL_MAX_LENGTH: Final = 63

# Go's regexp.MatchString with ^...$ anchors; Python's fullmatch is the same test
# (``$`` in Python would also accept a trailing newline, fullmatch does not).
_dns1123_label = re.compile(DNS1123_LABEL_FMT)
_dns1123_subdomain = re.compile(DNS1123_SUBDOMAIN_FMT)
_dns1035_label = re.compile(DNS1035_LABEL_FMT)


def is_dns1123_label(value: str) -> list[str]:
    """A DNS label (RFC 1123): namespace names, label-like names; at most 63 chars, no dots."""
    errs = []
    if len(value) > DNS1123_LABEL_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_LABEL_MAX_LENGTH))
    if not _dns1123_label.fullmatch(value):
        if _dns1123_subdomain.fullmatch(value):
            # A valid subdomain that is not a valid label: it must be the dots.
            errs.append("must not contain dots")
        else:
            errs.append(regex_error(DNS1123_LABEL_ERR_MSG, DNS1123_LABEL_FMT, "my-name", "123-abc"))
    return errs


def is_dns1123_subdomain(value: str) -> list[str]:
    """A DNS subdomain (RFC 1123): most object names; at most 253 chars."""
    errs = []
    if len(value) > DNS1123_SUBDOMAIN_MAX_LENGTH:
        errs.append(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH))
    if not _dns1123_subdomain.fullmatch(value):
        errs.append(regex_error(DNS1123_SUBDOMAIN_ERR_MSG, DNS1123_SUBDOMAIN_FMT, "example.com"))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    """A DNS label (RFC 1035): service names; like an RFC 1123 label but starting with a letter."""
    errs = []
    if len(value) > DNS1035_LABEL_MAX_LENGTH:
        errs.append(max_len_error(DNS1035_LABEL_MAX_LENGTH))
    if not _dns1035_label.fullmatch(value):
        errs.append(regex_error(DNS1035_LABEL_ERR_MSG, DNS1035_LABEL_FMT, "my-name", "abc-123"))
    return errs


# --- qualified names (label keys) and label values ------------------------------------

QUALIFIED_NAME_FMT: Final = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
QUALIFIED_NAME_ERR_MSG: Final = (
    "must consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
QUALIFIED_NAME_MAX_LENGTH: Final = 63

LABEL_VALUE_FMT: Final = "(" + QUALIFIED_NAME_FMT + ")?"
LABEL_VALUE_ERR_MSG: Final = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character"
)
LABEL_VALUE_MAX_LENGTH: Final = 63

_qualified_name = re.compile(QUALIFIED_NAME_FMT)
_label_value = re.compile(LABEL_VALUE_FMT)


def is_qualified_name(value: str) -> list[str]:
    """A label key, annotation key or finalizer: ``[prefix/]name``.

    The optional prefix is a DNS subdomain; the name is at most 63 characters
    of ``[-A-Za-z0-9_.]``, starting and ending with an alphanumeric.
    """
    errs: list[str] = []
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            errs.append("prefix part " + empty_error())
        else:
            errs.extend("prefix part " + msg for msg in is_dns1123_subdomain(prefix))
    else:
        return [
            "a qualified name "
            + regex_error(QUALIFIED_NAME_ERR_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    if not name:
        errs.append("name part " + empty_error())
    elif len(name) > QUALIFIED_NAME_MAX_LENGTH:
        errs.append("name part " + max_len_error(QUALIFIED_NAME_MAX_LENGTH))
    if not _qualified_name.fullmatch(name):
        errs.append(
            "name part "
            + regex_error(QUALIFIED_NAME_ERR_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")
        )
    return errs


def is_valid_label_value(value: str) -> list[str]:
    """A label value: empty, or a name part of a qualified name."""
    errs = []
    if len(value) > LABEL_VALUE_MAX_LENGTH:
        errs.append(max_len_error(LABEL_VALUE_MAX_LENGTH))
    if not _label_value.fullmatch(value):
        errs.append(regex_error(LABEL_VALUE_ERR_MSG, LABEL_VALUE_FMT, "MyValue", "my_value", "12345"))
    return errs


# --- name functions (generic.go) ------------------------------------------------------

NameFn = Callable[[str, bool], list[str]]


def _mask_trailing_dash(name: str) -> str:
    """Make a ``generateName`` checkable: replace a trailing ``-`` and the char before it with ``a``.

    Upstream's ``name[:len(name)-2] + "a"`` drops two characters, not one; kept as is.
    """
    if len(name) > 1 and name.endswith("-"):
        return name[:-2] + "a"
    return name


def name_is_dns_subdomain(name: str, prefix: bool) -> list[str]:
    return is_dns1123_subdomain(_mask_trailing_dash(name) if prefix else name)


def name_is_dns_label(name: str, prefix: bool) -> list[str]:
    return is_dns1123_label(_mask_trailing_dash(name) if prefix else name)


def name_is_dns1035_label(name: str, prefix: bool) -> list[str]:
    return is_dns1035_label(_mask_trailing_dash(name) if prefix else name)


validate_namespace_name: Final = name_is_dns_label
validate_service_account_name: Final = name_is_dns_subdomain


# --- ObjectMeta (objectmeta.go) -------------------------------------------------------

FIELD_IMMUTABLE_ERROR_MSG: Final = "field is immutable"
IS_NEGATIVE_ERROR_MSG: Final = "must be greater than or equal to 0"
TOTAL_ANNOTATION_SIZE_LIMIT_B: Final = 256 * (1 << 10)  # 256 KiB, keys and values together
FINALIZER_ORPHAN_DEPENDENTS: Final = "orphan"
FINALIZER_DELETE_DEPENDENTS: Final = "foregroundDeletion"


def validate_labels(labels: Mapping[str, str] | None, path: Path) -> list[FieldError]:
    """Every key a qualified name, every value a label value; errors name the map, not the key."""
    errs: list[FieldError] = []
    for key, value in (labels or {}).items():
        errs.extend(fe.invalid(path, key, msg) for msg in is_qualified_name(key))
        errs.extend(fe.invalid(path, value, msg) for msg in is_valid_label_value(value))
    return errs


def annotations_size(annotations: Mapping[str, str]) -> int:
    """Bytes counted against the 256 KiB limit: every key and value, UTF-8 encoded."""
    return sum(len(k.encode()) + len(v.encode()) for k, v in annotations.items())


def validate_annotations(annotations: Mapping[str, str] | None, path: Path) -> list[FieldError]:
    """Keys are qualified names compared case-insensitively; the total size is bounded."""
    annotations = annotations or {}
    errs = [fe.invalid(path, key, msg) for key in annotations for msg in is_qualified_name(key.lower())]
    if annotations_size(annotations) > TOTAL_ANNOTATION_SIZE_LIMIT_B:
        errs.append(fe.too_long(path, "", TOTAL_ANNOTATION_SIZE_LIMIT_B))
    return errs


def validate_owner_references(refs: list[dict[str, Any]] | None, path: Path) -> list[FieldError]:
    """Each reference complete, no Event as owner, at most one ``controller: true``."""
    errs: list[FieldError] = []
    first_controller = ""
    for ref in refs or []:
        api_version, kind = ref.get("apiVersion", ""), ref.get("kind", "")
        group, _, version = api_version.rpartition("/")
        if not version:
            errs.append(fe.invalid(path.child("apiVersion"), api_version, "version must not be empty"))
        for name in ("kind", "name", "uid"):
            if not ref.get(name):
                errs.append(fe.invalid(path.child(name), ref.get(name, ""), "must not be empty"))
        if (group, version, kind) == ("", "v1", "Event"):
            errs.append(fe.invalid(path, ref, "/v1, Kind=Event is disallowed from being an owner"))
        if ref.get("controller") is True:
            current = f"{kind}/{ref.get('name', '')}"
            if first_controller:
                detail = (
                    'Only one reference can have Controller set to true. Found "true" in references for '
                    f"{first_controller} and {current}"
                )
                errs.append(fe.invalid(path, refs, detail))
            else:
                first_controller = current
    return errs


def validate_finalizers(finalizers: list[str] | None, path: Path) -> list[FieldError]:
    """Finalizers are qualified names; ``orphan`` and ``foregroundDeletion`` exclude each other."""
    finalizers = finalizers or []
    errs = [fe.invalid(path, f, msg) for f in finalizers for msg in is_qualified_name(f)]
    if FINALIZER_ORPHAN_DEPENDENTS in finalizers and FINALIZER_DELETE_DEPENDENTS in finalizers:
        detail = (
            f"finalizer {FINALIZER_ORPHAN_DEPENDENTS} and {FINALIZER_DELETE_DEPENDENTS} cannot be both set"
        )
        errs.append(fe.invalid(path, finalizers, detail))
    return errs


def validate_object_meta(
    meta: Mapping[str, Any], namespaced: bool, name_fn: NameFn, path: Path | None = None
) -> list[FieldError]:
    """Validate ``metadata`` on create, after any ``generateName`` has been expanded.

    ``namespaced`` says whether the kind lives in namespaces (then the namespace
    is required) or is cluster-scoped (then it is forbidden).
    """
    path = path if path is not None else Path("metadata")
    errs: list[FieldError] = []
    if generate_name := meta.get("generateName", ""):
        errs.extend(
            fe.invalid(path.child("generateName"), generate_name, m) for m in name_fn(generate_name, True)
        )
    if not (name := meta.get("name", "")):
        errs.append(fe.required(path.child("name"), "name or generateName is required"))
    else:
        errs.extend(fe.invalid(path.child("name"), name, m) for m in name_fn(name, False))
    namespace = meta.get("namespace", "")
    if namespaced and not namespace:
        errs.append(fe.required(path.child("namespace")))
    elif namespaced:
        errs.extend(
            fe.invalid(path.child("namespace"), namespace, m)
            for m in validate_namespace_name(namespace, False)
        )
    elif namespace:
        errs.append(fe.forbidden(path.child("namespace"), "not allowed on this type"))
    if (generation := meta.get("generation", 0)) < 0:
        errs.append(fe.invalid(path.child("generation"), generation, IS_NEGATIVE_ERROR_MSG))
    errs.extend(validate_labels(meta.get("labels"), path.child("labels")))
    errs.extend(validate_annotations(meta.get("annotations"), path.child("annotations")))
    errs.extend(validate_owner_references(meta.get("ownerReferences"), path.child("ownerReferences")))
    errs.extend(validate_finalizers(meta.get("finalizers"), path.child("finalizers")))
    return errs


_IMMUTABLE_ON_UPDATE: Final = (
    "name",
    "namespace",
    "uid",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def validate_object_meta_update(
    new: Mapping[str, Any], old: Mapping[str, Any], path: Path | None = None
) -> list[FieldError]:
    """Validate ``metadata`` on update: identity fields are immutable, a resourceVersion is required."""
    path = path if path is not None else Path("metadata")
    errs: list[FieldError] = []
    if old.get("deletionTimestamp"):
        added = sorted(set(new.get("finalizers") or []) - set(old.get("finalizers") or []))
        if added:
            detail = (
                "no new finalizers can be added if the object is being deleted, "
                f"found new finalizers []string{{{', '.join(go_quote(f) for f in added)}}}"
            )
            errs.append(fe.forbidden(path.child("finalizers"), detail))
    if not (rv := new.get("resourceVersion", "")):
        errs.append(fe.invalid(path.child("resourceVersion"), rv, "must be specified for an update"))
    if (generation := new.get("generation", 0)) < old.get("generation", 0):
        errs.append(fe.invalid(path.child("generation"), generation, "must not be decremented"))
    for name in _IMMUTABLE_ON_UPDATE:
        if new.get(name) != old.get(name):
            errs.append(fe.invalid(path.child(name), new.get(name, ""), FIELD_IMMUTABLE_ERROR_MSG))
    errs.extend(validate_labels(new.get("labels"), path.child("labels")))
    errs.extend(validate_annotations(new.get("annotations"), path.child("annotations")))
    errs.extend(validate_owner_references(new.get("ownerReferences"), path.child("ownerReferences")))
    return errs
