"""Server-side printing: turn objects into a ``meta.k8s.io/v1`` Table, as ``kubectl get`` asks.

kubectl sends ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io`` and prints the
answer verbatim: the server, not kubectl, decides the columns. Upstream this is the
``TableConvertor`` of each registry store (``pkg/printers/storage/storage.go`` over the
printers of ``pkg/printers/internalversion/printers.go``, or
``k8s.io/apiserver/pkg/registry/rest/table.go`` for kinds without a printer), followed
by ``asTable`` in ``k8s.io/apiserver/pkg/endpoints/handlers/response.go``, which
replaces each row's object according to ``?includeObject=``:

* ``None``: ``"object": null``;
* ``Metadata`` (the default): a ``PartialObjectMetadata`` carrying the full metadata
  (``kubectl get -A`` reads the NAMESPACE column and ``--show-labels`` the labels from it);
* ``Object``: the whole object (``kubectl get --sort-by`` sends this).

A watch in Table form (``kubectl get -w``) sends one single-row Table per event; only
the first carries ``columnDefinitions``, later ones have ``null`` there
(``watchEmbeddedEncoder.doEncode`` sets ``NoHeaders`` after the first encode).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from . import core, pods, workloads
from .columns import DOC, Column, column, name_column
from .format import Obj, rfc3339
from .printer import Printer

TABLE_API_VERSION = "meta.k8s.io/v1"
INCLUDE_OBJECT_VALUES = ("None", "Metadata", "Object")

# Qualified resource ("resource.group", bare for the core group) -> printer.
PRINTERS: dict[str, Printer] = {
    "pods": pods.POD_PRINTER,
    "nodes": core.NODE_PRINTER,
    "namespaces": core.NAMESPACE_PRINTER,
    "services": core.SERVICE_PRINTER,
    "endpoints": core.ENDPOINTS_PRINTER,
    "configmaps": core.CONFIGMAP_PRINTER,
    "secrets": core.SECRET_PRINTER,
    "serviceaccounts": core.SERVICEACCOUNT_PRINTER,
    "events": core.EVENT_PRINTER,
    "events.events.k8s.io": core.EVENT_PRINTER,
    "replicationcontrollers": core.REPLICATION_CONTROLLER_PRINTER,
    "podtemplates": core.POD_TEMPLATE_PRINTER,
    "resourcequotas": core.RESOURCE_QUOTA_PRINTER,
    "deployments.apps": workloads.DEPLOYMENT_PRINTER,
    "replicasets.apps": workloads.REPLICA_SET_PRINTER,
    "statefulsets.apps": workloads.STATEFUL_SET_PRINTER,
    "daemonsets.apps": workloads.DAEMON_SET_PRINTER,
    "controllerrevisions.apps": workloads.CONTROLLER_REVISION_PRINTER,
    "jobs.batch": workloads.JOB_PRINTER,
    "cronjobs.batch": workloads.CRON_JOB_PRINTER,
    "poddisruptionbudgets.policy": workloads.PDB_PRINTER,
    "leases.coordination.k8s.io": workloads.LEASE_PRINTER,
    "endpointslices.discovery.k8s.io": workloads.ENDPOINT_SLICE_PRINTER,
    # limitranges has no printer upstream either: its store uses the default convertor.
}

KIND_TO_RESOURCE: dict[str, str] = {
    "Pod": "pods",
    "Node": "nodes",
    "Namespace": "namespaces",
    "Service": "services",
    "Endpoints": "endpoints",
    "ConfigMap": "configmaps",
    "Secret": "secrets",
    "ServiceAccount": "serviceaccounts",
    "Event": "events",
    "ReplicationController": "replicationcontrollers",
    "PodTemplate": "podtemplates",
    "ResourceQuota": "resourcequotas",
    "LimitRange": "limitranges",
    "Deployment": "deployments.apps",
    "ReplicaSet": "replicasets.apps",
    "StatefulSet": "statefulsets.apps",
    "DaemonSet": "daemonsets.apps",
    "ControllerRevision": "controllerrevisions.apps",
    "Job": "jobs.batch",
    "CronJob": "cronjobs.batch",
    "PodDisruptionBudget": "poddisruptionbudgets.policy",
    "Lease": "leases.coordination.k8s.io",
    "EndpointSlice": "endpointslices.discovery.k8s.io",
}

_BY_BARE_RESOURCE = {key.split(".", 1)[0]: printer for key, printer in PRINTERS.items()}

# rest.defaultTableConvertor: what every kind without a printer gets (CRDs without
# additionalPrinterColumns, limitranges, ...). Note the "date" type and RFC3339 cell.
DEFAULT_PRINTER = Printer(
    (name_column(), column("Created At", DOC["ObjectMeta.creationTimestamp"], type="date")),
    lambda obj, now: [
        (obj.get("metadata") or {}).get("name", ""),
        rfc3339((obj.get("metadata") or {}).get("creationTimestamp")),
    ],
)


def printer_for(kind_or_resource: str) -> Printer:
    """Find a printer by Kind (``Deployment``), qualified resource (``deployments.apps``)
    or bare resource (``deployments``); anything else gets the default convertor."""
    key = KIND_TO_RESOURCE.get(kind_or_resource, kind_or_resource.lower())
    if key in PRINTERS:
        return PRINTERS[key]
    if "." not in key and key in _BY_BARE_RESOURCE:
        return _BY_BARE_RESOURCE[key]
    return DEFAULT_PRINTER


def column_definitions(kind_or_resource: str) -> list[Column]:
    """The header a Table for this kind carries (wide columns included, priority 1)."""
    return [dict(c) for c in printer_for(kind_or_resource).columns]


def check_include_object(include_object: str) -> str:
    """Validate ``?includeObject=``; an empty value means the default, Metadata.

    Raises ``ValueError`` with the real server's message, which a handler returns as
    a 400 BadRequest ``Status``.
    """
    if include_object == "":
        return "Metadata"
    if include_object not in INCLUDE_OBJECT_VALUES:
        raise ValueError(f"unrecognized includeObject value: {json.dumps(include_object)}")
    return include_object


def partial_object_metadata(obj: Obj, api_version: str = TABLE_API_VERSION) -> Obj:
    """``meta.AsPartialObjectMetadata``: just the object's metadata, as its own kind."""
    return {"kind": "PartialObjectMetadata", "apiVersion": api_version, "metadata": obj.get("metadata") or {}}


def _row(printer: Printer, obj: Obj, include_object: str, now: datetime, api_version: str) -> Obj:
    row: Obj = {"cells": printer.cells(obj, now)}
    conditions = printer.conditions(obj) if printer.conditions else []
    if conditions:
        row["conditions"] = conditions
    if include_object == "Object":
        row["object"] = obj
    elif include_object == "Metadata":
        row["object"] = partial_object_metadata(obj, api_version)
    else:
        row["object"] = None
    return row


def _table_metadata(list_meta: Obj | None) -> Obj:
    """``ListMeta`` with its omitempty fields dropped."""
    list_meta = list_meta or {}
    return {
        k: list_meta[k] for k in ("resourceVersion", "continue", "remainingItemCount") if list_meta.get(k)
    }


def to_table(
    kind_or_resource: str,
    objects: list[Obj],
    *,
    include_object: str = "Metadata",
    list_meta: Obj | None = None,
    now: datetime | None = None,
    include_headers: bool = True,
    api_version: str = TABLE_API_VERSION,
) -> Obj:
    """Render ``objects`` (a list's items, or ``[obj]`` for a GET) as a Table.

    ``list_meta`` supplies the Table's ``resourceVersion`` / ``continue`` /
    ``remainingItemCount`` (``kubectl get -w`` starts its watch from that
    resourceVersion). ``include_headers=False`` gives ``"columnDefinitions": null`` as
    in later watch events. ``api_version`` is ``meta.k8s.io/v1beta1`` if the client
    asked for that Table version. Objects are not mutated.
    """
    include_object = check_include_object(include_object)
    printer = printer_for(kind_or_resource)
    now = now or datetime.now(UTC)
    return {
        "kind": "Table",
        "apiVersion": api_version,
        "metadata": _table_metadata(list_meta),
        "columnDefinitions": [dict(c) for c in printer.columns] if include_headers else None,
        "rows": [_row(printer, obj, include_object, now, api_version) for obj in objects],
    }


def table_row_event(
    event_type: str,
    kind_or_resource: str,
    obj: Obj,
    *,
    include_headers: bool,
    include_object: str = "Metadata",
    now: datetime | None = None,
    api_version: str = TABLE_API_VERSION,
) -> dict[str, Any]:
    """One watch event in Table form: ``{"type": ..., "object": <one-row Table>}``.

    The caller passes ``include_headers=True`` for the first event it sends on a watch
    and ``False`` afterwards. A ``Status`` (the object of an ERROR event) passes through
    untouched, as upstream's ``doTransformObject`` does. The Table's resourceVersion is
    the object's, as the upstream convertor reads it from a single object.
    """
    if obj.get("kind") == "Status":
        return {"type": event_type, "object": obj}
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    table = to_table(
        kind_or_resource,
        [obj],
        include_object=include_object,
        list_meta={"resourceVersion": rv},
        now=now,
        include_headers=include_headers,
        api_version=api_version,
    )
    return {"type": event_type, "object": table}
