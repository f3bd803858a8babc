"""Which strategy each served resource uses: the one table to edit when adding a kind.

A resource not listed gets the default :class:`Strategy` (plus a ``/status`` split
when the catalogue gives it a status subresource), which is all that configmaps,
endpoints, podtemplates, limitranges, controllerrevisions... need.
"""

from __future__ import annotations

from apiserver.resources import ResourceInfo

from .core import (
    ConfigMapStrategy,
    EventStrategy,
    NamespaceStrategy,
    NodeStrategy,
    PodStrategy,
    ReplicationControllerStrategy,
    SecretStrategy,
    ServiceAccountStrategy,
    ServiceStrategy,
)
from .strategy import Strategy
from .workloads import (
    CronJobStrategy,
    DaemonSetStrategy,
    DeploymentStrategy,
    JobStrategy,
    ReplicaSetStrategy,
    StatefulSetStrategy,
)

STRATEGIES: dict[tuple[str, str], type[Strategy]] = {
    ("", "pods"): PodStrategy,
    ("", "namespaces"): NamespaceStrategy,
    ("", "nodes"): NodeStrategy,
    ("", "services"): ServiceStrategy,
    ("", "secrets"): SecretStrategy,
    ("", "configmaps"): ConfigMapStrategy,
    ("", "events"): EventStrategy,
    ("", "serviceaccounts"): ServiceAccountStrategy,
    ("", "replicationcontrollers"): ReplicationControllerStrategy,
    ("apps", "deployments"): DeploymentStrategy,
    ("apps", "replicasets"): ReplicaSetStrategy,
    ("apps", "statefulsets"): StatefulSetStrategy,
    ("apps", "daemonsets"): DaemonSetStrategy,
    ("batch", "jobs"): JobStrategy,
    ("batch", "cronjobs"): CronJobStrategy,
}


class _StatusOnly(Strategy):
    """A kind with a status subresource and nothing else special (PDBs, resourcequotas)."""

    has_status = True

    def initial_status(self, obj: dict[str, object]) -> dict[str, object] | None:
        return {}


class _CreateOnUpdate(Strategy):
    """Kinds whose PUT may create (leases, endpoints: kubelet and controllers rely on it)."""

    allow_create_on_update = True


_CREATE_ON_UPDATE = {("coordination.k8s.io", "leases"), ("", "endpoints"), ("events.k8s.io", "events")}


def strategy_for(info: ResourceInfo) -> Strategy:
    cls = STRATEGIES.get((info.group, info.resource))
    if cls is None:
        if (info.group, info.resource) in _CREATE_ON_UPDATE:
            cls = _CreateOnUpdate
        elif info.subresource("status") is not None:
            cls = _StatusOnly
        else:
            cls = Strategy
    return cls(info.kind, info.namespaced)
