"""``metadata.managedFields``: one entry per field manager, decoded and encoded.

Each entry says who (``manager``), how (``operation``: ``Apply`` for server-side
apply, ``Update`` for every other write), in which ``apiVersion`` and, for a
write to a subresource, which ``subresource``; ``fieldsV1`` is the set of fields
it owns and ``time`` when it last changed something::

    {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
     "time": "2026-11-23T22:00:51Z", "fieldsType": "FieldsV1",
     "fieldsV1": {"f:data": {".": {}, "f:a": {}}}}

Entries are told apart by an identifier built from manager, operation,
subresource and, for updaters only, apiVersion (an applier stays one entry
whichever version it applies in). The list is kept sorted as upstream writes
it: appliers first, then by time, manager, apiVersion and subresource.

Updaters are capped: past ``MAX_UPDATE_MANAGERS`` the oldest are merged into an
``ancient-changes`` entry, so a field written by hundreds of clients does not
grow the object without bound.

Mirrors k8s.io/apimachinery/pkg/util/managedfields/internal/managedfields.go
(``BuildManagerIdentifier``, ``decodeManagedFields``, ``sortEncodedManagedFields``)
and capmanagers.go.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from apimachinery.meta import format_time, parse_time

from .fieldpath import FieldSet, from_fields_v1, to_fields_v1

APPLY = "Apply"
UPDATE = "Update"
MAX_UPDATE_MANAGERS = 10
ANCIENT_CHANGES = "ancient-changes"

ManagerId = tuple[str, str, str, str]  # manager, operation, apiVersion (updaters only), subresource


@dataclass(frozen=True)
class Entry:
    manager: str
    operation: str
    api_version: str
    fields: FieldSet
    time: str | None = None
    subresource: str = ""

    @property
    def id(self) -> ManagerId:
        version = "" if self.operation == APPLY else self.api_version
        return (self.manager, self.operation, version, self.subresource)

    def describe(self) -> str:
        """How a conflict message names this manager (internal/conflict.go printManager)."""
        text = _go_quote(self.manager)
        if self.subresource:
            text += f" with subresource {_go_quote(self.subresource)}"
        if self.operation == UPDATE:
            text += f" using {self.api_version}"
        return text


Managed = dict[ManagerId, Entry]


def _go_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def decode(raw: Any) -> Managed:
    """Parse ``metadata.managedFields``; ValueError when it is not a valid list of entries."""
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise ValueError("managedFields must be a list")
    managed: Managed = {}
    for item in raw:
        if not isinstance(item, dict):
            raise ValueError("a managedFields entry must be an object")
        if item.get("fieldsType", "FieldsV1") != "FieldsV1":
            raise ValueError(f"unsupported fieldsType {item.get('fieldsType')!r}")
        operation = item.get("operation")
        if operation not in (APPLY, UPDATE):
            raise ValueError(f"unknown operation {operation!r}")
        entry = Entry(
            manager=str(item.get("manager", "")),
            operation=operation,
            api_version=str(item.get("apiVersion", "")),
            fields=from_fields_v1(item.get("fieldsV1") or {}),
            time=_canonical_time(item.get("time")),
            subresource=str(item.get("subresource", "")),
        )
        if entry.id in managed:
            raise ValueError(f"duplicate managedFields entry for {entry.describe()}")
        managed[entry.id] = entry
    return managed


def _canonical_time(value: Any) -> str | None:
    """Clients send times back as they parsed them (``+00:00``); store them as the server writes them."""
    if not isinstance(value, str) or not value:
        return None
    return _canonical_time_text(value)


@lru_cache(maxsize=1024)
def _canonical_time_text(value: str) -> str:
    # Remembered: the entries of one object, and of objects written in the same
    # second, carry the same few times.
    try:
        return format_time(parse_time(value))
    except ValueError:
        raise ValueError(f"invalid time {value!r}") from None


def encode(managed: Managed) -> list[dict[str, Any]]:
    """The wire list, in upstream's order; entries that own nothing are dropped."""
    out = []
    for e in sorted((e for e in managed.values() if e.fields), key=_order):
        item: dict[str, Any] = {"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version}
        if e.time:
            item["time"] = e.time
        item["fieldsType"] = "FieldsV1"
        item["fieldsV1"] = to_fields_v1(e.fields)
        if e.subresource:
            item["subresource"] = e.subresource
        out.append(item)
    return out


def _order(e: Entry) -> tuple[str, str, str, str, str]:
    # "Apply" < "Update"; RFC 3339 UTC timestamps sort as text.
    return (e.operation, e.time or "", e.manager, e.api_version, e.subresource)


def cap_updaters(managed: Managed, limit: int = MAX_UPDATE_MANAGERS) -> Managed:
    """Merge the oldest updaters into ``ancient-changes`` until at most ``limit`` remain."""
    out = dict(managed)
    oldest_first = sorted(
        (e for e in managed.values() if e.operation == UPDATE and e.manager != ANCIENT_CHANGES),
        key=lambda e: e.time or "",
    )
    for e in oldest_first:
        if sum(1 for x in out.values() if x.operation == UPDATE) <= limit:
            break
        del out[e.id]
        bucket = Entry(ANCIENT_CHANGES, UPDATE, e.api_version, frozenset(), e.time)
        previous = out.get(bucket.id, bucket)
        out[bucket.id] = replace(previous, fields=previous.fields | e.fields, time=e.time)
    return out
