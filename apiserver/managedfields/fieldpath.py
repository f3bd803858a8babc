"""Field paths and field sets: the vocabulary of managedFields.

Server-side apply records, for every field manager, *which fields it owns*. A
field is named by a path of elements, each one step down into the object:

=================================  ==============================================
element                            steps into
=================================  ==============================================
``f:spec``                         a struct field or a map key (``f:app`` in labels)
``k:{"name":"c"}``                 the item of a list-map whose keys have these values
``v:"example.com/x"``              the item of a set-list equal to this value
``i:3``                            a list item by position (rare: keyless lists)
=================================  ==============================================

A path is a tuple of those strings, e.g. ``("f:spec", "f:containers",
'k:{"name":"c"}', "f:image")``, and a field set is a ``frozenset`` of paths, so
union, difference and intersection are Python's own set operators.

On the wire (``metadata.managedFields[].fieldsV1``) a set is a tree: each path is
a chain of nested objects and ``"."`` marks a node that is itself a member, not
just an ancestor of members::

    {"f:data": {".": {}, "f:a": {}}}      ==  {(".data"), (".data.a")}
    {"f:data": {"f:a": {}}}               ==  {(".data.a")}

Mirrors sigs.k8s.io/structured-merge-diff/fieldpath (element.go, path.go, set.go,
serialize.go, serialize-pe.go).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

Path = tuple[str, ...]
FieldSet = frozenset[Path]

EMPTY: FieldSet = frozenset()
MEMBER = "."  # the fieldsV1 marker: "this node itself is in the set"


def field(name: str) -> str:
    return f"f:{name}"


def key(values: dict[str, Any]) -> str:
    """A list-map item's element: its key fields, sorted, as compact JSON."""
    return "k:" + _json(dict(sorted(values.items())))


def value(v: Any) -> str:
    """A set-list item's element: the item itself as compact JSON."""
    return "v:" + _json(v)


def index(i: int) -> str:
    return f"i:{i}"


def _json(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


# --- set algebra beyond the frozenset operators --------------------------------------


def with_ancestors(fields: Iterable[Path]) -> FieldSet:
    """Every path and every proper prefix of it (but not the empty root path)."""
    return frozenset(p[:i] for p in fields for i in range(1, len(p) + 1))


def recursive_difference(fields: FieldSet, remove: FieldSet) -> FieldSet:
    """``fields`` without the paths in ``remove`` *and everything below them*."""
    if not remove:
        return fields
    return frozenset(p for p in fields if not any(p[:i] in remove for i in range(1, len(p) + 1)))


def outermost(fields: Iterable[Path]) -> list[Path]:
    """The paths no other path in ``fields`` is an ancestor of, sorted."""
    members = set(fields)
    return sorted(p for p in members if not any(p[:i] in members for i in range(1, len(p))))


# --- fieldsV1: the wire form ---------------------------------------------------------


def _rank(element: str) -> tuple[int, str]:
    # The order upstream serializes siblings in: the member marker, then fields,
    # keys, values, indexes (PathElement.Less), each sorted by its text.
    return ({".": 0, "f": 1, "k": 2, "v": 3, "i": 4}.get(element[0], 5), element)


def to_fields_v1(fields: FieldSet) -> dict[str, Any]:
    """Encode a set as the nested ``fieldsV1`` object."""
    tree: dict[str, Any] = {}
    for path in fields:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
        node[MEMBER] = {}
    return _finish(tree)


def _finish(node: dict[str, Any]) -> dict[str, Any]:
    # A member with no children is written as a bare ``{}`` leaf.
    children = {k: _finish(v) for k, v in node.items() if k != MEMBER}
    out: dict[str, Any] = {}
    if MEMBER in node and children:
        out[MEMBER] = {}
    for k in sorted(children, key=_rank):
        out[k] = children[k]
    return out


def from_fields_v1(tree: dict[str, Any]) -> FieldSet:
    """Decode ``fieldsV1``; raises ValueError on a malformed tree."""
    out: set[Path] = set()

    def walk(node: Any, path: Path) -> None:
        if not isinstance(node, dict):
            raise ValueError(f"expected an object at {to_string(path) or 'the root'}")
        if path and (not node or MEMBER in node):
            out.add(path)
        for element, child in node.items():
            if element == MEMBER:
                continue
            if element[:2] not in ("f:", "k:", "v:", "i:"):
                raise ValueError(f"unknown path element {element!r}")
            walk(child, (*path, element))

    walk(tree, ())
    return frozenset(out)


# --- the human form, as conflict messages print it ----------------------------------


def element_string(element: str) -> str:
    """``f:spec`` → ``.spec``; ``k:{"name":"c"}`` → ``[name="c"]``; ``v:"x"`` → ``[="x"]``."""
    kind, text = element[0], element[2:]
    if kind == "f":
        return "." + text
    if kind == "k":
        items = json.loads(text).items()
        return "[" + ",".join(f"{k}={_json(v)}" for k, v in items) + "]"
    if kind == "v":
        return f"[={text}]"
    return f"[{text}]"


def to_string(path: Path) -> str:
    """A path as upstream's ``Path.String()`` prints it: ``.spec.containers[name="c"].image``."""
    return "".join(element_string(e) for e in path)
