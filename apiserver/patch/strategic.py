"""Strategic merge patch: JSON merge patch that knows which lists are keyed.

``kubectl patch``, ``kubectl apply`` (client-side), ``kubectl edit`` and
``kubectl set image`` all send ``application/strategic-merge-patch+json``. It reads
like a JSON merge patch (RFC 7386: maps merge key by key, ``null`` deletes a key,
anything else replaces) with one big difference: a list whose schema says
``x-kubernetes-patch-strategy: merge`` is merged element by element instead of
replaced. Containers are matched by ``name``, so this patch changes one image and
leaves every other container alone::

    {"spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}

A handful of *directives* say what plain JSON cannot:

==========================================  ==================================================
directive                                   effect
==========================================  ==================================================
``{"$patch": "replace", ...}`` in a map     the map replaces the live one instead of merging
``{"$patch": "delete"}`` as a map           the map becomes ``{}``
``{"name": "c", "$patch": "delete"}``       in a keyed list: remove the item whose key is ``c``
``{"$patch": "replace"}`` in a list         the list (minus this marker) replaces the live list
``"$deleteFromPrimitiveList/finalizers"``   remove these values from a list of scalars
``"$setElementOrder/containers"``           the final order of a merged list (kubectl sends it)
``"$retainKeys": ["type"]``                 drop every live key of this map not listed
==========================================  ==================================================

``$patch: merge`` is spelled out in the design but not implemented upstream: in a
map it is an "unknown patch type", in a list "merging lists cannot yet be
specified in the patch". Both are errors here too.

The algorithm is a port of ``StrategicMergeMapPatch`` / ``mergeMap`` / ``mergeSlice``
in k8s.io/apimachinery/pkg/util/strategicpatch/patch.go, with the options the API
server uses (``MergeParallelList``: apply the ``$deleteFromPrimitiveList`` lists;
``IgnoreUnmatchedNulls``: a ``null`` for a missing key is simply dropped). The
schema questions are in ``lookup.py``, list order in ``order.py``, error messages
and statuses in ``merge_errors.py``.
"""

from __future__ import annotations

import copy
from typing import Any

from apimachinery.field_errors import Path
from apiserver.schema import Schema, definition_for_gvk

from . import merge_errors as e
from . import order
from .lookup import MERGE, REPLACE, lookup_slice, lookup_struct, merge_strategy
from .merge_errors import PatchError
from .order import DELETE, DIRECTIVE

Object = dict[str, Any]
List = list[Any]

RETAIN_KEYS = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
SET_ELEMENT_ORDER = "$setElementOrder"


def apply(current: Object, patch: Object, gvk: tuple[str, str, str]) -> Object:
    """Apply ``patch`` to ``current`` (neither is modified) using the schema of ``gvk``.

    Raises ``StatusError`` (400 or 422) when the patch is malformed.
    """
    original = copy.deepcopy(current)
    work = copy.deepcopy(patch)
    try:
        return merge_map(original, work, definition_for_gvk(*gvk), Path())
    except PatchError as err:
        raise err.to_status() from None


def merge_map(original: Object | None, patch: Object, schema: Schema | None, path: Path) -> Object:
    """Merge ``patch`` into ``original`` (both are consumed) and return the result."""
    if DIRECTIVE in patch:
        return _map_directive(patch[DIRECTIVE], patch, path)
    if original is None:
        original = {}
    _apply_retain_keys(original, patch, path)
    _merge_ordered_lists(original, patch, schema, path)

    for key, patch_value in list(patch.items()):
        is_delete_list = key.startswith(DELETE_FROM_PRIMITIVE_LIST)
        if is_delete_list:
            key = _extract_key(key, DELETE_FROM_PRIMITIVE_LIST, path)
        here = path.child(key)
        if patch_value is None:
            original.pop(key, None)  # null deletes; a null for a missing key is ignored
            continue
        if key not in original or e.go_type_name(original[key]) != e.go_type_name(patch_value):
            # Nothing to merge with: take the patch value, cleaned of nulls and directives.
            if not is_delete_list:
                _take(original, key, _discard_nulls(patch_value))
            continue
        if isinstance(patch_value, dict):
            sub, meta = lookup_struct(schema, key)
            strategy = merge_strategy(meta, here)
            original[key] = (
                patch_value if strategy == REPLACE else merge_map(original[key], patch_value, sub, here)
            )
        elif isinstance(patch_value, list):
            sub, meta = lookup_slice(schema, key)
            strategy = merge_strategy(meta, here)
            original[key] = merge_list(
                original[key], patch_value, sub, strategy, meta.merge_key or "", is_delete_list, here
            )
        else:
            original[key] = patch_value
    return original


def _map_directive(directive: Any, patch: Object, path: Path) -> Object:
    """``$patch`` inside a map: ``replace`` takes the patch as it is, ``delete`` leaves ``{}``."""
    if directive == REPLACE:
        del patch[DIRECTIVE]
        return patch
    if directive == DELETE:
        return {}
    raise e.bad_patch_type(directive, patch, path)


def _apply_retain_keys(original: Object, patch: Object, path: Path) -> None:
    """``$retainKeys``: keep only the listed keys of the live map (used with ``retainKeys`` fields).

    Every key the patch sets must itself be listed, or the patch contradicts itself.
    """
    if RETAIN_KEYS not in patch:
        return
    retain = patch.pop(RETAIN_KEYS)
    here = path.child(RETAIN_KEYS)
    if not isinstance(retain, list):
        raise PatchError(e.BAD_RETAIN_KEYS, here)
    for key, value in patch.items():
        if value is None or key.startswith((DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)):
            continue
        if not order.contains(retain, key):
            raise PatchError(e.BAD_RETAIN_KEYS, here)
    for key in [k for k in original if not order.contains(retain, k)]:
        del original[key]


def _merge_ordered_lists(original: Object, patch: Object, schema: Schema | None, path: Path) -> None:
    """Merge every list that comes with a ``$setElementOrder/<list>`` and put it in that order.

    Both the directive and the list are removed from ``patch`` so the main loop
    does not merge the list a second time (``mergePatchIntoOriginal``).
    """
    for directive_key in [k for k in patch if k.startswith(SET_ELEMENT_ORDER)]:
        set_order = patch.pop(directive_key)
        here = path.child(directive_key)
        if not isinstance(set_order, list):
            raise e.bad_arg_type(e.SLICE, set_order, here)
        key = _extract_key(directive_key, SET_ELEMENT_ORDER, path)
        live: List = []
        patch_list: List = []
        if key in original:
            if not isinstance(original[key], list):
                raise e.bad_arg_type(e.SLICE, original[key], here)
            live = original[key]
        if key in patch:
            if not isinstance(patch[key], list):
                raise e.bad_arg_type(e.SLICE, patch[key], here)
            patch_list = patch[key]
        sub, meta = lookup_slice(schema, key)
        strategy = merge_strategy(meta, here)
        merge_key = meta.merge_key or ""
        order.validate_patch_with_set_order_list(patch_list, set_order, merge_key, here)

        if key in original and key in patch:
            merged = merge_list(live, patch_list, sub, strategy, merge_key, False, path.child(key))
        elif key in patch:
            merged = _remove_directives(patch_list)
        elif key in original:
            merged = live
        else:
            continue
        named, server_only = order.partition(merged, set_order, merge_key, here)
        is_map = order.element_kind(live, patch_list, path=here) == e.MAP
        original[key] = order.normalize_element_order(
            named, server_only, set_order, live, merge_key, is_map, here
        )
        patch.pop(key, None)


def merge_list(
    original: List,
    patch: List,
    schema: Schema | None,
    strategy: str,
    merge_key: str,
    is_delete_list: bool,
    path: Path,
) -> List:
    """A list field: merged when its strategy is ``merge`` (or it is a delete list), else replaced."""
    if strategy != MERGE and not is_delete_list:
        return patch
    if not original and not patch:
        return original
    is_map = order.element_kind(original, patch, path=path) == e.MAP
    if not is_map:
        if is_delete_list:
            return order.delete_from_slice(original, patch)
        merged = order.deduplicate_scalars(original + patch)
    else:
        if not merge_key:
            raise PatchError("cannot merge lists without merge key for struct", path)
        original, patch = _list_directives(original, patch, merge_key, path)
        # Merge into a copy: ``original`` stays the live order the server-only items keep.
        merged = _merge_by_key(list(original), patch, merge_key, schema, path)
    named, server_only = order.partition(merged, patch, merge_key, path)
    return order.normalize_element_order(named, server_only, patch, original, merge_key, is_map, path)


def _list_directives(original: List, patch: List, merge_key: str, path: Path) -> tuple[List, List]:
    """Act on ``$patch`` items of a keyed list; return (live list, the patch without them).

    ``{"$patch": "replace"}`` anywhere makes the rest of the patch the whole list.
    """
    plain: List = []
    replace = False
    for i, item in enumerate(patch):
        if DIRECTIVE not in item:
            plain.append(item)
            continue
        directive = item[DIRECTIVE]
        if directive == DELETE:
            if merge_key not in item:
                raise e.no_merge_key(item, merge_key, path.index(i))
            original = [o for o in original if not _has_key(o, merge_key, item[merge_key])]
        elif directive == REPLACE:
            replace = True  # keep going: every other directive item is still pruned
        elif directive == MERGE:
            raise PatchError("merging lists cannot yet be specified in the patch", path.index(i))
        else:
            raise e.bad_patch_type(directive, item, path.index(i))
    return (plain, []) if replace else (original, plain)


def _has_key(item: Object, merge_key: str, value: Any) -> bool:
    return merge_key in item and order.go_equal(item[merge_key], value)


def _merge_by_key(original: List, patch: List, merge_key: str, schema: Schema | None, path: Path) -> List:
    """Merge each patch item into the live item with the same key, or append it."""
    for i, item in enumerate(patch):
        if merge_key not in item:
            raise e.no_merge_key(item, merge_key, path.index(i))
        found = order.find_map(original, merge_key, item[merge_key], path)
        if found >= 0:
            original[found] = merge_map(original[found], item, schema, path.index(i))
        else:
            original.append(item)
    return original


def _extract_key(key: str, prefix: str, path: Path) -> str:
    """``$setElementOrder/containers`` → ``containers``."""
    head, sep, rest = key.partition("/")
    if not sep or head != prefix:
        message = e.BAD_PRIMITIVE_LIST if prefix == DELETE_FROM_PRIMITIVE_LIST else e.BAD_SET_ELEMENT_ORDER
        raise PatchError(message, path.child(key))
    return rest


def _take(original: Object, key: str, value: Any) -> None:
    """Store a patch value that merges with nothing, unless it is itself only a directive."""
    if isinstance(value, dict) and DIRECTIVE in value:
        original.pop(key, None)
    else:
        original[key] = _remove_directives(value)


def _remove_directives(value: Any) -> Any:
    """Strip ``$patch`` maps (and list items) from a value that is being taken whole.

    Without this a ``{"$patch": "delete", ...}`` sent for a list the object does
    not have yet would be stored verbatim (kubernetes/kubernetes#117568).
    """
    if isinstance(value, dict):
        return {k: _remove_directives(v) for k, v in value.items() if not _is_directive(v)}
    if isinstance(value, list):
        return [_remove_directives(v) for v in value if not _is_directive(v)]
    return value


def _is_directive(value: Any) -> bool:
    return isinstance(value, dict) and DIRECTIVE in value


def _discard_nulls(value: Any) -> Any:
    """Drop ``null`` map values at any depth: in a value taken whole a ``null`` deletes nothing."""
    if isinstance(value, dict):
        return {k: _discard_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_discard_nulls(v) for v in value]
    return value
