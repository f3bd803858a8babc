"""The resource catalogue: every resource this server serves, as plain data.

A Kubernetes API server is, at its core, a table. Each row names a resource
(``pods``), the group and version it lives in (``""``/``v1``), the kind of object
it holds (``Pod``), whether objects live in a namespace, the short names and
categories kubectl resolves (``po``, ``all``), the verbs it accepts, its
subresources (``pods/status``, ``pods/eviction``, ...) and where its objects sit
in etcd. Discovery (``/api``, ``/apis``), OpenAPI, request routing, the storage
layer and kubectl's name resolution are all views of this one table.

Upstream the table is not written down in one place: every kind's
``pkg/registry/<group>/<kind>/storage/storage.go`` contributes a REST storage
whose optional interfaces (``ShortNamesProvider``, ``CategoriesProvider``,
``rest.Creater``, ``rest.Watcher``, ...) the installer in
k8s.io/apiserver/pkg/endpoints/installer.go turns into verbs and discovery
entries. Here it is one literal list, with the values a real 1.32 cluster
reports in ``kubectl api-resources -o wide``.

Storage keys. kube-apiserver stores an object at
``/registry/<prefix>/<namespace>/<name>`` (no namespace segment for
cluster-scoped kinds). ``<prefix>`` is the plain resource name, **without** the
group, for every built-in group (``/registry/deployments/``,
``/registry/leases/``); only CRDs and aggregated APIs add the group. A few core
resources keep historical prefixes compiled into kube-apiserver
(``SpecialDefaultResourcePrefixes`` in
k8s.io/kubernetes/pkg/kubeapiserver/default_storage_factory_builder.go):
nodes are ``minions``, services ``services/specs``, endpoints
``services/endpoints``, replicationcontrollers ``controllers``. And
``events.k8s.io/v1`` events *cohabit* with core ``v1`` events: both are views of
the objects under ``/registry/events/`` (``AddCohabitatingResources``), so an
event written through one API is readable through the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

# The verb sets, named once. ``deletecollection`` is DELETE on the collection URL.
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
NO_COLLECTION_DELETE = ("create", "delete", "get", "list", "patch", "update", "watch")
GET_PATCH_UPDATE = ("get", "patch", "update")  # status, scale, ephemeralcontainers
CONNECT = ("create", "get")  # exec, attach, portforward: POST or GET upgraded to a stream
PROXY = ("create", "delete", "get", "patch", "update")  # every HTTP method, as discovery names them


@dataclass(frozen=True)
class SubresourceInfo:
    """One subresource (``pods/status``) and the kind its requests and responses carry.

    The kind is often the parent's own (``status``), sometimes another group's
    (``scale`` speaks ``autoscaling/v1 Scale``, ``eviction`` speaks
    ``policy/v1 Eviction``), sometimes an options type that only carries query
    parameters (``exec`` → ``PodExecOptions``).
    """

    name: str
    group: str
    version: str
    kind: str
    verbs: tuple[str, ...]


@dataclass(frozen=True)
class ResourceInfo:
    """One served resource: a row of ``kubectl api-resources -o wide``."""

    group: str  # "" is the core (legacy) group served under /api
    version: str
    resource: str  # the plural, lower-case, as it appears in URLs
    kind: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...]
    categories: tuple[str, ...]
    verbs: tuple[str, ...]
    subresources: tuple[SubresourceInfo, ...]
    storage_prefix: str  # ends with "/"; objects are at <prefix>[<namespace>/]<name>

    @property
    def group_version(self) -> str:
        """``v1`` for the core group, ``<group>/<version>`` otherwise (also the apiVersion)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def url_prefix(self) -> str:
        """The URL root of this resource's group-version: ``/api/v1`` or ``/apis/<group>/<version>``."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def collection_path(self, namespace: str | None = None) -> str:
        """The collection URL, namespaced when a namespace is given (``/api/v1/namespaces/ns/pods``)."""
        if self.namespaced and namespace is not None:
            return f"{self.url_prefix}/namespaces/{namespace}/{self.resource}"
        return f"{self.url_prefix}/{self.resource}"

    def subresource(self, name: str) -> SubresourceInfo | None:
        for sub in self.subresources:
            if sub.name == name:
                return sub
        return None

    def storage_key(self, namespace: str | None, name: str = "") -> str:
        """The etcd key of one object; with ``name=""`` the prefix of a namespace's objects."""
        if self.namespaced:
            if namespace is None:
                return self.storage_prefix  # every namespace: the whole resource
            return f"{self.storage_prefix}{namespace}/{name}"
        return f"{self.storage_prefix}{name}"


def _sub(name: str, kind: str, verbs: tuple[str, ...], gv: tuple[str, str] = ("", "v1")) -> SubresourceInfo:
    return SubresourceInfo(name=name, group=gv[0], version=gv[1], kind=kind, verbs=verbs)


def _status(kind: str, group: str = "", version: str = "v1") -> SubresourceInfo:
    return _sub("status", kind, GET_PATCH_UPDATE, (group, version))


SCALE = _sub("scale", "Scale", GET_PATCH_UPDATE, ("autoscaling", "v1"))


def _r(
    group: str,
    resource: str,
    kind: str,
    *,
    singular: str,
    namespaced: bool = True,
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    verbs: tuple[str, ...] = ALL_VERBS,
    subresources: tuple[SubresourceInfo, ...] = (),
    prefix: str | None = None,
    version: str = "v1",
) -> ResourceInfo:
    return ResourceInfo(
        group=group,
        version=version,
        resource=resource,
        kind=kind,
        singular=singular,
        namespaced=namespaced,
        short_names=short,
        categories=categories,
        verbs=verbs,
        subresources=tuple(sorted(subresources, key=lambda s: s.name)),
        storage_prefix=f"/registry/{prefix or resource}/",
    )


ALL = ("all",)
APPS, BATCH = "apps", "batch"

RESOURCES: tuple[ResourceInfo, ...] = (
    # ---- core, /api/v1 ----
    _r("", "bindings", "Binding", singular="binding", verbs=("create",)),
    _r("", "configmaps", "ConfigMap", singular="configmap", short=("cm",)),
    _r("", "endpoints", "Endpoints", singular="endpoints", short=("ep",), prefix="services/endpoints"),
    _r("", "events", "Event", singular="event", short=("ev",)),
    _r("", "limitranges", "LimitRange", singular="limitrange", short=("limits",)),
    _r(
        "",
        "namespaces",
        "Namespace",
        singular="namespace",
        namespaced=False,
        short=("ns",),
        verbs=NO_COLLECTION_DELETE,
        subresources=(_sub("finalize", "Namespace", ("update",)), _status("Namespace")),
    ),
    _r(
        "",
        "nodes",
        "Node",
        singular="node",
        namespaced=False,
        short=("no",),
        subresources=(_sub("proxy", "NodeProxyOptions", PROXY), _status("Node")),
        prefix="minions",
    ),
    _r("", "podtemplates", "PodTemplate", singular="podtemplate"),
    _r(
        "",
        "pods",
        "Pod",
        singular="pod",
        short=("po",),
        categories=ALL,
        subresources=(
            _sub("attach", "PodAttachOptions", CONNECT),
            _sub("binding", "Binding", ("create",)),
            _sub("ephemeralcontainers", "Pod", GET_PATCH_UPDATE),
            _sub("eviction", "Eviction", ("create",), ("policy", "v1")),
            _sub("exec", "PodExecOptions", CONNECT),
            _sub("log", "Pod", ("get",)),
            _sub("portforward", "PodPortForwardOptions", CONNECT),
            _sub("proxy", "PodProxyOptions", PROXY),
            _status("Pod"),
        ),
    ),
    _r(
        "",
        "replicationcontrollers",
        "ReplicationController",
        singular="replicationcontroller",
        short=("rc",),
        categories=ALL,
        subresources=(SCALE, _status("ReplicationController")),
        prefix="controllers",
    ),
    _r(
        "",
        "resourcequotas",
        "ResourceQuota",
        singular="resourcequota",
        short=("quota",),
        subresources=(_status("ResourceQuota"),),
    ),
    _r("", "secrets", "Secret", singular="secret"),
    _r("", "serviceaccounts", "ServiceAccount", singular="serviceaccount", short=("sa",)),
    _r(
        "",
        "services",
        "Service",
        singular="service",
        short=("svc",),
        categories=ALL,
        subresources=(_sub("proxy", "ServiceProxyOptions", PROXY), _status("Service")),
        prefix="services/specs",
    ),
    # ---- apps/v1 ----
    _r(APPS, "controllerrevisions", "ControllerRevision", singular="controllerrevision"),
    _r(
        APPS,
        "daemonsets",
        "DaemonSet",
        singular="daemonset",
        short=("ds",),
        categories=ALL,
        subresources=(_status("DaemonSet", APPS),),
    ),
    _r(
        APPS,
        "deployments",
        "Deployment",
        singular="deployment",
        short=("deploy",),
        categories=ALL,
        subresources=(SCALE, _status("Deployment", APPS)),
    ),
    _r(
        APPS,
        "replicasets",
        "ReplicaSet",
        singular="replicaset",
        short=("rs",),
        categories=ALL,
        subresources=(SCALE, _status("ReplicaSet", APPS)),
    ),
    _r(
        APPS,
        "statefulsets",
        "StatefulSet",
        singular="statefulset",
        short=("sts",),
        categories=ALL,
        subresources=(SCALE, _status("StatefulSet", APPS)),
    ),
    # ---- batch/v1 ----
    _r(
        BATCH,
        "cronjobs",
        "CronJob",
        singular="cronjob",
        short=("cj",),
        categories=ALL,
        subresources=(_status("CronJob", BATCH),),
    ),
    _r(BATCH, "jobs", "Job", singular="job", categories=ALL, subresources=(_status("Job", BATCH),)),
    # ---- the small groups ----
    _r("coordination.k8s.io", "leases", "Lease", singular="lease"),
    _r("discovery.k8s.io", "endpointslices", "EndpointSlice", singular="endpointslice"),
    # Same objects as core v1 events (cohabiting storage), in the newer events.k8s.io shape.
    _r("events.k8s.io", "events", "Event", singular="event", short=("ev",)),
    _r(
        "policy",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        singular="poddisruptionbudget",
        short=("pdb",),
        subresources=(_status("PodDisruptionBudget", "policy"),),
    ),
)

# Groups in the order kube-apiserver lists them in /apis: by the priorities in
# k8s.io/kubernetes/pkg/controlplane/apiserver/aggregator.go (apps 17800,
# events.k8s.io 17750, batch 17400, policy 17100, coordination.k8s.io 16500,
# discovery.k8s.io 16200). The core group is served separately, under /api.
GROUP_ORDER: tuple[str, ...] = (
    "apps",
    "events.k8s.io",
    "batch",
    "policy",
    "coordination.k8s.io",
    "discovery.k8s.io",
)

# Each group's versions, preferred first. Every group here serves exactly one.
GROUP_VERSIONS: dict[str, tuple[str, ...]] = {"": ("v1",), **{g: ("v1",) for g in GROUP_ORDER}}


@cache
def _by_gvr() -> dict[tuple[str, str, str], ResourceInfo]:
    return {(r.group, r.version, r.resource): r for r in RESOURCES}


@cache
def _by_gvk() -> dict[tuple[str, str, str], ResourceInfo]:
    return {(r.group, r.version, r.kind): r for r in RESOURCES}


def lookup(group: str, version: str, resource: str) -> ResourceInfo | None:
    """The resource served at ``/apis/<group>/<version>/<resource>`` (group ``""`` for /api/v1)."""
    return _by_gvr().get((group, version, resource))


def by_gvk(group: str, version: str, kind: str) -> ResourceInfo | None:
    """The resource whose objects have this group, version and kind."""
    return _by_gvk().get((group, version, kind))


def by_kind(kind: str) -> list[ResourceInfo]:
    """Every served resource of this kind, in any group (``Event`` has two)."""
    return [r for r in RESOURCES if r.kind == kind]


def resources_in(group: str, version: str) -> list[ResourceInfo]:
    """The resources of one group-version, sorted by name as discovery lists them."""
    return sorted(
        (r for r in RESOURCES if r.group == group and r.version == version), key=lambda r: r.resource
    )


def groups() -> list[str]:
    """The named (non-core) groups, in the order /apis lists them."""
    return list(GROUP_ORDER)


def versions(group: str) -> tuple[str, ...]:
    """A group's served versions, preferred first; empty for an unknown group."""
    return GROUP_VERSIONS.get(group, ())


def preferred_version(group: str) -> str | None:
    served = versions(group)
    return served[0] if served else None


def group_versions() -> list[str]:
    """Every served group-version as an apiVersion string: ``v1``, ``apps/v1``, ..."""
    gvs = list(versions(""))
    gvs += [f"{g}/{v}" for g in GROUP_ORDER for v in versions(g)]
    return gvs


def resolve(name: str) -> list[ResourceInfo]:
    """What kubectl's RESTMapper does with a user's word: plural, singular or short name.

    ``pods``, ``pod`` and ``po`` all resolve to pods; ``deploy.apps`` or
    ``deployments.apps`` narrow by group. More than one match means the name is
    ambiguous (``events``) and the caller picks by group priority.
    """
    word, _, group = name.lower().partition(".")
    return [
        r
        for r in RESOURCES
        if word in (r.resource, r.singular, *r.short_names) and (not group or r.group == group)
    ]
