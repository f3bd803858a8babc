"""Merging an applied configuration into the live object, and removing fields.

``merge(live, config)`` is what server-side apply does to the object (typed/
merge.go): maps and structs merge key by key, a list-map merges item by item on
its keys, a set-list is a union, and anything atomic (scalars, atomic lists and
maps) is replaced by the configuration's value. Items keep the live order, new
ones follow in the configuration's order (upstream's "cheap hack to at least
make the output order stable").

``remove(obj, fields)`` deletes the fields named by paths (typed/remove.go);
apply uses it to drop what a manager applied before and no longer applies.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from apiserver.patch.lookup import lookup_struct
from apiserver.schema import PatchMeta, Schema

from .fieldpath import FieldSet, Path, outermost
from .typed import KEY_DEFAULTS, MISSING, item_element, item_meta, items_schema, list_kind


def merge(live: dict[str, Any], config: dict[str, Any], schema: Schema | None) -> dict[str, Any]:
    out = _merge(live, config, schema, item_meta(schema))
    assert isinstance(out, dict)
    return out


def _merge(lhs: Any, rhs: Any, schema: Schema | None, meta: PatchMeta) -> Any:
    if rhs is MISSING or rhs is None:  # null in a configuration means "not set"
        return lhs
    if isinstance(lhs, dict) and isinstance(rhs, dict) and meta.map_type != "atomic":
        out = {}
        for name in {**lhs, **rhs}:
            child_schema, child_meta = lookup_struct(schema, name)
            value = _merge(lhs.get(name, MISSING), rhs.get(name, MISSING), child_schema, child_meta)
            if value is not MISSING:
                out[name] = value
        return out
    kind, keys = list_kind(meta)
    if isinstance(lhs, list) and isinstance(rhs, list) and kind != "atomic":
        element_schema = items_schema(schema)
        incoming = {item_element(kind, keys, item, i): item for i, item in enumerate(rhs)}
        merged = []
        for i, item in enumerate(lhs):
            element = item_element(kind, keys, item, i)
            merged.append(
                _merge(item, incoming.pop(element, MISSING), element_schema, item_meta(element_schema))
            )
        merged.extend(copy.deepcopy(list(incoming.values())))
        return merged
    return copy.deepcopy(rhs)


def remove(obj: dict[str, Any], fields: FieldSet) -> dict[str, Any]:
    """A copy of ``obj`` without the fields in ``fields`` (each with everything below it)."""
    out = copy.deepcopy(obj)
    for path in outermost(fields):
        _remove_path(out, path)
    return out


def _remove_path(obj: dict[str, Any], path: Path) -> None:
    node: Any = obj
    for element in path[:-1]:
        node = _child(node, element)
        if node is MISSING:
            return
    last = path[-1]
    if isinstance(node, dict) and last.startswith("f:"):
        node.pop(last[2:], None)
    elif isinstance(node, list):
        node[:] = [item for i, item in enumerate(node) if not _matches(item, i, last)]


def _child(node: Any, element: str) -> Any:
    if isinstance(node, dict) and element.startswith("f:"):
        return node.get(element[2:], MISSING)
    if isinstance(node, list):
        for i, item in enumerate(node):
            if _matches(item, i, element):
                return item
    return MISSING


def _matches(item: Any, i: int, element: str) -> bool:
    """Does list item ``item`` (at index ``i``) answer to path element ``element``?"""
    kind, text = element[0], element[2:]
    if kind == "k":
        wanted = json.loads(text)
        return isinstance(item, dict) and all(
            item.get(k, KEY_DEFAULTS.get(k)) == v for k, v in wanted.items()
        )
    if kind == "v":
        return bool(json.loads(text) == item)
    if kind == "i":
        return int(text) == i
    return False
