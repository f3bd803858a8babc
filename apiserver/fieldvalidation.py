"""Field validation: unknown and duplicate fields, reported as ``fieldValidation`` asks.

The real server decodes bodies into Go structs, so a field the schema does not have
("spec.replica" for "spec.replicas") would silently vanish. ``fieldValidation``
(KEP-2885) makes that visible; kubectl sends ``Strict`` on every write:

* ``Strict``: 400 BadRequest ``strict decoding error: unknown field "spec.foo",
  duplicate field "metadata.name"`` (k8s.io/apimachinery/pkg/runtime/error.go
  ``NewStrictDecodingError``);
* ``Warn`` (the default when absent): the write succeeds and each problem becomes a
  ``Warning: 299 - "unknown field \\"spec.foo\\""`` response header, which kubectl
  prints as ``Warning: unknown field "spec.foo"``;
* ``Ignore``: nothing.

Here objects stay plain dicts, so unknown fields are found by walking the body
against the kind's OpenAPI schema (``apiserver/schema.py``), and duplicate keys by
decoding JSON once more with a hook that sees every key (orjson keeps the last one
silently, as Go's decoder does in non-strict mode). That second decode is slow and
almost never finds anything, so it runs only when a quick scan of the same parse
sees an object with a key twice (``_may_repeat_keys``).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, NamedTuple

from apimachinery import errors
from apiserver import schema

MODES = ("Strict", "Warn", "Ignore")


def parse_mode(value: str) -> str:
    """The ``fieldValidation`` query value; absent means Warn (handlers/rest.go fieldValidation)."""
    if value == "":
        return "Warn"
    if value not in MODES:
        raise errors.new_bad_request(
            f'fieldValidation must be one of "Ignore", "Warn", or "Strict", got "{value}"'
        )
    return value


@cache
def _root(group: str, version: str, kind: str) -> dict[str, Any] | None:
    return schema.definition_for_gvk(group, version, kind)


def unknown_fields(obj: Any, group: str, version: str, kind: str) -> list[str]:
    """Paths of fields in ``obj`` that the kind's schema does not define, in document order."""
    root = _root(group, version, kind)
    if root is None:
        return []
    found: list[str] = []
    if isinstance(obj, (dict, list)):
        _walk(obj, root, "", found)
    return found


class _Node(NamedTuple):
    """What the walk needs of one schema node, read once (see ``schema.SchemaMemo``)."""

    anything: bool  # x-kubernetes-preserve-unknown-fields
    properties: dict[str, Any] | None
    values: dict[str, Any] | None  # additionalProperties: a map's value schema
    items: dict[str, Any] | None


def _read_node(node: dict[str, Any]) -> _Node:
    node = schema.resolve(node)
    extra, items = node.get("additionalProperties"), node.get("items")
    return _Node(
        anything=bool(node.get("x-kubernetes-preserve-unknown-fields")),
        properties=node.get("properties"),
        values=extra if isinstance(extra, dict) else None,
        items=items if isinstance(items, dict) else None,
    )


_nodes: schema.SchemaMemo[_Node] = schema.SchemaMemo(_read_node)


def _walk(value: Any, node: dict[str, Any], path: str, found: list[str]) -> None:
    # Called for maps and lists only: a scalar has no fields to be unknown.
    shape = _nodes(node)
    if shape.anything:
        return
    if isinstance(value, dict):
        props, extra = shape.properties, shape.values
        if props is None and extra is None:
            return  # free-form object (RawExtension, JSON): anything goes
        for key, sub in value.items():
            if props is not None and key in props:
                child = props[key]
            elif extra is not None:
                child = extra
            else:
                found.append(f"{path}.{key}" if path else key)
                continue
            if isinstance(sub, (dict, list)):
                _walk(sub, child, f"{path}.{key}" if path else key, found)
    elif isinstance(value, list) and shape.items is not None:
        for i, item in enumerate(value):
            if isinstance(item, (dict, list)):
                _walk(item, shape.items, f"{path}[{i}]", found)


class _Seen(dict[str, Any]):
    """A decoded JSON object that remembers which of its keys appeared twice."""

    dupes: list[str]


def duplicate_fields(body: bytes) -> list[str]:
    """Paths of keys that appear twice in one JSON object of ``body`` (``metadata.name``)."""
    if b'"' not in body or not _may_repeat_keys(body):
        return []
    return _find_duplicates(body)


class _Repeated(Exception):
    """The quick scan met an object with a key twice."""


def _no_repeats(pairs: list[tuple[str, Any]]) -> None:
    if len(pairs) > 1 and len(dict(pairs)) < len(pairs):
        raise _Repeated
    # Nothing is kept: the scan only looks.


def _may_repeat_keys(body: bytes) -> bool:
    """False when no object of ``body`` repeats a key: the cheap answer, almost always.

    The same stdlib parse as :func:`_find_duplicates`, so the same documents are
    read the same way, but its hook only checks each object's pairs in C
    (``dict(pairs)`` keeps one per key) and keeps nothing: several times cheaper
    than the full parse, which builds every object and the paths of what it
    finds. A body the scan cannot read also goes to the full parse, which
    decides, as it always did.
    """
    try:
        json.loads(body, object_pairs_hook=_no_repeats)
    except (_Repeated, ValueError, RecursionError):
        return True
    return False


def _find_duplicates(body: bytes) -> list[str]:
    """The full parse: every object's pairs, in document order, with their paths."""

    def hook(pairs: list[tuple[str, Any]]) -> _Seen:
        obj = _Seen(pairs)
        keys = [k for k, _ in pairs]
        obj.dupes = [k for i, k in enumerate(keys) if k in keys[:i]]
        return obj

    try:
        doc = json.loads(body, object_pairs_hook=hook)
    except (ValueError, RecursionError):
        return []
    found: list[str] = []
    stack: list[tuple[Any, str]] = [(doc, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, _Seen):
            found += [f"{path}.{k}" if path else k for k in value.dupes]
            stack += [(v, f"{path}.{k}" if path else k) for k, v in reversed(value.items())]
        elif isinstance(value, list):
            stack += [(v, f"{path}[{i}]") for i, v in reversed(list(enumerate(value)))]
    return found


def problems(obj: Any, body: bytes | None, group: str, version: str, kind: str) -> list[str]:
    """Every finding, worded as upstream's strict decoder words them."""
    out = [f'duplicate field "{d}"' for d in duplicate_fields(body)] if body is not None else []
    out += [f'unknown field "{u}"' for u in unknown_fields(obj, group, version, kind)]
    return out


def enforce(mode: str, findings: list[str]) -> list[str]:
    """Strict: raise 400 on any finding. Warn: return the Warning header values. Ignore: nothing."""
    if not findings or mode == "Ignore":
        return []
    if mode == "Strict":
        raise errors.new_bad_request("strict decoding error: " + ", ".join(findings))
    return ["299 - " + json.dumps(f) for f in findings]
