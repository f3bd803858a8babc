"""Patch metadata: how the field being merged wants to be merged.

A strategic merge patch is a JSON merge patch that knows the schema. Each time
the merge meets a map or a list it asks two questions about the field:

* for a map, ``lookup_struct(schema, key)``: the schema of the nested object, and
  whether its patch strategy is ``replace`` (take the patch as it is) or not
  (merge key by key);
* for a list, ``lookup_slice(schema, key)``: the schema of one element, and the
  patch strategy and merge key (``containers`` merge by ``name``; ``args`` has no
  strategy and is replaced whole).

Only ``x-kubernetes-patch-strategy`` and ``x-kubernetes-patch-merge-key`` count.
The server-side-apply extensions (``x-kubernetes-list-type: map`` with
``x-kubernetes-list-map-keys``) are *not* consulted: a list that is a map for
server-side apply but declares no patch strategy (``resources.claims``) is
replaced by a strategic merge patch, as upstream does.

A field the schema does not know (or an object with no schema at all) gets
empty metadata and no schema below it: maps still merge key by key and lists
are replaced, which is JSON merge patch. (Upstream's struct-based lookup would
refuse the field instead; a schema-driven server cannot tell a missing
definition from a wrong field, so it is lenient.)

Mirrors: k8s.io/apimachinery/pkg/util/strategicpatch/meta.go (``LookupPatchMeta``,
``PatchMetaFromOpenAPI``) and ``extractRetainKeysPatchStrategy`` in patch.go.
"""

from __future__ import annotations

from apimachinery.field_errors import Path
from apiserver.schema import NO_PATCH_META, PatchMeta, Schema, SchemaMemo, patch_meta, resolve

from .merge_errors import PatchError, go_v

REPLACE = "replace"
MERGE = "merge"
RETAIN_KEYS = "retainKeys"


Lookup = tuple[Schema | None, PatchMeta]
_UNKNOWN: Lookup = (None, NO_PATCH_META)


def lookup_struct(schema: Schema | None, key: str) -> Lookup:
    """The schema of object field ``key`` and its patch metadata."""
    if schema is None:
        return _UNKNOWN
    named, other = _struct_lookups(schema)
    return named.get(key, other)


def _lookups(schema: Schema) -> tuple[dict[str, Lookup], Lookup]:
    """Every answer ``lookup_struct(schema, ...)`` can give, worked out once per node.

    Server-side apply and field validation ask it for every field of every object
    written, so it is a table: one answer per declared property, and one for every
    other key (they all get the same: the map's value schema, or nothing). Map keys
    are not entered one by one, so label keys and the like never grow it.
    """
    named: dict[str, Lookup] = {}
    properties = resolve(schema).get("properties")
    if isinstance(properties, dict):
        for key in properties:
            field = _field(schema, key)
            named[key] = (field, _meta(schema, field))
    other = _field(schema, "") if not isinstance(properties, dict) else None
    return named, (other, _meta(schema, other))


_struct_lookups: SchemaMemo[tuple[dict[str, Lookup], Lookup]] = SchemaMemo(_lookups)


def lookup_slice(schema: Schema | None, key: str) -> tuple[Schema | None, PatchMeta]:
    """The schema of one *element* of list field ``key`` and the list's patch metadata."""
    field = _field(schema, key)
    if field is None:
        return None, PatchMeta()
    items = resolve(field).get("items")
    return (items if isinstance(items, dict) else None), _meta(schema, field)


def _field(schema: Schema | None, key: str) -> Schema | None:
    if schema is None:
        return None
    node = resolve(schema)
    properties = node.get("properties")
    if isinstance(properties, dict):
        field = properties.get(key)
        return field if isinstance(field, dict) else None
    values = node.get("additionalProperties")  # a map: every key has the same schema
    return values if isinstance(values, dict) else None


def _meta(parent: Schema | None, field: Schema | None) -> PatchMeta:
    # The values of a map carry no patch metadata of their own (Go: a map field's
    # element type has no struct tags), only struct fields do.
    if parent is None or field is None or "properties" not in resolve(parent):
        return PatchMeta()
    return patch_meta(field)


def merge_strategy(meta: PatchMeta, path: Path) -> str:
    """The strategy other than ``retainKeys``: ``"merge"``, ``"replace"`` or ``""``.

    ``retainKeys`` only tells a *client* to send a ``$retainKeys`` list; the
    server obeys that directive wherever it finds it, so here it is dropped.
    """
    strategies = list(meta.strategies)
    if len(strategies) <= 1:
        return "" if not strategies or strategies[0] == RETAIN_KEYS else strategies[0]
    if len(strategies) == 2 and RETAIN_KEYS in strategies:
        return strategies[1] if strategies[0] == RETAIN_KEYS else strategies[0]
    raise PatchError(f"unexpected patch strategy: {go_v(strategies)}", path)
