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
from functools import lru_cache
from typing import Any

import orjson

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


#: Types orjson writes exactly as ``json.dumps`` does here (floats it spells
#: differently: ``1e-7`` for ``1e-07``).
_SAME_TEXT = (str, int, bool, type(None))


def _json(v: Any) -> str:
    """Compact JSON, non-ASCII kept: the text of a key or value element.

    Every list item's element is named by this, so the usual ones (strings,
    numbers, a map of them) are written by orjson, which is faster; anything else,
    and what orjson refuses (a lone surrogate, an integer beyond 64 bits), by json.
    """
    if type(v) in _SAME_TEXT or (type(v) is dict and all(type(x) in _SAME_TEXT for x in v.values())):
        try:
            return orjson.dumps(v).decode()
        except TypeError:
            pass
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


# --- set algebra beyond the frozenset operators --------------------------------------


def with_ancestors(fields: Iterable[Path]) -> FieldSet:
    """Every path and every proper prefix of it (but not the empty root path)."""
    return frozenset(p[:i] for p in fields for i in range(1, len(p) + 1))


def recursive_difference(fields: FieldSet, remove: FieldSet) -> FieldSet:
    """``fields`` without the paths in ``remove`` *and everything below them*.

    The sets removed on every write (server-set metadata, ``.status``) are small
    and shallow: a path whose first element starts none of them is kept at once,
    and the others are checked only at prefixes no longer than the longest of them.
    """
    if not remove or not fields:
        return fields
    heads = {r[0] for r in remove if r}
    deepest = max(map(len, remove))
    kept = []
    for p in fields:
        if p and p[0] in heads and any(p[:i] in remove for i in range(1, min(len(p), deepest) + 1)):
            continue
        kept.append(p)
    return frozenset(kept)


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
    """Encode a set as the nested ``fieldsV1`` object.

    Each call returns a new tree the caller may keep or change. Recently encoded
    sets are remembered as JSON (:func:`_encoded`): an unchanged manager's entry, or
    the same fields written for the next pod of a Deployment, are not encoded again.
    """
    tree: dict[str, Any] = orjson.loads(_encoded(fields))
    return tree


@lru_cache(maxsize=256)
def _encoded(fields: FieldSet) -> bytes:
    return orjson.dumps(_tree(fields))


def _tree(fields: FieldSet) -> dict[str, Any]:
    # Sorted, a set lists every path right before the paths below it, and siblings
    # in text order, which is upstream's order ("f:" < "k:" < "v:") but for "i:",
    # which upstream puts last. So the tree is built in its final order, a node
    # being marked a member ("." first) when the next path descends into it; the
    # rare node with "i:" children is put in order afterwards.
    tree: dict[str, Any] = {}
    ordered = sorted(fields)
    indexed: list[dict[str, Any]] = []
    for n, path in enumerate(ordered):
        node = tree
        for element in path:
            if element[0] == "i":
                indexed.append(node)
            node = node.setdefault(element, {})
        following = ordered[n + 1] if n + 1 < len(ordered) else ()
        if len(following) > len(path) and following[: len(path)] == path:
            node[MEMBER] = {}
    for node in indexed:
        ranked = sorted(node.items(), key=lambda item: _rank(item[0]))
        node.clear()
        node.update(ranked)
    return tree


def from_fields_v1(tree: dict[str, Any]) -> FieldSet:
    """Decode ``fieldsV1``; raises ValueError on a malformed tree.

    Recently decoded trees are remembered by their JSON text (field sets are
    immutable, so one can be shared by every entry that decodes to it).
    """
    try:
        text = orjson.dumps(tree)
    except (orjson.JSONEncodeError, TypeError):
        return _walk_fields_v1(tree)
    return _decoded(text)


@lru_cache(maxsize=256)
def _decoded(text: bytes) -> FieldSet:
    return _walk_fields_v1(orjson.loads(text))


def _walk_fields_v1(tree: Any) -> FieldSet:
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
