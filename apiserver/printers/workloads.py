"""Printers for workload controllers and the other grouped kinds we serve.

apps (Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision), batch (Job,
CronJob), policy (PodDisruptionBudget), coordination (Lease) and discovery
(EndpointSlice). Each is the dict twin of the ``printFoo`` function of the same name in
``k8s.io/kubernetes/pkg/printers/internalversion/printers.go``.

Spec fields that the API defaults (``replicas: 1``) are read with that default, since
upstream prints the defaulted internal object.
"""

from __future__ import annotations

from datetime import datetime

from .columns import DOC, age_column, column, name_column, template_columns
from .format import (
    InvalidSelector,
    Obj,
    format_label_selector,
    format_labels,
    human_duration,
    int_or_string,
    label_selector_string,
    layout_container_cells,
    list_with_more,
    parse_time,
    print_bool_ptr,
    translate_timestamp_since,
)
from .printer import Cells, Printer


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _age(obj: Obj, now: datetime) -> str:
    return translate_timestamp_since(_meta(obj).get("creationTimestamp"), now)


def _template_cells(template: Obj | None) -> tuple[str, str]:
    return layout_container_cells(((template or {}).get("spec") or {}).get("containers"))


# --- apps ---------------------------------------------------------------------------------


def deployment_cells(d: Obj, now: datetime) -> Cells:
    spec, status = d.get("spec") or {}, d.get("status") or {}
    try:
        selector = label_selector_string(spec.get("selector"))
    except InvalidSelector:
        selector = "<invalid>"
    names, images = _template_cells(spec.get("template"))
    return [
        _meta(d).get("name", ""),
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        _age(d, now),
        names,
        images,
        selector,
    ]


DEPLOYMENT_PRINTER = Printer(
    (
        name_column(),
        column("Ready", "Number of the pod with ready state"),
        column("Up-to-date", DOC["DeploymentStatus.updatedReplicas"]),
        column("Available", DOC["DeploymentStatus.availableReplicas"]),
        age_column(),
        *template_columns(DOC["DeploymentSpec.selector"]),
    ),
    deployment_cells,
)


def replica_set_cells(rs: Obj, now: datetime) -> Cells:
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    names, images = _template_cells(spec.get("template"))
    return [
        _meta(rs).get("name", ""),
        spec.get("replicas", 1),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        _age(rs, now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ]


REPLICA_SET_PRINTER = Printer(
    (
        name_column(),
        column("Desired", DOC["ReplicaSetSpec.replicas"], type="integer"),
        column("Current", DOC["ReplicaSetStatus.replicas"], type="integer"),
        column("Ready", DOC["ReplicaSetStatus.readyReplicas"], type="integer"),
        age_column(),
        *template_columns(DOC["ReplicaSetSpec.selector"]),
    ),
    replica_set_cells,
)


def stateful_set_cells(sts: Obj, now: datetime) -> Cells:
    spec, status = sts.get("spec") or {}, sts.get("status") or {}
    names, images = _template_cells(spec.get("template"))
    ready = f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}"
    return [_meta(sts).get("name", ""), ready, _age(sts, now), names, images]


STATEFUL_SET_PRINTER = Printer(
    (
        name_column(),
        column("Ready", "Number of the pod with ready state"),
        age_column(),
        *template_columns(None),
    ),
    stateful_set_cells,
)


def daemon_set_cells(ds: Obj, now: datetime) -> Cells:
    spec, status = ds.get("spec") or {}, ds.get("status") or {}
    template = spec.get("template") or {}
    names, images = _template_cells(template)
    return [
        _meta(ds).get("name", ""),
        status.get("desiredNumberScheduled", 0),
        status.get("currentNumberScheduled", 0),
        status.get("numberReady", 0),
        status.get("updatedNumberScheduled", 0),
        status.get("numberAvailable", 0),
        format_labels((template.get("spec") or {}).get("nodeSelector")),
        _age(ds, now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ]


DAEMON_SET_PRINTER = Printer(
    (
        name_column(),
        column("Desired", DOC["DaemonSetStatus.desiredNumberScheduled"], type="integer"),
        column("Current", DOC["DaemonSetStatus.currentNumberScheduled"], type="integer"),
        column("Ready", DOC["DaemonSetStatus.numberReady"], type="integer"),
        column("Up-to-date", DOC["DaemonSetStatus.updatedNumberScheduled"], type="integer"),
        column("Available", DOC["DaemonSetStatus.numberAvailable"], type="integer"),
        column("Node Selector", DOC["PodSpec.nodeSelector"]),
        age_column(),
        *template_columns(DOC["DaemonSetSpec.selector"]),
    ),
    daemon_set_cells,
)


def controller_of(obj: Obj) -> Obj | None:
    """``metav1.GetControllerOf``: the owner reference with ``controller: true``."""
    for ref in _meta(obj).get("ownerReferences") or []:
        if ref.get("controller") is True:
            return dict(ref)
    return None


def controller_revision_cells(rev: Obj, now: datetime) -> Cells:
    controller = "<none>"
    ref = controller_of(rev)
    if ref is not None:
        # formatResourceName(GroupKind, name, withKind=true): "daemonset.apps/web"
        api_version = str(ref.get("apiVersion", ""))
        group = api_version.split("/")[0] if "/" in api_version else ""
        kind = str(ref.get("kind", ""))
        group_kind = f"{kind}.{group}" if group else kind
        controller = f"{group_kind.lower()}/{ref.get('name', '')}" if group_kind else ref.get("name", "")
    return [_meta(rev).get("name", ""), controller, rev.get("revision", 0), _age(rev, now)]


CONTROLLER_REVISION_PRINTER = Printer(
    (
        name_column(),
        column("Controller", "Controller of the object"),
        column("Revision", DOC["ControllerRevision.revision"]),
        age_column(),
    ),
    controller_revision_cells,
)

# --- batch --------------------------------------------------------------------------------


def _job_condition(status: Obj, type_: str) -> bool:
    for condition in status.get("conditions") or []:
        if condition.get("type") == type_:
            return bool(condition.get("status") == "True")
    return False


def job_status(job: Obj) -> str:
    """The STATUS column (new in 1.30): the first of these that applies."""
    status = job.get("status") or {}
    if _job_condition(status, "Complete"):
        return "Complete"
    if _job_condition(status, "Failed"):
        return "Failed"
    if _meta(job).get("deletionTimestamp"):
        return "Terminating"
    if _job_condition(status, "Suspended"):
        return "Suspended"
    if _job_condition(status, "FailureTarget"):
        return "FailureTarget"
    return "Running"


def job_cells(job: Obj, now: datetime) -> Cells:
    spec, status = job.get("spec") or {}, job.get("status") or {}
    succeeded = status.get("succeeded", 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif (spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    started, finished = parse_time(status.get("startTime")), parse_time(status.get("completionTime"))
    duration = ""
    if started is not None:
        duration = human_duration((finished or now) - started)
    names, images = _template_cells(spec.get("template"))
    return [
        _meta(job).get("name", ""),
        job_status(job),
        completions,
        duration,
        _age(job, now),
        names,
        images,
        format_label_selector(spec.get("selector")),
    ]


JOB_PRINTER = Printer(
    (
        name_column(),
        column("Status", "Status of the job."),
        column("Completions", DOC["JobStatus.succeeded"]),
        column("Duration", "Time required to complete the job."),
        age_column(),
        *template_columns(DOC["JobSpec.selector"]),
    ),
    job_cells,
)


def cron_job_cells(cj: Obj, now: datetime) -> Cells:
    spec, status = cj.get("spec") or {}, cj.get("status") or {}
    last_schedule = "<none>"
    if status.get("lastScheduleTime"):
        last_schedule = translate_timestamp_since(status["lastScheduleTime"], now)
    job_spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    names, images = _template_cells(job_spec.get("template"))
    return [
        _meta(cj).get("name", ""),
        spec.get("schedule", ""),
        spec.get("timeZone") or "<none>",
        print_bool_ptr(spec.get("suspend")),
        len(status.get("active") or []),
        last_schedule,
        _age(cj, now),
        names,
        images,
        format_label_selector(job_spec.get("selector")),
    ]


CRON_JOB_PRINTER = Printer(
    (
        name_column(),
        column("Schedule", DOC["CronJobSpec.schedule"]),
        column("Timezone", DOC["CronJobSpec.timeZone"]),
        column("Suspend", DOC["CronJobSpec.suspend"], type="boolean"),
        column("Active", DOC["CronJobStatus.active"], type="integer"),
        column("Last Schedule", DOC["CronJobStatus.lastScheduleTime"]),
        age_column(),
        *template_columns(DOC["JobSpec.selector"]),
    ),
    cron_job_cells,
)

# --- policy, coordination, discovery --------------------------------------------------------


def pdb_cells(pdb: Obj, now: datetime) -> Cells:
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    min_available = spec.get("minAvailable")
    max_unavailable = spec.get("maxUnavailable")
    return [
        _meta(pdb).get("name", ""),
        int_or_string(min_available) if min_available is not None else "N/A",
        int_or_string(max_unavailable) if max_unavailable is not None else "N/A",
        status.get("disruptionsAllowed", 0),
        _age(pdb, now),
    ]


PDB_PRINTER = Printer(
    (
        name_column(),
        column("Min Available", "The minimum number of pods that must be available."),
        column("Max Unavailable", "The maximum number of pods that may be unavailable."),
        column(
            "Allowed Disruptions",
            "Calculated number of pods that may be disrupted at this time.",
            type="integer",
        ),
        age_column(),
    ),
    pdb_cells,
)

LEASE_PRINTER = Printer(
    (name_column(), column("Holder", DOC["LeaseSpec.holderIdentity"]), age_column()),
    lambda lease, now: [
        _meta(lease).get("name", ""),
        (lease.get("spec") or {}).get("holderIdentity") or "",
        _age(lease, now),
    ],
)


def format_discovery_ports(ports: list[Obj]) -> str:
    """``formatDiscoveryPorts``: port number, else port name, else ``*`` (all ports)."""
    shown = []
    for port in ports:
        if port.get("port") is not None:
            shown.append(str(port["port"]))
        elif port.get("name") is not None:
            shown.append(str(port["name"]))
        else:
            shown.append("*")
    return list_with_more(shown, len(ports))


def format_discovery_endpoints(endpoints: list[Obj]) -> str:
    """``formatDiscoveryEndpoints``: every address of every endpoint, three at most."""
    addresses = [a for e in endpoints for a in e.get("addresses") or []]
    return list_with_more(addresses, len(addresses))


def endpoint_slice_cells(es: Obj, now: datetime) -> Cells:
    return [
        _meta(es).get("name", ""),
        es.get("addressType", ""),
        format_discovery_ports(es.get("ports") or []),
        format_discovery_endpoints(es.get("endpoints") or []),
        _age(es, now),
    ]


ENDPOINT_SLICE_PRINTER = Printer(
    (
        name_column(),
        column("AddressType", DOC["EndpointSlice.addressType"]),
        column("Ports", DOC["EndpointSlice.ports"]),
        column("Endpoints", DOC["EndpointSlice.endpoints"]),
        age_column(),
    ),
    endpoint_slice_cells,
)
