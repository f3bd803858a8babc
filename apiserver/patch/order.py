"""List helpers for strategic merge patch: element identity, and the order of a merged list.

When a patch merges into a list by key, the result must have *some* order. The
rule (design proposal "preserve order in strategic merge patch") is:

    ``$setElementOrder/<list>``  >  order of the items in the patch  >  order in the live list

``normalize_element_order`` implements it: the items named by the patch are
sorted by the patch's order, the items only the server has are sorted by the live
order, and the two sorted runs are interleaved so that each server-only item
stays just before the first item that followed it in the live list.

Identity is Go's ``==`` on ``interface{}``: a merge key ``80`` (int64) never equals
``"80"`` (string) or ``80.0`` (float64), which ``go_equal`` reproduces.

Mirrors the ordering half of k8s.io/apimachinery/pkg/util/strategicpatch/patch.go
(``normalizeElementOrder``, ``normalizeSliceOrder``, ``mergeSortedSlice``,
``index``, ``partition*ByPresentInList``, ``validatePatchWithSetOrderList``,
``deduplicateScalars``, ``sliceElementType``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apimachinery.field_errors import Path

from . import merge_errors as e
from .merge_errors import PatchError

DIRECTIVE = "$patch"
DELETE = "delete"

List = list[Any]


def go_equal(a: Any, b: Any) -> bool:
    """``a == b`` for two Go ``interface{}`` values: same dynamic type and same value."""
    return e.go_type_name(a) == e.go_type_name(b) and a == b


def contains(items: List, value: Any) -> bool:
    return any(go_equal(item, value) for item in items)


def element_kind(*lists: List, path: Path) -> str:
    """The Go type shared by every element of ``lists`` (``sliceElementType``)."""
    kind: str | None = None
    for items in lists:
        for item in items:
            current = e.go_type_name(item)
            if kind is None:
                kind = current
                if kind == e.SLICE:
                    raise PatchError(e.NO_LIST_OF_LISTS, path)
            elif kind != current:
                raise PatchError(f"list element types are not identical: {e.go_v(list(lists))}", path)
    if kind is None:
        raise PatchError("no elements in any of the given slices", path)
    return kind


def index(items: List, value: Any, merge_key: str, is_map: bool) -> int:
    """Where ``value`` sits in ``items`` (compared by merge key for maps), or -1."""

    def key_of(item: Any) -> Any:
        if not is_map:
            return item
        return item.get(merge_key) if isinstance(item, dict) else None

    wanted = key_of(value)
    return next((i for i, item in enumerate(items) if go_equal(key_of(item), wanted)), -1)


def find_map(items: List, key: str, value: Any, path: Path) -> int:
    """The index of the first map whose ``key`` equals ``value``, or -1 (``findMapInSliceBasedOnKeyValue``)."""
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise PatchError(f"value for key {i} is not a map", path)
        if key in item and go_equal(item[key], value):
            return i
    return -1


def merge_key_value_equal(left: Any, right: Any, merge_key: str, path: Path) -> bool:
    if not merge_key:
        return go_equal(left, right)
    for side in (left, right):
        if not isinstance(side, dict):
            raise e.bad_arg_type(e.MAP, side, path)
        if merge_key not in side:
            raise e.no_merge_key(side, merge_key, path)
    return go_equal(left[merge_key], right[merge_key])


def extract_to_delete_items(items: List, path: Path) -> tuple[List, List]:
    """Split a patch list into (items to keep, ``$patch: delete`` items)."""
    keep: List = []
    delete: List = []
    for item in items:
        if not isinstance(item, dict):
            raise e.bad_arg_type(e.MAP, item, path)
        (delete if item.get(DIRECTIVE) == DELETE else keep).append(item)
    return keep, delete


def validate_patch_with_set_order_list(patch_list: List, order: List, merge_key: str, path: Path) -> None:
    """Every item of the patch list must appear in ``$setElementOrder``, in the same relative order."""
    if not order or not patch_list:
        return
    items = extract_to_delete_items(patch_list, path)[0] if merge_key else patch_list
    p = o = 0
    while p < len(items) and o < len(order):
        if isinstance(items[p], dict) and DIRECTIVE in items[p]:
            p += 1
            continue
        if merge_key_value_equal(items[p], order[o], merge_key, path):
            p += 1
        o += 1
    if p < len(items) and o >= len(order):
        raise PatchError(
            f"the order in patch list:\n{e.go_v(patch_list)}\n doesn't match $setElementOrder list:\n{e.go_v(order)}",
            path,
        )


def partition(merged: List, present_in: List, merge_key: str, path: Path) -> tuple[List, List]:
    """Split ``merged`` into (items named in ``present_in``, server-only items)."""
    named: List = []
    server_only: List = []
    for item in merged:
        if merge_key:
            if not isinstance(item, dict):
                raise e.bad_arg_type(e.MAP, item, path)
            if merge_key not in item:
                raise e.no_merge_key(item, merge_key, path)
            found = find_map(present_in, merge_key, item[merge_key], path) >= 0
        else:
            found = contains(present_in, item)
        (named if found else server_only).append(item)
    return named, server_only


def normalize_element_order(
    patch_items: List,
    server_only: List,
    patch_order: List,
    server_order: List,
    merge_key: str,
    is_map: bool,
    path: Path,
) -> List:
    """Sort each run by its own order, then interleave them (see the module docstring)."""
    patch_items = _normalize_slice_order(patch_items, patch_order, merge_key, is_map, path)
    server_only = _normalize_slice_order(server_only, server_order, merge_key, is_map, path)
    return _merge_sorted(server_only, patch_items, server_order, merge_key, is_map)


def _normalize_slice_order(items: List, order: List, merge_key: str, is_map: bool, path: Path) -> List:
    deleted: List = []
    if is_map:
        for item in [*items, *order]:
            if not isinstance(item, dict):
                raise e.bad_arg_type(e.MAP, item, path)
            if merge_key not in item:
                raise e.no_merge_key(item, merge_key, path)
        items, deleted = extract_to_delete_items(items, path)

    def less(a: Any, b: Any) -> bool:
        ia, ib = index(order, a, merge_key, is_map), index(order, b, merge_key, is_map)
        return ia < ib if ia >= 0 and ib >= 0 else True

    return _stable_sort(items, less) + deleted


def _stable_sort(items: List, less: Callable[[Any, Any], bool]) -> List:
    """Go's ``sort.SliceStable`` on a short list: an insertion sort.

    The comparator above is not a strict order when an item is missing from the
    order list (it then says "less" both ways), so the exact algorithm matters;
    Go uses this insertion sort for runs of up to 20 items, and for longer lists
    any stable sort gives the same answer whenever the comparator is consistent.
    """
    out = list(items)
    for i in range(1, len(out)):
        j = i
        while j > 0 and less(out[j], out[j - 1]):
            out[j], out[j - 1] = out[j - 1], out[j]
            j -= 1
    return out


def _merge_sorted(left: List, right: List, server_order: List, merge_key: str, is_map: bool) -> List:
    """Interleave server-only items (``left``) into the patch items (``right``) by live order."""
    out: List = []
    i = j = 0
    while i < len(left) and j < len(right):
        li = index(server_order, left[i], merge_key, is_map)
        ri = index(server_order, right[j], merge_key, is_map)
        if li >= 0 and ri >= 0 and li < ri:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    return out + left[i:] + right[j:]


def deduplicate_scalars(items: List) -> List:
    """Drop repeated scalars exactly as Go's "clever algorithm" does (it moves the last item into the hole)."""
    s = list(items)
    length = len(s) - 1
    i = 0
    while i < length:
        j = i + 1
        while j <= length:
            if go_equal(s[i], s[j]):
                s[j] = s[length]
                s = s[:length]
                length -= 1
                j -= 1
            j += 1
        i += 1
    return s


def delete_from_slice(current: List, to_delete: List) -> List:
    """``$deleteFromPrimitiveList``: every occurrence of every listed value goes."""
    return [v for v in current if not contains(to_delete, v)]
