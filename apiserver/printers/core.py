"""Printers for the core (``v1``) kinds other than pods.

Each ``*_cells`` function is the dict-based twin of a ``printFoo`` function in
``k8s.io/kubernetes/pkg/printers/internalversion/printers.go`` and each ``*_COLUMNS``
tuple the matching ``fooColumnDefinitions`` in its ``AddHandlers``. ``<none>``,
``<pending>`` and ``<unknown>`` appear exactly where upstream puts them.
"""

from __future__ import annotations

from datetime import datetime

from .columns import DOC, age_column, column, name_column, template_columns
from .format import (
    Obj,
    format_labels,
    join_host_port,
    layout_container_cells,
    translate_timestamp_since,
)
from .printer import Cells, Printer

# --- nodes -------------------------------------------------------------------------------

LABEL_NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
NODE_LABEL_ROLE = "kubernetes.io/role"


def find_node_roles(node: Obj) -> list[str]:
    """Roles come from ``node-role.kubernetes.io/<role>`` keys and ``kubernetes.io/role=<role>``."""
    roles = set()
    for key, value in ((node.get("metadata") or {}).get("labels") or {}).items():
        if key.startswith(LABEL_NODE_ROLE_PREFIX) and key[len(LABEL_NODE_ROLE_PREFIX) :]:
            roles.add(key[len(LABEL_NODE_ROLE_PREFIX) :])
        elif key == NODE_LABEL_ROLE and value:
            roles.add(value)
    return sorted(roles)


def node_status(node: Obj) -> str:
    """``Ready`` / ``NotReady`` / ``Unknown``, plus ``SchedulingDisabled`` when cordoned."""
    status = []
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            status = ["Ready" if condition.get("status") == "True" else "NotReady"]
    if not status:
        status = ["Unknown"]
    if (node.get("spec") or {}).get("unschedulable"):
        status.append("SchedulingDisabled")
    return ",".join(status)


def _node_address(node: Obj, type_: str) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == type_:
            return str(address.get("address", ""))
    return "<none>"


def node_cells(node: Obj, now: datetime) -> Cells:
    meta, info = node.get("metadata") or {}, (node.get("status") or {}).get("nodeInfo") or {}
    return [
        meta.get("name", ""),
        node_status(node),
        ",".join(find_node_roles(node)) or "<none>",
        translate_timestamp_since(meta.get("creationTimestamp"), now),
        info.get("kubeletVersion", ""),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


NODE_PRINTER = Printer(
    (
        name_column(),
        column("Status", "The status of the node"),
        column("Roles", "The roles of the node"),
        age_column(),
        column("Version", DOC["NodeSystemInfo.kubeletVersion"]),
        column("Internal-IP", DOC["NodeStatus.addresses"], priority=1),
        column("External-IP", DOC["NodeStatus.addresses"], priority=1),
        column("OS-Image", DOC["NodeSystemInfo.osImage"], priority=1),
        column("Kernel-Version", DOC["NodeSystemInfo.kernelVersion"], priority=1),
        column("Container-Runtime", DOC["NodeSystemInfo.containerRuntimeVersion"], priority=1),
    ),
    node_cells,
)

# --- services and endpoints ----------------------------------------------------------------

LOAD_BALANCER_WIDTH = 16


def load_balancer_status(status: Obj, wide: bool = True) -> str:
    """``loadBalancerStatusStringer``: sorted unique IPs/hostnames, clipped unless wide."""
    found = {i.get("ip") or i.get("hostname") for i in status.get("ingress") or []}
    text = ",".join(sorted(x for x in found if x))
    if not wide and len(text) > LOAD_BALANCER_WIDTH:
        text = text[: LOAD_BALANCER_WIDTH - 3] + "..."
    return text


def service_external_ip(svc: Obj, wide: bool = True) -> str:
    """``getServiceExternalIP``: what EXTERNAL-IP shows for each service type."""
    spec = svc.get("spec") or {}
    external_ips = list(spec.get("externalIPs") or [])
    kind = spec.get("type", "")
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external_ips) or "<none>"
    if kind == "LoadBalancer":
        lb = load_balancer_status((svc.get("status") or {}).get("loadBalancer") or {}, wide)
        if external_ips:
            return ",".join((lb.split(",") if lb else []) + external_ips)
        return lb or "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    return "<unknown>"


def make_port_string(ports: list[Obj]) -> str:
    """``makePortString``: ``80/TCP`` or ``80:30080/TCP`` with a node port."""
    pieces = []
    for port in ports:
        protocol = port.get("protocol", "TCP")
        if port.get("nodePort"):
            pieces.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            pieces.append(f"{port.get('port')}/{protocol}")
    return ",".join(pieces)


def service_cells(svc: Obj, now: datetime) -> Cells:
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    cluster_ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    return [
        meta.get("name", ""),
        spec.get("type", ""),
        cluster_ips[0] if cluster_ips else "<none>",
        service_external_ip(svc, wide=True),
        make_port_string(spec.get("ports") or []) or "<none>",
        translate_timestamp_since(meta.get("creationTimestamp"), now),
        format_labels(spec.get("selector")),
    ]


SERVICE_PRINTER = Printer(
    (
        name_column(),
        column("Type", DOC["ServiceSpec.type"]),
        column("Cluster-IP", DOC["ServiceSpec.clusterIP"]),
        column("External-IP", DOC["ServiceSpec.externalIPs"]),
        column("Port(s)", DOC["ServiceSpec.ports"]),
        age_column(),
        column("Selector", DOC["ServiceSpec.selector"], priority=1),
    ),
    service_cells,
)


def format_endpoints(endpoints: Obj, ports: set[str] | None = None, limit: int = 3) -> str:
    """``formatEndpoints``: up to three ``ip:port`` pairs then ``+ N more...``."""
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    count = 0
    for subset in subsets:
        addresses = [a.get("ip", "") for a in subset.get("addresses") or []]
        if not subset.get("ports"):
            # Headless services may have no ports: list bare IPs.
            count += len(addresses)
            shown.extend(addresses[: max(0, limit - len(shown))])
            continue
        for port in subset["ports"]:
            if ports is None or port.get("name", "") in ports:
                count += len(addresses)
                room = max(0, limit - len(shown))
                shown.extend(join_host_port(ip, port.get("port", 0)) for ip in addresses[:room])
    text = ",".join(shown)
    return f"{text} + {count - limit} more..." if count > limit else text


def endpoints_cells(obj: Obj, now: datetime) -> Cells:
    meta = obj.get("metadata") or {}
    return [
        meta.get("name", ""),
        format_endpoints(obj),
        translate_timestamp_since(meta.get("creationTimestamp"), now),
    ]


ENDPOINTS_PRINTER = Printer(
    (name_column(), column("Endpoints", DOC["Endpoints.subsets"]), age_column()), endpoints_cells
)

# --- simple namespaced kinds --------------------------------------------------------------


def _name_and_age(obj: Obj, now: datetime, *middle: object) -> Cells:
    meta = obj.get("metadata") or {}
    return [meta.get("name", ""), *middle, translate_timestamp_since(meta.get("creationTimestamp"), now)]


NAMESPACE_PRINTER = Printer(
    (name_column(), column("Status", "The status of the namespace"), age_column()),
    lambda ns, now: _name_and_age(ns, now, (ns.get("status") or {}).get("phase", "")),
)

CONFIGMAP_PRINTER = Printer(
    (name_column(), column("Data", DOC["ConfigMap.data"]), age_column()),
    lambda cm, now: _name_and_age(cm, now, len(cm.get("data") or {}) + len(cm.get("binaryData") or {})),
)

SECRET_PRINTER = Printer(
    (name_column(), column("Type", DOC["Secret.type"]), column("Data", DOC["Secret.data"]), age_column()),
    lambda s, now: _name_and_age(s, now, s.get("type", ""), len(s.get("data") or {})),
)

SERVICEACCOUNT_PRINTER = Printer(
    (name_column(), column("Secrets", DOC["ServiceAccount.secrets"]), age_column()),
    lambda sa, now: _name_and_age(sa, now, len(sa.get("secrets") or [])),
)

# --- events -------------------------------------------------------------------------------

# events.k8s.io/v1 renames core/v1 Event fields; both are served from one storage upstream,
# so they print identically. (k8s.io/kubernetes/pkg/apis/events/v1/conversion.go)
_EVENTS_V1_TO_CORE = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reportingController": "reportingComponent",
}


def as_core_event(event: Obj) -> Obj:
    """View an ``events.k8s.io/v1`` Event with its ``core/v1`` field names."""
    if not str(event.get("apiVersion", "")).startswith("events.k8s.io/"):
        return event
    return {_EVENTS_V1_TO_CORE.get(k, k): v for k, v in event.items()}


def format_event_source(event: Obj) -> str:
    """``formatEventSource``: ``component, host``, falling back to reportingComponent/Instance."""
    source = event.get("source") or {}
    component = source.get("component") or event.get("reportingComponent") or ""
    instance = source.get("host") or event.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else component


def event_cells(obj: Obj, now: datetime) -> Cells:
    event = as_core_event(obj)
    meta = event.get("metadata") or {}
    first_seen = translate_timestamp_since(event.get("firstTimestamp") or event.get("eventTime"), now)
    last_seen = (
        translate_timestamp_since(event["lastTimestamp"], now) if event.get("lastTimestamp") else first_seen
    )
    count = event.get("count", 0)
    if event.get("series") is not None:
        last_seen = translate_timestamp_since(event["series"].get("lastObservedTime"), now)
        count = event["series"].get("count", 0)
    elif count == 0:
        count = 1  # singleton events have no count in the new API
    involved = event.get("involvedObject") or {}
    target = str(involved.get("kind", "")).lower()
    if involved.get("name"):
        target = f"{target}/{involved['name']}"
    return [
        last_seen,
        event.get("type", ""),
        event.get("reason", ""),
        target,
        involved.get("fieldPath", ""),
        format_event_source(event),
        str(event.get("message", "")).strip(),
        first_seen,
        count,
        meta.get("name", ""),
    ]


EVENT_PRINTER = Printer(
    (
        column("Last Seen", DOC["Event.lastTimestamp"]),
        column("Type", DOC["Event.type"]),
        column("Reason", DOC["Event.reason"]),
        column("Object", DOC["Event.involvedObject"]),
        column("Subobject", DOC["ObjectReference.fieldPath"], priority=1),
        column("Source", DOC["Event.source"], priority=1),
        column("Message", DOC["Event.message"]),
        column("First Seen", DOC["Event.firstTimestamp"], priority=1),
        column("Count", DOC["Event.count"], priority=1),
        name_column(priority=1),
    ),
    event_cells,
)

# --- replication controllers, pod templates, quotas -----------------------------------------


def replication_controller_cells(rc: Obj, now: datetime) -> Cells:
    spec, status = rc.get("spec") or {}, rc.get("status") or {}
    template = spec.get("template") or {}
    names, images = layout_container_cells((template.get("spec") or {}).get("containers"))
    return [
        *_name_and_age(
            rc, now, spec.get("replicas", 1), status.get("replicas", 0), status.get("readyReplicas", 0)
        ),
        names,
        images,
        format_labels(spec.get("selector")),
    ]


REPLICATION_CONTROLLER_PRINTER = Printer(
    (
        name_column(),
        column("Desired", DOC["ReplicationControllerSpec.replicas"], type="integer"),
        column("Current", DOC["ReplicationControllerStatus.replicas"], type="integer"),
        column("Ready", DOC["ReplicationControllerStatus.readyReplicas"], type="integer"),
        age_column(),
        *template_columns(DOC["ReplicationControllerSpec.selector"]),
    ),
    replication_controller_cells,
)


def pod_template_cells(obj: Obj, now: datetime) -> Cells:
    template = obj.get("template") or {}
    names, images = layout_container_cells((template.get("spec") or {}).get("containers"))
    labels = (template.get("metadata") or {}).get("labels")
    return [(obj.get("metadata") or {}).get("name", ""), names, images, format_labels(labels)]


POD_TEMPLATE_PRINTER = Printer(
    (
        name_column(),
        column("Containers", "Names of each container in the template."),
        column("Images", "Images referenced by each container in the template."),
        column("Pod Labels", "The labels for the pod template."),
    ),
    pod_template_cells,
)


def resource_quota_cells(quota: Obj, now: datetime) -> Cells:
    """REQUEST and LIMIT: ``resource: used/hard`` for every hard limit, sorted by name."""
    status = quota.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        pieces = resource.split(".")
        target = limits if len(pieces) > 1 and pieces[0] == "limits" else requests
        target.append(f"{resource}: {used.get(resource, '0')}/{hard[resource]}")
    return _name_and_age(quota, now, ", ".join(requests), ", ".join(limits))


RESOURCE_QUOTA_PRINTER = Printer(
    (
        name_column(),
        column("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
        column(
            "Limit",
            "Limits control the maximum amount of cpu/memory that a container may use independent of "
            "contention on the node.",
        ),
        age_column(),
    ),
    resource_quota_cells,
)
