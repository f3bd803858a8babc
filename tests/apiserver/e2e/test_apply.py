"""Server-side apply and managedFields end to end, with the real kubectl and Python client.

``kubectl apply --server-side`` sends ``application/apply-patch+yaml`` with
``fieldManager=kubectl`` (or ``--field-manager``); the server merges, records
ownership in ``metadata.managedFields`` and answers conflicts with a 409 that
kubectl prints with its ``--force-conflicts`` advice. See apiserver/managedfields.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.rest import ApiException

from .conftest import Server


def configmap(**data: str) -> str:
    return json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": data})


def managers(server: Server, ns: str, kind: str = "configmap", name: str = "cfg") -> dict[str, Any]:
    """``managedFields`` by manager name, as ``kubectl get --show-managed-fields`` shows them."""
    obj = server.kubectl_json("get", kind, name, "-n", ns, "--show-managed-fields")
    return {e["manager"]: e for e in obj["metadata"].get("managedFields", [])}


def test_apply_creates_then_configures(server: Server, ns: str) -> None:
    out = server.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=configmap(a="1"))
    assert out.stdout.strip() == "configmap/cfg serverside-applied"
    entry = managers(server, ns)["kubectl"]
    assert entry["operation"] == "Apply"
    assert entry["fieldsV1"] == {"f:data": {"f:a": {}}}

    server.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=configmap(a="2", b="3"))
    assert server.kubectl_json("get", "configmap", "cfg", "-n", ns)["data"] == {"a": "2", "b": "3"}

    # A field the manager stops applying, and nobody else owns, is removed.
    server.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=configmap(a="2"))
    assert server.kubectl_json("get", "configmap", "cfg", "-n", ns)["data"] == {"a": "2"}


def test_conflict_then_force(server: Server, ns: str) -> None:
    server.kubectl("apply", "--server-side", "--field-manager=a", "-n", ns, "-f", "-", input=configmap(x="1"))
    # The same value is shared ownership, not a conflict.
    server.kubectl("apply", "--server-side", "--field-manager=b", "-n", ns, "-f", "-", input=configmap(x="1"))
    assert {"a", "b"} <= managers(server, ns).keys()

    out = server.kubectl(
        "apply",
        "--server-side",
        "--field-manager=b",
        "-n",
        ns,
        "-f",
        "-",
        input=configmap(x="2"),
        check=False,
    )
    assert out.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "a": .data.x' in out.stderr
    assert "--force-conflicts" in out.stderr

    server.kubectl(
        "apply", "--server-side", "--force-conflicts", "--field-manager=b", "-n", ns, "-f", "-",
        input=configmap(x="2"),
    )  # fmt: skip
    owners = managers(server, ns)
    assert "a" not in owners, "a owned only .data.x, which moved to b"
    assert owners["b"]["fieldsV1"] == {"f:data": {"f:x": {}}}
    assert server.kubectl_json("get", "configmap", "cfg", "-n", ns)["data"] == {"x": "2"}


def test_conflict_with_an_updater(server: Server, ns: str) -> None:
    server.kubectl("create", "-n", ns, "-f", "-", input=configmap(a="1"))
    out = server.kubectl(
        "apply",
        "--server-side",
        "--field-manager=ssa",
        "-n",
        ns,
        "-f",
        "-",
        input=configmap(a="2"),
        check=False,
    )
    assert 'conflict with "kubectl-create" using v1: .data.a' in out.stderr
    status = server.http().patch(
        f"/api/v1/namespaces/{ns}/configmaps/cfg",
        params={"fieldManager": "ssa"},
        content=configmap(a="2"),
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert status.status_code == 409
    assert status.json()["reason"] == "Conflict"
    assert status.json()["details"]["causes"] == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl-create" using v1',
            "field": ".data.a",
        }
    ]


def test_client_side_then_server_side_apply(server: Server, ns: str) -> None:
    server.kubectl("apply", "-n", ns, "-f", "-", input=configmap(a="1"))
    assert managers(server, ns)["kubectl-client-side-apply"]["operation"] == "Update"
    # kubectl may take over fields whose value still matches last-applied-configuration.
    server.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=configmap(a="2"))
    obj = server.kubectl_json("get", "configmap", "cfg", "-n", ns)
    assert obj["data"] == {"a": "2"}
    last = json.loads(obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
    assert last["data"] == {"a": "2"}
    assert managers(server, ns)["kubectl"]["operation"] == "Apply"


def test_missing_field_manager_is_invalid(server: Server, ns: str) -> None:
    r = server.http().patch(
        f"/api/v1/namespaces/{ns}/configmaps/cfg",
        content=configmap(a="1"),
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert r.status_code == 422
    assert r.json()["message"] == (
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch'
    )


def test_python_client_apply(server: Server, ns: str) -> None:
    core = server.core()
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "py"}, "data": {"k": "v"}}
    created = core.patch_namespaced_config_map(
        "py", ns, body, field_manager="py-apply", _content_type="application/apply-patch+yaml"
    )
    assert created.data == {"k": "v"}
    [entry] = created.metadata.managed_fields
    assert (entry.manager, entry.operation, entry.fields_v1) == ("py-apply", "Apply", {"f:data": {"f:k": {}}})
    with pytest.raises(ApiException) as e:
        core.patch_namespaced_config_map("py", ns, body, _content_type="application/apply-patch+yaml")
    assert e.value.status == 422


def deployment(replicas: int) -> str:
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                },
            },
        }
    )


def test_every_write_keeps_managed_fields(server: Server, ns: str) -> None:
    server.kubectl("create", "-n", ns, "-f", "-", input=deployment(1))
    created = managers(server, ns, "deployment", "web")["kubectl-create"]
    assert created["operation"] == "Update" and created["apiVersion"] == "apps/v1"
    containers = created["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert containers['k:{"name":"c"}']["f:image"] == {}

    server.kubectl("label", "deployment", "web", "-n", ns, "tier=front")
    label = managers(server, ns, "deployment", "web")["kubectl-label"]
    assert label["fieldsV1"] == {"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}}

    server.kubectl("scale", "deployment", "web", "-n", ns, "--replicas=3")
    owners = managers(server, ns, "deployment", "web")
    scaler = next(e for e in owners.values() if e.get("subresource") == "scale")
    assert scaler["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in owners["kubectl-create"]["fieldsV1"]["f:spec"]

    # Applying a different replica count now conflicts with the scaler.
    out = server.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=deployment(5), check=False)
    assert 'with subresource "scale" using apps/v1: .spec.replicas' in out.stderr


def test_two_appliers_share_a_list_by_key(server: Server, ns: str) -> None:
    server.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=deployment(1))
    side = json.loads(deployment(1))
    side["spec"]["template"]["spec"]["containers"] = [{"name": "side", "image": "busybox"}]
    server.kubectl(
        "apply", "--server-side", "--field-manager=sidecar", "-n", ns, "-f", "-", input=json.dumps(side)
    )

    def images() -> dict[str, str]:
        obj = server.kubectl_json("get", "deployment", "web", "-n", ns)
        return {c["name"]: c["image"] for c in obj["spec"]["template"]["spec"]["containers"]}

    assert images() == {"c": "nginx", "side": "busybox"}
    # Dry run answers with the result and changes nothing.
    out = server.kubectl(
        "apply", "--server-side", "--dry-run=server", "--field-manager=sidecar", "-n", ns, "-f", "-",
        input=json.dumps(side).replace("busybox", "busybox:2"),
    )  # fmt: skip
    assert "(server dry run)" in out.stdout
    assert images() == {"c": "nginx", "side": "busybox"}
    # The sidecar manager drops its container: it goes, the other one stays.
    side["spec"]["template"]["spec"]["containers"] = []
    server.kubectl(
        "apply", "--server-side", "--field-manager=sidecar", "-n", ns, "-f", "-", input=json.dumps(side)
    )
    assert images() == {"c": "nginx"}


def test_status_apply_records_the_subresource(server: Server, ns: str) -> None:
    server.kubectl("apply", "--server-side", "-n", ns, "-f", "-", input=deployment(1))
    status = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "status": {"replicas": 0},
    }
    server.kubectl(
        "apply", "--server-side", "--subresource=status", "--field-manager=ctl", "-n", ns, "-f", "-",
        input=json.dumps(status),
    )  # fmt: skip
    entry = managers(server, ns, "deployment", "web")["ctl"]
    assert (entry["operation"], entry["subresource"]) == ("Apply", "status")
    assert entry["fieldsV1"] == {"f:status": {"f:replicas": {}}}
