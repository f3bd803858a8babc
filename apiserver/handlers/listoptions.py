"""ListOptions: selectors, resourceVersion and pagination parameters of list and watch.

Mirrors k8s.io/apimachinery/pkg/apis/meta/internalversion/validation/validation.go
(ValidateListOptions: which combinations of resourceVersion, resourceVersionMatch,
continue and sendInitialEvents are allowed, with the real messages) and the
selector handling of k8s.io/apiserver/pkg/endpoints/handlers/get.go (a bad
selector is a 400; a field the kind cannot select on is a 400).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apimachinery import errors, field_labels, selectors
from apimachinery import field_errors as fe
from apimachinery.errors import GroupKind

from .common import Scope, bool_param, int_param

Object = dict[str, Any]


@dataclass
class ListOptions:
    resource_version: str = ""
    resource_version_match: str = ""
    limit: int = 0
    continue_token: str = ""
    timeout_seconds: int | None = None
    allow_bookmarks: bool = False
    send_initial_events: bool | None = None
    predicate: Callable[[Object], bool] | None = None
    #: The name a single-object watch is limited to (from metadata.name=... or the URL).
    name: str = ""


def _invalid(errs: list[fe.FieldError]) -> errors.StatusError:
    return errors.new_invalid(GroupKind("meta.k8s.io", "ListOptions"), "", errs)


def parse_list_options(scope: Scope, *, watch: bool) -> ListOptions:
    opts = ListOptions(
        resource_version=scope.query("resourceVersion"),
        resource_version_match=scope.query("resourceVersionMatch"),
        limit=int_param(scope, "limit") or 0,
        continue_token=scope.query("continue"),
        timeout_seconds=int_param(scope, "timeoutSeconds"),
        allow_bookmarks=bool_param(scope, "allowWatchBookmarks"),
    )
    if scope.query("sendInitialEvents"):
        opts.send_initial_events = bool_param(scope, "sendInitialEvents")
    if opts.resource_version and not opts.resource_version.isdigit():
        raise errors.new_bad_request(f"invalid resource version: {opts.resource_version!r}")
    _validate(opts, watch)
    opts.predicate, opts.name = _predicate(scope)
    if scope.info.name and scope.info.verb == "watch":
        if opts.name and opts.name != scope.info.name:
            raise errors.new_bad_request("fieldSelector metadata.name doesn't match requested name")
        opts.name = scope.info.name
    return opts


def _validate(opts: ListOptions, watch: bool) -> None:
    errs: list[fe.FieldError] = []
    match, rv = opts.resource_version_match, opts.resource_version
    if match:
        if watch and opts.send_initial_events is None:
            errs.append(
                fe.forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
                )
            )
        if match not in ("Exact", "NotOlderThan"):
            errs.append(fe.not_supported("resourceVersionMatch", match, ["Exact", "NotOlderThan", ""]))
        if not rv and match and not (watch and opts.send_initial_events is not None):
            errs.append(
                fe.forbidden(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                )
            )
        if opts.continue_token:
            errs.append(
                fe.forbidden(
                    "resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"
                )
            )
        if match == "Exact" and rv == "0":
            errs.append(
                fe.forbidden(
                    "resourceVersionMatch",
                    'resourceVersionMatch "exact" is forbidden for resourceVersion "0"',
                )
            )
    if opts.send_initial_events is not None:
        if not watch:
            errs.append(fe.forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
        elif match != "NotOlderThan":
            errs.append(
                fe.forbidden(
                    "resourceVersionMatch",
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                )
            )
    if errs:
        raise _invalid(errs)
    if opts.continue_token and rv and rv != "0":
        raise errors.new_bad_request("specifying resource version is not allowed when using continue")


def _predicate(scope: Scope) -> tuple[Callable[[Object], bool] | None, str]:
    """Compile labelSelector and fieldSelector into one predicate over stored objects.

    Field labels are converted per kind first (field_labels.py): one the kind does
    not support is a 400, with the message the real conversion function gives.
    """
    label_text, field_text = scope.query("labelSelector"), scope.query("fieldSelector")
    info = scope.entry.info
    try:
        label_sel = selectors.parse_label_selector(label_text) if label_text.strip() else None
        field_sel = None
        if field_text.strip():
            field_sel = field_labels.convert_field_selector(
                info.group, info.kind, selectors.parse_field_selector(field_text)
            )
    except selectors.SelectorError as e:
        raise errors.new_bad_request(str(e)) from None
    name = (field_sel.requires_exact_match("metadata.name") if field_sel else None) or ""
    if label_sel is None and field_sel is None:
        return None, name
    group, kind = info.group, info.kind

    def predicate(obj: Object) -> bool:
        if label_sel is not None and not label_sel((obj.get("metadata") or {}).get("labels")):
            return False
        return field_sel is None or field_sel(field_labels.object_fields(group, kind, obj))

    return predicate, name
