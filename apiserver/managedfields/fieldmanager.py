"""The field manager: what the registry store and the PATCH handler call.

Every write keeps ``metadata.managedFields`` true, as the real server's
FieldManager does (k8s.io/apimachinery/pkg/util/managedfields/internal/
fieldmanager.go and the managers it chains):

* :func:`track_create` / :func:`track_update`: a non-apply write by ``manager``
  (``fieldManager``, or the User-Agent up to its first ``/``). A create is an
  update from the kind's zero object. An object that has never been tracked
  (no managedFields, skipnonapplied.go) stays untracked by updates.
* :func:`apply`: server-side apply, with upstream's extras for kubectl:
  an untracked object first gets its fields attributed to ``before-first-apply``
  (skipnonapplied.go); conflicts of manager ``kubectl`` that are only with
  fields still equal to the client-side ``last-applied-configuration`` are
  forced (lastappliedmanager.go, so a client-side-applied object can move to
  server-side apply); and that annotation, if present, is rewritten to the new
  configuration (lastappliedupdater.go).

Which ``managedFields`` count (internal/fieldmanager.go decodeLiveOrNew): the
request's, when it sends a non-empty list (clients may rewrite ownership, and
kubectl does when it migrates client-side apply to server-side apply); none at
all when it sends ``[]`` (a reset); otherwise the stored object's. A write to a
subresource always uses the stored object's.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from apimachinery import errors
from apimachinery.meta import now
from apiserver.schema import Schema, definition_for_gvk

from . import managers, updater
from .fieldpath import EMPTY, FieldSet, to_string
from .managers import APPLY, UPDATE, Entry, Managed
from .typed import compare, to_field_set, zero_object

Object = dict[str, Any]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
BEFORE_FIRST_APPLY = "before-first-apply"

_SPEC: FieldSet = frozenset({("f:spec",)})
_STATUS: FieldSet = frozenset({("f:status",)})


@dataclass(frozen=True)
class Target:
    """The kind being written and through which subresource ("" for the object itself)."""

    group: str
    version: str
    kind: str
    subresource: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def schema(self) -> Schema | None:
        return definition_for_gvk(self.group, self.version, self.kind)

    @property
    def ignored(self) -> FieldSet:
        """Fields this write may not own (the strategies' reset fields)."""
        return _SPEC if self.subresource == "status" else _STATUS

    def entry(self, manager: str, operation: str) -> Entry:
        return Entry(manager, operation, self.api_version, EMPTY, now(), self.subresource)


def _decode(raw: Any) -> Managed:
    try:
        return managers.decode(raw)
    except ValueError:
        return {}  # upstream logs and starts over rather than failing the write


def _set(obj: Object, managed: Managed) -> None:
    meta = obj.setdefault("metadata", {})
    encoded = managers.encode(managers.cap_updaters(managed))
    if encoded:
        meta["managedFields"] = encoded
    else:
        meta.pop("managedFields", None)


def track_create(obj: Object, manager: str, target: Target) -> None:
    """Record the creator as owner of every field it set (in place)."""
    track_update(zero_object(target.schema), obj, manager, target, created=True)


def track_update(old: Object, new: Object, manager: str, target: Target, *, created: bool = False) -> None:
    """Move ownership of what changed from ``old`` to ``new`` to ``manager`` (in place on ``new``)."""
    live = _decode((old.get("metadata") or {}).get("managedFields"))
    requested = (new.get("metadata") or {}).get("managedFields")
    if target.subresource or created or requested is None:
        managed = live
    elif requested == [] or requested == [{}]:
        managed = {}  # an explicit reset
    else:
        managed = _decode(requested) or live
    if not managed and not created:
        _set(new, {})
        return
    _set(new, updater.update(old, new, managed, target.entry(manager, UPDATE), target.schema, target.ignored))


def apply(live: Object, config: Object, manager: str, target: Target, *, force: bool) -> Object:
    """Server-side apply of ``config`` onto ``live``; the new object, managedFields set.

    Raises a 409 Conflict ``StatusError`` listing every conflict.
    """
    schema = target.schema
    managed = _decode((live.get("metadata") or {}).get("managedFields"))
    if not managed:
        first = target.entry(BEFORE_FIRST_APPLY, UPDATE)
        managed = updater.update(zero_object(schema), live, {}, first, schema, target.ignored)
    applier = target.entry(manager, APPLY)
    try:
        out, managed = updater.apply(
            live, config, managed, applier, schema, force=force, ignored=target.ignored
        )
    except updater.Conflicts as c:
        allowed = _allowed_by_last_applied(live, schema) if manager == "kubectl" else EMPTY
        if not all(path in allowed for _owner, path in c.conflicts):
            raise conflict_error(c.conflicts) from None
        out, managed = updater.apply(
            live, config, managed, applier, schema, force=True, ignored=target.ignored
        )
    annotations = (out.get("metadata") or {}).get("annotations") or {}
    if manager == "kubectl" and LAST_APPLIED in annotations:
        annotations[LAST_APPLIED] = _last_applied(config)
    _set(out, managed)
    return out


def _allowed_by_last_applied(live: Object, schema: Schema | None) -> FieldSet:
    """Fields of the client-side last-applied configuration that the live object still matches."""
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    try:
        last = json.loads(text) if text else None
    except ValueError:
        return EMPTY
    if not isinstance(last, dict):
        return EMPTY

    cmp = compare(last, live, schema)
    return to_field_set(last, schema) - cmp.modified - cmp.removed


def _last_applied(config: Object) -> str:
    """lastappliedupdater.go buildLastApplied: the configuration without the annotation itself."""
    obj = copy.deepcopy(config)
    annotations = (obj.get("metadata") or {}).get("annotations")
    if isinstance(annotations, dict):
        annotations.pop(LAST_APPLIED, None)
        if not annotations:
            obj["metadata"].pop("annotations")
    return json.dumps(obj, separators=(",", ":"))


def conflict_error(conflicts: list[tuple[Entry, Any]]) -> errors.StatusError:
    """409 with upstream's message and one ``FieldManagerConflict`` cause per field (conflict.go)."""
    causes: list[errors.StatusCause] = [
        {
            "reason": "FieldManagerConflict",
            "message": f"conflict with {owner.describe()}",
            "field": to_string(path),
        }
        for owner, path in conflicts
    ]
    if len(conflicts) == 1:
        owner, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {owner.describe()}: {to_string(path)}"
    else:
        lines: list[str] = []
        for described in sorted({owner.describe() for owner, _ in conflicts}):
            lines.append(f"conflicts with {described}:")
            lines.extend(f"- {to_string(p)}" for owner, p in conflicts if owner.describe() == described)
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.new_apply_conflict(causes, message)
