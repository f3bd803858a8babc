"""Conversion between API versions that share one storage: events.k8s.io/v1 and core v1 events.

Kubernetes stores each resource once, in one *storage version*, and converts on the
way in and out for every other version that serves it. Here only one pair needs that:
``events.k8s.io/v1`` Events cohabit with core ``v1`` Events under ``/registry/events/``
(kube-apiserver's ``AddCohabitatingResources``), stored in the core shape. The field
mapping is k8s pkg/apis/events/v1/conversion.go:

==========================  ==========================
events.k8s.io/v1            core v1
==========================  ==========================
regarding                   involvedObject
note                        message
reportingController         reportingComponent
deprecatedSource            source
deprecatedFirstTimestamp    firstTimestamp
deprecatedLastTimestamp     lastTimestamp
deprecatedCount             count
==========================  ==========================

The other fields (``eventTime``, ``series``, ``action``, ``reason``, ``related``,
``reportingInstance``, ``type``) keep their names.
"""

from __future__ import annotations

from typing import Any

Object = dict[str, Any]

_RENAMES = (
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
)
_SAME = ("metadata", "eventTime", "series", "action", "reason", "related", "reportingInstance", "type")


class Codec:
    """Identity: the API version is the storage version (every resource but one)."""

    def to_storage(self, obj: Object) -> Object:
        return obj

    def from_storage(self, obj: Object) -> Object:
        return obj


class EventsV1Codec(Codec):
    """events.k8s.io/v1 Event ⇄ core v1 Event (the storage version)."""

    def to_storage(self, obj: Object) -> Object:
        out: Object = {"apiVersion": "v1", "kind": "Event"}
        for new, old in _RENAMES:
            if new in obj:
                out[old] = obj[new]
        for key in _SAME:
            if key in obj:
                out[key] = obj[key]
        return out

    def from_storage(self, obj: Object) -> Object:
        out: Object = {"apiVersion": "events.k8s.io/v1", "kind": "Event"}
        for key in _SAME:
            if key in obj:
                out[key] = obj[key]
        out.setdefault("eventTime", None)
        for new, old in _RENAMES:
            if old in obj and obj[old] not in (None, "", 0, {}):
                out[new] = obj[old]
        return out


def codec_for(group: str, resource: str) -> Codec:
    if (group, resource) == ("events.k8s.io", "events"):
        return EventsV1Codec()
    return Codec()
