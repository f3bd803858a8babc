"""Typed walks over an object: which fields it sets, and how two versions differ.

The schema decides what a "field" is. Walking ``spec.containers`` of a Pod, the
OpenAPI schema says containers are a list-map keyed by ``name``
(``x-kubernetes-list-type: map``), so each container is the element
``k:{"name":"c"}`` and owning ``image`` of one container does not mean owning the
others. ``args`` is atomic: the whole list is one field. ``finalizers`` is a set:
each value is its own field. The same facts drive the strategic merge patch, so
the lookups are :mod:`apiserver.patch.lookup`'s.

How each list merges, from the extensions on the field (kube-openapi
``schemaconv`` reads them in this order):

==========================================  ============================================
schema                                      list kind (element)
==========================================  ============================================
``x-kubernetes-list-type: map`` + keys      map, keyed by ``x-kubernetes-list-map-keys``
``x-kubernetes-list-type: set``             set (``v:<value>``)
``x-kubernetes-list-type: atomic``          atomic: the list is a leaf
``x-kubernetes-patch-strategy: merge`` +    map keyed by the patch merge key
``x-kubernetes-patch-merge-key``
``x-kubernetes-patch-strategy: merge``      set
nothing                                     atomic
==========================================  ============================================

Two walks live here:

* :func:`to_field_set` (typed/tofieldset.go): every field an *applied
  configuration* sets. A struct field holding a non-empty object is not itself a
  member (its leaves are), a map key or list item is.
* :func:`compare` (typed/compare.go): what changed from ``old`` to ``new``, as
  added / modified / removed field sets. A node missing on one side is added or
  removed as a whole, which is how an updater comes to own ``{".": {}}`` of a
  map it created.

One deliberate difference: JSON ``null`` in the object is treated as "not set"
(Go decodes it into a zero value anyway); upstream would own the null.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson

from apiserver.patch.lookup import lookup_struct
from apiserver.schema import NO_PATCH_META, PatchMeta, Schema, SchemaMemo, resolve

from . import fieldpath as fp
from .fieldpath import FieldSet, Path

#: A key field an item may omit because the server defaults it (``ports``' protocol).
KEY_DEFAULTS: dict[str, Any] = {"protocol": "TCP"}


class _Missing:
    """Absent, as opposed to present-and-null: the difference between added and modified."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@cache
def list_kind(meta: PatchMeta) -> tuple[str, tuple[str, ...]]:
    """``("map", keys)``, ``("set", ())`` or ``("atomic", ())`` for a list field (remembered)."""
    if meta.list_type == "map" and meta.list_map_keys:
        return "map", meta.list_map_keys
    if meta.list_type in ("set", "atomic"):
        return meta.list_type, ()
    if "merge" in meta.strategies:
        return ("map", (meta.merge_key,)) if meta.merge_key else ("set", ())
    return "atomic", ()


def items_schema(schema: Schema | None) -> Schema | None:
    if schema is None:
        return None
    items = resolve(schema).get("items")
    return items if isinstance(items, dict) else None


def item_meta(schema: Schema | None) -> PatchMeta:
    """List items and the root carry no field extensions, only their type's map type."""
    if schema is None:
        return NO_PATCH_META
    return _map_type_meta(resolve(schema).get("x-kubernetes-map-type"))


@cache
def _map_type_meta(map_type: str | None) -> PatchMeta:
    return PatchMeta(map_type=map_type)


def is_named_field(schema: Schema | None, name: str) -> bool:
    """A struct field (``f:spec``), as opposed to a key of a map (``f:app`` in labels)."""
    return schema is not None and name in resolve(schema).get("properties", {})


def item_element(kind: str, keys: tuple[str, ...], item: Any, i: int) -> str:
    if kind == "set":
        return fp.value(item)
    if kind == "map" and isinstance(item, dict):
        values = {k: item.get(k, KEY_DEFAULTS.get(k)) for k in keys if k in item or k in KEY_DEFAULTS}
        if values:
            return fp.key(values)
    return fp.index(i)


_EXACT = (str, int, bool, type(None))


def same(a: Any, b: Any) -> bool:
    """Deep equality that tells ``1`` from ``True`` and ``1.0`` (as JSON does).

    Two strings, ints, booleans or nulls of the same type are equal exactly when
    ``==`` says so; only floats (``0.0`` vs ``-0.0``) and containers need their
    JSON text compared.
    """
    if type(a) is type(b) and type(a) in _EXACT:
        return bool(a == b)
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


# --- to_field_set --------------------------------------------------------------------


def to_field_set(obj: dict[str, Any], schema: Schema | None) -> FieldSet:
    """Every field path ``obj`` sets (typed/tofieldset.go)."""
    out: set[Path] = set()
    _collect(obj, schema, item_meta(schema), (), out)
    return frozenset(out)


def _collect(value: Any, schema: Schema | None, meta: PatchMeta, path: Path, out: set[Path]) -> None:
    if isinstance(value, dict):
        if meta.map_type == "atomic":
            out.add(path)
            return
        for name, child in value.items():
            if child is None:
                continue
            child_schema, child_meta = lookup_struct(schema, name)
            child_path = (*path, fp.field(name))
            _collect(child, child_schema, child_meta, child_path, out)
            if child == {} or not is_named_field(schema, name):
                out.add(child_path)
    elif isinstance(value, list):
        kind, keys = list_kind(meta)
        if kind == "atomic":
            out.add(path)
            return
        element_schema = items_schema(schema)
        for i, item in enumerate(value):
            item_path = (*path, item_element(kind, keys, item, i))
            _collect(item, element_schema, item_meta(element_schema), item_path, out)
            out.add(item_path)
    elif path:
        out.add(path)


# --- compare -------------------------------------------------------------------------


@dataclass
class Comparison:
    added: set[Path] = field(default_factory=set)
    modified: set[Path] = field(default_factory=set)
    removed: set[Path] = field(default_factory=set)

    def changed(self) -> FieldSet:
        """What an updater comes to own: added or modified."""
        return frozenset(self.added | self.modified)


def compare(old: dict[str, Any], new: dict[str, Any], schema: Schema | None) -> Comparison:
    """The field-level difference between two versions of an object."""
    cmp = Comparison()
    _compare(old, new, schema, item_meta(schema), (), cmp)
    return cmp


def _compare(lhs: Any, rhs: Any, schema: Schema | None, meta: PatchMeta, path: Path, cmp: Comparison) -> None:
    # Every write runs this over the whole object, so two shortcuts come before the
    # general walk (compare.go): a node on one side only (a create is mostly that)
    # and an unchanged map or list (most of an object on most updates). Both give
    # what the walk would; tests/apiserver/managedfields/test_fastpaths.py checks.
    if lhs is MISSING and path:
        _whole(rhs, schema, meta, path, cmp.added)
        return
    if rhs is MISSING and path:
        _whole(lhs, schema, meta, path, cmp.removed)
        return
    if type(lhs) is type(rhs) and isinstance(lhs, (dict, list)) and _identical(lhs, rhs):
        return
    if isinstance(lhs, dict) or isinstance(rhs, dict):
        children_compared = _compare_maps(lhs, rhs, schema, meta, path, cmp)
    elif isinstance(lhs, list) or isinstance(rhs, list):
        children_compared = _compare_lists(lhs, rhs, schema, meta, path, cmp)
    else:
        children_compared = False
    if not children_compared:
        _leaf(lhs, rhs, path, cmp)
    elif path and lhs is MISSING:
        cmp.added.add(path)
    elif path and rhs is MISSING:
        cmp.removed.add(path)


def _whole(value: Any, schema: Schema | None, meta: PatchMeta, path: Path, out: set[Path]) -> None:
    """A node present on one side only: it and every field below it were added (or removed).

    What :func:`_compare` would find against ``MISSING``, in one walk without the
    other side: the node itself, each map field but the null ones, each list item
    (the first of repeats, as :func:`_by_element`), down to the leaves; atomic
    and empty nodes are leaves. A create is mostly this walk.
    """
    out.add(path)
    if isinstance(value, dict):
        if not value or meta.map_type == "atomic":
            return
        for name, child in value.items():
            if child is not None:
                child_schema, child_meta = lookup_struct(schema, name)
                _whole(child, child_schema, child_meta, (*path, fp.field(name)), out)
    elif isinstance(value, list):
        kind, keys = list_kind(meta)
        if not value or kind == "atomic":
            return
        element_schema = items_schema(schema)
        element_meta = item_meta(element_schema)
        for element, item in _by_element(kind, keys, value).items():
            _whole(item, element_schema, element_meta, (*path, element), out)


def _identical(lhs: dict[str, Any] | list[Any], rhs: dict[str, Any] | list[Any]) -> bool:
    """Do two maps or lists hold the same JSON? Then comparing them finds nothing.

    ``==`` answers at C speed and, when the two differ, usually at their first
    difference; but it takes ``1`` for ``True`` and ``1.0``, so an equal pair is
    confirmed by its JSON text (orjson, keys sorted). Integers orjson cannot write
    (beyond 64 bits) leave the answer to the walk.
    """
    if lhs is rhs:
        return True
    if lhs != rhs:
        return False
    try:
        return _sorted_json(lhs) == _sorted_json(rhs)
    except TypeError:
        return False


def _sorted_json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _leaf(lhs: Any, rhs: Any, path: Path, cmp: Comparison) -> None:
    if lhs is MISSING:
        cmp.added.add(path)
    elif rhs is MISSING:
        cmp.removed.add(path)
    elif not same(lhs, rhs):
        cmp.modified.add(path)


def _compare_maps(
    lhs: Any, rhs: Any, schema: Schema | None, meta: PatchMeta, path: Path, cmp: Comparison
) -> bool:
    """Compare key by key; False when the pair is a leaf (atomic, empty, or mismatched types)."""
    left = lhs if isinstance(lhs, dict) else {}
    right = rhs if isinstance(rhs, dict) else {}
    mismatched = not (
        (lhs is MISSING or lhs is None or isinstance(lhs, dict))
        and (rhs is MISSING or rhs is None or isinstance(rhs, dict))
    )
    if mismatched or meta.map_type == "atomic" or (not left and not right):
        return False
    for name in {**left, **right}:
        child_schema, child_meta = lookup_struct(schema, name)
        lv, rv = left.get(name, MISSING), right.get(name, MISSING)
        rv = MISSING if rv is None else rv  # null is "not set"
        if rv is MISSING and (lv is MISSING or lv is None):
            continue
        _compare(lv, rv, child_schema, child_meta, (*path, fp.field(name)), cmp)
    return True


def _compare_lists(
    lhs: Any, rhs: Any, schema: Schema | None, meta: PatchMeta, path: Path, cmp: Comparison
) -> bool:
    left = lhs if isinstance(lhs, list) else []
    right = rhs if isinstance(rhs, list) else []
    kind, keys = list_kind(meta)
    mismatched = not (
        (lhs is MISSING or lhs is None or isinstance(lhs, list))
        and (rhs is MISSING or rhs is None or isinstance(rhs, list))
    )
    if mismatched or kind == "atomic" or (not left and not right):
        return False
    element_schema = items_schema(schema)
    left_items = _by_element(kind, keys, left)
    right_items = _by_element(kind, keys, right)
    for element in {**left_items, **right_items}:
        _compare(
            left_items.get(element, MISSING),
            right_items.get(element, MISSING),
            element_schema,
            item_meta(element_schema),
            (*path, element),
            cmp,
        )
    return True


def _by_element(kind: str, keys: tuple[str, ...], items: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        out.setdefault(item_element(kind, keys, item, i), item)  # repeats are ignored, as upstream
    return out


# --- the zero object -----------------------------------------------------------------

_ALWAYS_PRESENT = ("metadata", "spec", "status")


def zero_object(schema: Schema | None) -> dict[str, Any]:
    """What a freshly created object is compared with: Go's zero value of the kind.

    Upstream a create is an update from ``New()``, the zero struct, which already
    holds every non-pointer struct (``spec``, ``spec.template``...) and ``null``
    for required lists (``containers``). Those nodes therefore exist "before" the
    create and the creator owns their contents, not the nodes themselves
    (``f:spec`` without ``"."``). The schema does not say which structs are
    pointers; required fields and metadata/spec/status are a close stand-in.

    Worked out once per kind and shared by every caller: read it, never change it
    (:func:`compare` only reads).
    """
    return {} if schema is None else _zero_objects(schema)


def _zero(schema: Schema | None, depth: int = 0) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if schema is None or depth > 8:
        return out
    node = resolve(schema)
    required = set(node.get("required", ()))
    for name, prop in node.get("properties", {}).items():
        if name not in required and name not in _ALWAYS_PRESENT:
            continue
        sub = resolve(prop)
        if "items" in sub and name in required:
            out[name] = None
        elif (
            "properties" in sub
            and item_meta(prop).map_type != "atomic"
            and prop.get("x-kubernetes-map-type") != "atomic"
        ):
            out[name] = _zero(prop, depth + 1)
    return out


_zero_objects: SchemaMemo[dict[str, Any]] = SchemaMemo(_zero)
