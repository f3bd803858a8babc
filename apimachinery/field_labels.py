"""Which fields a field selector may name, per kind, and each object's field values.

Field selectors are not free-form JSON paths: each kind declares a short list of
*field labels* (``spec.nodeName`` for pods, ``involvedObject.name`` for events,
...). The API server first *converts* every label in the request, rejecting
unknown ones (400 BadRequest), then matches the selector against the object's
*field set*, a flat ``{label: string value}`` dict computed per object.

Kinds without a registered list accept only ``metadata.name`` and
``metadata.namespace``, and reject anything else with a different message.

Mirrors: k8s pkg/apis/core/v1/conversion.go (AddFieldLabelConversionFunc for Pod,
Node, ReplicationController, Event, Namespace, Secret, Service),
pkg/apis/batch/v1/conversion.go (Job), apimachinery/pkg/runtime/conversion.go
(DefaultMetaV1FieldSelectorConversion), and the field sets of
pkg/registry/*/*/strategy.go (ToSelectableFields / GetAttrs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from apimachinery.goformat import go_quote
from apimachinery.selectors import FieldSelector, SelectorError

GroupKind = tuple[str, str]  # (API group, Kind); the core group is ""

_EVENT_LABELS: Final = frozenset(
    {
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
        "metadata.namespace",
        "metadata.name",
    }
)

# The labels each kind accepts, exactly as its conversion function lists them.
FIELD_LABELS: Final[dict[GroupKind, frozenset[str]]] = {
    ("", "Pod"): frozenset(
        {
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        }
    ),
    ("", "Node"): frozenset({"metadata.name", "spec.unschedulable"}),
    ("", "ReplicationController"): frozenset({"metadata.name", "metadata.namespace", "status.replicas"}),
    ("", "Event"): _EVENT_LABELS,
    ("events.k8s.io", "Event"): _EVENT_LABELS,
    ("", "Namespace"): frozenset({"status.phase", "metadata.name"}),
    ("", "Secret"): frozenset({"type", "metadata.namespace", "metadata.name"}),
    ("", "Service"): frozenset({"metadata.namespace", "metadata.name", "spec.clusterIP", "spec.type"}),
    ("apps", "ReplicaSet"): frozenset({"metadata.name", "metadata.namespace", "status.replicas"}),
    ("batch", "Job"): frozenset({"metadata.name", "metadata.namespace", "status.successful"}),
}

# Old names still accepted and rewritten (pods: "spec.host" from pre-1.0 clients).
_ALIASES: Final[dict[GroupKind, dict[str, str]]] = {("", "Pod"): {"spec.host": "spec.nodeName"}}


def convert_field_label(group: str, kind: str, label: str) -> str:
    """Return the canonical label, or raise ``SelectorError`` with upstream's message."""
    gk = (group, kind)
    if label in _ALIASES.get(gk, {}):
        return _ALIASES[gk][label]
    allowed = FIELD_LABELS.get(gk)
    if allowed is None:
        if label in ("metadata.name", "metadata.namespace"):
            return label
        raise SelectorError(
            f'{go_quote(label)} is not a known field selector: only "metadata.name", "metadata.namespace"'
        )
    if label in allowed:
        return label
    if gk == ("batch", "Job"):
        raise SelectorError(f"field label {go_quote(label)} not supported for batchv1.Job")
    raise SelectorError(f"field label not supported: {label}")


def convert_field_selector(group: str, kind: str, selector: FieldSelector) -> FieldSelector:
    """Check and canonicalise every label of a parsed selector for this kind."""
    return selector.transform(lambda label, value: (convert_field_label(group, kind, label), value))


# --- field sets -----------------------------------------------------------------------


def _get(obj: Mapping[str, Any], dotted: str) -> Any:
    value: Any = obj
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _text(value: Any) -> str:
    """Render a JSON value as Go's field set does: bools ``true``/``false``, numbers in decimal."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _meta_fields(obj: Mapping[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata") or {}
    return {"metadata.name": meta.get("name", ""), "metadata.namespace": meta.get("namespace", "")}


def _pod_fields(pod: Mapping[str, Any]) -> dict[str, str]:
    pod_ips = _get(pod, "status.podIPs") or []
    first_ip = pod_ips[0].get("ip", "") if pod_ips else _text(_get(pod, "status.podIP"))
    return {
        "spec.nodeName": _text(_get(pod, "spec.nodeName")),
        "spec.restartPolicy": _text(_get(pod, "spec.restartPolicy")),
        "spec.schedulerName": _text(_get(pod, "spec.schedulerName")),
        "spec.serviceAccountName": _text(_get(pod, "spec.serviceAccountName")),
        "spec.hostNetwork": _text(bool(_get(pod, "spec.hostNetwork"))),
        "status.phase": _text(_get(pod, "status.phase")),
        "status.podIP": first_ip,
        "status.podIPs": first_ip,
        "status.nominatedNodeName": _text(_get(pod, "status.nominatedNodeName")),
    }


def _event_fields(event: Mapping[str, Any]) -> dict[str, str]:
    # core/v1 calls it involvedObject; events.k8s.io/v1 calls the same thing regarding.
    ref = event.get("involvedObject") or event.get("regarding") or {}
    source = _text(_get(event, "source.component") or _get(event, "deprecatedSource.component"))
    fields = {f"involvedObject.{k}": _text(ref.get(k)) for k in
              ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")}  # fmt: skip
    reporting = _text(event.get("reportingComponent") or event.get("reportingController"))
    fields.update(
        reason=_text(event.get("reason")),
        reportingComponent=reporting,
        source=source or reporting,
        type=_text(event.get("type")),
    )
    return fields


def _paths(*dotted: str) -> Callable[[Mapping[str, Any]], dict[str, str]]:
    return lambda obj: {p: _text(_get(obj, p)) for p in dotted}


_SPECIFIC_FIELDS: Final[dict[GroupKind, Callable[[Mapping[str, Any]], dict[str, str]]]] = {
    ("", "Pod"): _pod_fields,
    ("", "Node"): lambda node: {"spec.unschedulable": _text(bool(_get(node, "spec.unschedulable")))},
    ("", "ReplicationController"): lambda rc: {"status.replicas": _text(_get(rc, "status.replicas") or 0)},
    ("", "Event"): _event_fields,
    ("events.k8s.io", "Event"): _event_fields,
    ("", "Namespace"): _paths("status.phase"),
    ("", "Secret"): _paths("type"),
    ("", "Service"): _paths("spec.clusterIP", "spec.type"),
    ("apps", "ReplicaSet"): lambda rs: {"status.replicas": _text(_get(rs, "status.replicas") or 0)},
    ("batch", "Job"): lambda job: {"status.successful": _text(_get(job, "status.successful") or 0)},
}


def object_fields(group: str, kind: str, obj: Mapping[str, Any]) -> dict[str, str]:
    """The field set a field selector is matched against (the kind's ``GetAttrs``)."""
    fields = _meta_fields(obj)
    specific = _SPECIFIC_FIELDS.get((group, kind))
    if specific is not None:
        fields.update(specific(obj))
    return fields
