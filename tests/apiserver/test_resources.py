"""The resource catalogue against what a real 1.32 cluster reports."""

from __future__ import annotations

import pytest

from apiserver import resources
from apiserver.resources import ALL_VERBS, RESOURCES

# (group, resource) -> (kind, shortNames, namespaced), as `kubectl api-resources` prints them.
API_RESOURCES = {
    ("", "bindings"): ("Binding", (), True),
    ("", "configmaps"): ("ConfigMap", ("cm",), True),
    ("", "endpoints"): ("Endpoints", ("ep",), True),
    ("", "events"): ("Event", ("ev",), True),
    ("", "limitranges"): ("LimitRange", ("limits",), True),
    ("", "namespaces"): ("Namespace", ("ns",), False),
    ("", "nodes"): ("Node", ("no",), False),
    ("", "podtemplates"): ("PodTemplate", (), True),
    ("", "pods"): ("Pod", ("po",), True),
    ("", "replicationcontrollers"): ("ReplicationController", ("rc",), True),
    ("", "resourcequotas"): ("ResourceQuota", ("quota",), True),
    ("", "secrets"): ("Secret", (), True),
    ("", "serviceaccounts"): ("ServiceAccount", ("sa",), True),
    ("", "services"): ("Service", ("svc",), True),
    ("apps", "controllerrevisions"): ("ControllerRevision", (), True),
    ("apps", "daemonsets"): ("DaemonSet", ("ds",), True),
    ("apps", "deployments"): ("Deployment", ("deploy",), True),
    ("apps", "replicasets"): ("ReplicaSet", ("rs",), True),
    ("apps", "statefulsets"): ("StatefulSet", ("sts",), True),
    ("batch", "cronjobs"): ("CronJob", ("cj",), True),
    ("batch", "jobs"): ("Job", (), True),
    ("coordination.k8s.io", "leases"): ("Lease", (), True),
    ("discovery.k8s.io", "endpointslices"): ("EndpointSlice", (), True),
    ("events.k8s.io", "events"): ("Event", ("ev",), True),
    ("policy", "poddisruptionbudgets"): ("PodDisruptionBudget", ("pdb",), True),
}


def test_catalogue_matches_api_resources() -> None:
    got = {(r.group, r.resource): (r.kind, r.short_names, r.namespaced) for r in RESOURCES}
    assert got == API_RESOURCES


@pytest.mark.parametrize(
    ("group", "resource", "key"),
    [
        ("", "pods", "/registry/pods/default/web"),
        ("", "services", "/registry/services/specs/default/web"),
        ("", "endpoints", "/registry/services/endpoints/default/web"),
        ("", "replicationcontrollers", "/registry/controllers/default/web"),
        ("apps", "deployments", "/registry/deployments/default/web"),
        ("coordination.k8s.io", "leases", "/registry/leases/default/web"),
        ("events.k8s.io", "events", "/registry/events/default/web"),
        ("", "events", "/registry/events/default/web"),
    ],
    ids=lambda v: v or "core",
)
def test_storage_keys_follow_kube_apiserver(group: str, resource: str, key: str) -> None:
    info = resources.lookup(group, "v1", resource)
    assert info is not None
    assert info.storage_key("default", "web") == key


def test_cluster_scoped_keys_have_no_namespace() -> None:
    node = resources.lookup("", "v1", "nodes")
    assert node is not None
    assert node.storage_key(None, "n1") == "/registry/minions/n1"
    assert resources.lookup("", "v1", "namespaces").storage_key(None, "default") == (  # type: ignore[union-attr]
        "/registry/namespaces/default"
    )


def test_subresource_kinds() -> None:
    deploy = resources.lookup("apps", "v1", "deployments")
    pods = resources.lookup("", "v1", "pods")
    assert deploy is not None and pods is not None
    scale = deploy.subresource("scale")
    assert scale is not None and (scale.group, scale.version, scale.kind) == ("autoscaling", "v1", "Scale")
    eviction = pods.subresource("eviction")
    assert eviction is not None and (eviction.group, eviction.kind) == ("policy", "Eviction")
    assert pods.subresource("status").kind == "Pod"  # type: ignore[union-attr]
    assert pods.subresource("nope") is None


def test_all_category_is_what_kubectl_get_all_shows() -> None:
    in_all = {r.resource for r in RESOURCES if "all" in r.categories}
    assert in_all == {
        "pods",
        "services",
        "replicationcontrollers",
        "deployments",
        "replicasets",
        "statefulsets",
        "daemonsets",
        "jobs",
        "cronjobs",
    }


def test_lookups() -> None:
    assert resources.by_gvk("apps", "v1", "Deployment").resource == "deployments"  # type: ignore[union-attr]
    assert {r.group for r in resources.by_kind("Event")} == {"", "events.k8s.io"}
    assert resources.group_versions()[0] == "v1"
    assert "apps/v1" in resources.group_versions()
    assert resources.preferred_version("apps") == "v1"
    assert resources.preferred_version("nope") is None
    assert [r.resource for r in resources.resolve("deploy")] == ["deployments"]
    assert [r.resource for r in resources.resolve("pod")] == ["pods"]
    assert [r.group for r in resources.resolve("events.events.k8s.io")] == ["events.k8s.io"]
    assert resources.lookup("", "v1", "namespaces").verbs == tuple(  # type: ignore[union-attr]
        v for v in ALL_VERBS if v != "deletecollection"
    )


def test_paths() -> None:
    pods = resources.lookup("", "v1", "pods")
    deploy = resources.lookup("apps", "v1", "deployments")
    assert pods is not None and deploy is not None
    assert pods.collection_path("ns1") == "/api/v1/namespaces/ns1/pods"
    assert pods.collection_path() == "/api/v1/pods"
    assert deploy.collection_path("d") == "/apis/apps/v1/namespaces/d/deployments"
    assert deploy.list_kind == "DeploymentList"
