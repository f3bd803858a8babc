"""Ownership bookkeeping for one write: who owns what afterwards, and who objects.

Two operations, as in sigs.k8s.io/structured-merge-diff/merge/update.go:

* :func:`update` (PUT, PATCH, POST, any non-apply write): compare the old and the
  new object. The writer gains every field it added or modified; every *other*
  manager loses the fields that changed under it (it no longer decides their
  value) and the fields that were removed. Nobody is ever refused.
* :func:`apply` (server-side apply): merge the configuration into the live
  object; the applier now owns exactly the fields of its configuration. Fields it
  applied last time, left out now and owned by no one else are removed (the
  "prune"). If the merge changed a field another manager owns, that is a
  conflict: the apply fails with every conflict listed, unless ``force`` is set,
  in which case the other managers lose those fields.

Both take objects *with* metadata; the fields only the server sets (name,
uid, resourceVersion...) are never owned by anyone (internal/stripmeta.go).
``ignored`` are the fields a write may not own, e.g. ``.status`` for a write to
the main resource (the strategy's reset fields, GetResetFields upstream).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from apiserver.schema import Schema

from .fieldpath import EMPTY, FieldSet, Path, recursive_difference, with_ancestors
from .managers import APPLY, Entry, Managed, ManagerId
from .merge import merge, remove
from .typed import Comparison, compare, to_field_set

#: Set by the server alone: never owned (internal/stripmeta.go).
_STRIPPED_NODES = frozenset({("f:apiVersion",), ("f:kind",), ("f:metadata",)})
_STRIPPED_TREES = frozenset(
    ("f:metadata", f"f:{name}")
    for name in (
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    )
)


def strip(fields: FieldSet) -> FieldSet:
    return recursive_difference(fields - _STRIPPED_NODES, _STRIPPED_TREES)


def _without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or "managedFields" not in meta:
        return obj
    return {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}


@dataclass
class Conflicts(Exception):
    """Fields the apply would change that other managers own: ``[(owner, path), ...]``."""

    conflicts: list[tuple[Entry, Path]]


def _compare(
    old: dict[str, Any], new: dict[str, Any], schema: Schema | None, ignored: FieldSet
) -> Comparison:
    cmp = compare(_without_managed_fields(old), _without_managed_fields(new), schema)
    unowned = _STRIPPED_TREES | ignored  # strip() and then ignored, in one pass
    return Comparison(
        added=set(recursive_difference(frozenset(cmp.added - _STRIPPED_NODES), unowned)),
        modified=set(recursive_difference(frozenset(cmp.modified - _STRIPPED_NODES), unowned)),
        removed=set(recursive_difference(frozenset(cmp.removed - _STRIPPED_NODES), unowned)),
    )


def _settle(cmp: Comparison, managed: Managed, writer: ManagerId, *, force: bool) -> Managed:
    """Take changed and removed fields away from everyone but ``writer`` (update.go update)."""
    changed = cmp.changed()
    removed = frozenset(cmp.removed)
    conflicts = [
        (entry, path)
        for mid, entry in sorted(managed.items())
        if mid != writer
        for path in sorted(entry.fields & changed)
    ]
    if conflicts and not force:
        raise Conflicts(conflicts)
    out = {}
    for mid, entry in managed.items():
        fields = entry.fields if mid == writer else entry.fields - changed - removed
        if fields:
            out[mid] = replace(entry, fields=fields)
    return out


def update(
    old: dict[str, Any],
    new: dict[str, Any],
    managed: Managed,
    writer: Entry,
    schema: Schema | None,
    ignored: FieldSet = EMPTY,
) -> Managed:
    """Ownership after a non-apply write by ``writer`` (its ``fields`` are ignored).

    The writer's entry keeps its old fields, gains what changed and gets
    ``writer.time``; when it changed nothing its entry is left as it was
    (internal/managedfieldsupdater.go).
    """
    cmp = _compare(old, new, schema, ignored)
    out = _settle(cmp, managed, writer.id, force=True)
    gained = cmp.changed()
    previous = out.get(writer.id)
    if gained:
        base = previous.fields if previous else EMPTY
        out[writer.id] = replace(writer, fields=(base | gained) - frozenset(cmp.removed))
    elif previous is not None:
        out[writer.id] = replace(previous, fields=previous.fields - frozenset(cmp.removed))
    return {mid: e for mid, e in out.items() if e.fields}


def apply(
    live: dict[str, Any],
    config: dict[str, Any],
    managed: Managed,
    applier: Entry,
    schema: Schema | None,
    *,
    force: bool,
    ignored: FieldSet = EMPTY,
) -> tuple[dict[str, Any], Managed]:
    """Server-side apply of ``config`` by ``applier``: the new object and its owners.

    Raises :class:`Conflicts` when another manager owns a field the apply changes
    and ``force`` is false.
    """
    assert applier.operation == APPLY
    config = _without_managed_fields(config)
    merged = merge(live, config, schema)
    last = managed[applier.id].fields if applier.id in managed else EMPTY
    applied = recursive_difference(strip(to_field_set(config, schema)), ignored)
    managed = {**managed, applier.id: replace(applier, fields=applied)}
    merged = _prune(merged, managed, last)
    cmp = _compare(live, merged, schema, ignored)
    return merged, _settle(cmp, managed, applier.id, force=force)


def _prune(merged: dict[str, Any], managed: Managed, last: FieldSet) -> dict[str, Any]:
    """Remove what the applier applied last time, no longer applies and nobody else owns.

    A field is kept while any manager owns it or anything below it (so a list
    item stays while another manager owns one of its fields).
    """
    if not last:
        return merged
    owned = with_ancestors(f for e in managed.values() for f in e.fields)
    doomed = frozenset(p for p in last if p not in owned)
    return remove(merged, doomed) if doomed else merged
