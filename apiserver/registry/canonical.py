"""Canonical timestamps: what decoding into Go types does to ``metav1.Time`` fields.

The real server decodes every body into typed Go structs, so a timestamp written
as ``2026-11-23T22:00:51+00:00`` (what the Python client sends back) or with
fractions is stored as ``metav1.Time`` and encoded again as RFC 3339 at second
precision in UTC (``2026-11-23T22:00:51Z``); ``metav1.MicroTime`` keeps six
fractional digits (k8s.io/apimachinery/pkg/apis/meta/v1/time.go, micro_time.go).
Objects here stay plain dicts, so this module does that one part of decoding: the
paths of every Time/MicroTime field of a kind are read once from the OpenAPI schema,
and each write rewrites the values found there. An unparseable timestamp is a 400.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from apimachinery import errors
from apiserver import schema

TIME = "io.k8s.apimachinery.pkg.apis.meta.v1.Time"
MICRO_TIME = "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"

#: A path step: a field name, "[]" (every list item) or "{}" (every map value).
Path = tuple[str, ...]


@cache
def time_paths(group: str, version: str, kind: str) -> tuple[tuple[Path, str], ...]:
    """Every (path, TIME|MICRO_TIME) in the kind's schema."""
    root = schema.definition_name_for_gvk(group, version, kind)
    if root is None:
        return ()
    found: list[tuple[Path, str]] = []
    defs = schema.definitions()

    def walk(node: dict[str, Any], path: Path, seen: frozenset[str]) -> None:
        ref = node.get("$ref") or next((s.get("$ref") for s in node.get("allOf", []) if "$ref" in s), None)
        if ref:
            name = schema.ref_name(ref)
            if name in (TIME, MICRO_TIME):
                found.append((path, name))
                return
            if name in seen or name not in defs:
                return
            walk(defs[name], path, seen | {name})
            return
        for field, sub in (node.get("properties") or {}).items():
            walk(sub, (*path, field), seen)
        if isinstance(node.get("items"), dict):
            walk(node["items"], (*path, "[]"), seen)
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], (*path, "{}"), seen)

    walk(defs[root], (), frozenset({root}))
    return tuple(found)


def _format(value: Any, kind: str, where: str) -> Any:
    if not isinstance(value, str) or not value:
        return value
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.new_bad_request(
            f'{where}: parsing time "{value}" as "2006-01-02T15:04:05Z07:00": cannot parse'
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    t = t.astimezone(UTC)
    if kind == MICRO_TIME:
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def canonicalize_times(obj: dict[str, Any], group: str, version: str, kind: str) -> None:
    """Rewrite every Time/MicroTime value of ``obj`` in place, as a Go decode-encode would."""
    for path, time_kind, where in _named_time_paths(group, version, kind):
        _apply(obj, path, time_kind, where)


@cache
def _named_time_paths(group: str, version: str, kind: str) -> tuple[tuple[Path, str, str], ...]:
    """:func:`time_paths`, each with the field name an error message gives it (``metadata.creationTimestamp``)."""
    return tuple(
        (path, time_kind, ".".join(p for p in path if p not in ("[]", "{}")))
        for path, time_kind in time_paths(group, version, kind)
    )


def _apply(node: Any, path: Path, kind: str, where: str) -> None:
    if not path:
        return
    step, rest = path[0], path[1:]
    if step == "[]":
        children = node if isinstance(node, list) else []
        for item in children:
            _apply(item, rest, kind, where)
        return
    if not isinstance(node, dict):
        return
    if step == "{}":
        for key in list(node):
            if rest:
                _apply(node[key], rest, kind, where)
            else:
                node[key] = _format(node[key], kind, where)
        return
    if step not in node:
        return
    if rest:
        _apply(node[step], rest, kind, where)
    else:
        node[step] = _format(node[step], kind, where)


#: ObjectMeta's lists and maps, all ``omitempty`` in k8s.io/apimachinery/pkg/apis/meta/v1/types.go
#: (managedFields too, but an empty list there means "unchanged" to the field manager).
_OMITEMPTY_META = ("labels", "annotations", "ownerReferences", "finalizers")


def drop_empty_meta(meta: dict[str, Any]) -> None:
    """Leave out empty ObjectMeta lists and maps, as encoding the Go struct does.

    A patch can leave ``finalizers: []`` behind (a strategic ``$deleteFromPrimitiveList``
    of the last one, ``kubectl label pod x key-`` of the last label); the real server
    decodes into ``ObjectMeta`` and its ``omitempty`` tags drop them, so clients never see
    an empty list there (kubectl's custom columns print ``<none>``, not ``[]``).
    """
    for key in _OMITEMPTY_META:
        if key in meta and not meta[key]:
            del meta[key]
