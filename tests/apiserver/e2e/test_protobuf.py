"""kubectl 1.32's protobuf request bodies, end to end.

Every ``kubectl create <kind> ...`` below POSTs ``application/vnd.kubernetes.protobuf``.
Each test also asks kubectl for the very same object as JSON (``--dry-run=client -o
json``), creates that through the JSON path under another name, and checks that
the server stored the same thing both ways.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.apiserver.protobuf.pb import MAGIC, envelope, field, meta, num

from .conftest import Server

PROTOBUF = "application/vnd.kubernetes.protobuf"

COMMANDS = [
    pytest.param("configmaps", ["configmap", "{name}", "--from-literal=a=1"], id="configmap"),
    pytest.param("secrets", ["secret", "generic", "{name}", "--from-literal=p=q"], id="secret"),
    pytest.param("namespaces", ["namespace", "{name}"], id="namespace"),
    pytest.param("deployments", ["deployment", "{name}", "--image=busybox", "--replicas=2"], id="deployment"),
    pytest.param(
        "deployments", ["deployment", "{name}", "--image=busybox", "--replicas=0"], id="deployment-0"
    ),
    pytest.param("jobs", ["job", "{name}", "--image=busybox"], id="job"),
    pytest.param(
        "cronjobs", ["cronjob", "{name}", "--image=busybox", "--schedule=*/1 * * * *"], id="cronjob"
    ),
    pytest.param("services", ["service", "clusterip", "{name}", "--tcp=80:8080"], id="service"),
    pytest.param("serviceaccounts", ["serviceaccount", "{name}"], id="serviceaccount"),
    pytest.param("resourcequotas", ["quota", "{name}", "--hard=pods=2,cpu=1"], id="quota"),
]

#: Fields the server assigns per object, which legitimately differ between the two.
_VOLATILE_META = ("name", "uid", "resourceVersion", "creationTimestamp", "managedFields")


def _normalize(obj: dict[str, Any]) -> dict[str, Any]:
    text = json.dumps(obj)
    for key in ("uid", "name"):  # jobs put their uid in labels, deployments their name
        text = text.replace(obj["metadata"][key], f"<{key}>")
    out: dict[str, Any] = json.loads(text)
    for key in _VOLATILE_META:
        out["metadata"].pop(key, None)
    spec = out.get("spec", {})
    for key in ("clusterIP", "clusterIPs"):
        spec.pop(key, None)
    return out


@pytest.mark.parametrize(("resource", "args"), COMMANDS)
def test_create_sends_protobuf_and_stores_what_json_would(
    server: Server, ns: str, resource: str, args: list[str]
) -> None:
    pb_name, json_name = f"{ns}-pb", f"{ns}-js"
    server.kubectl("create", *[a.format(name=pb_name) for a in args], "-n", ns)
    manifest = server.kubectl_json(
        "create", *[a.format(name=json_name) for a in args], "-n", ns, "--dry-run=client"
    )
    server.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(manifest))

    from_protobuf = server.kubectl_json("get", resource, pb_name, "-n", ns)
    from_json = server.kubectl_json("get", resource, json_name, "-n", ns)
    assert _normalize(from_protobuf) == _normalize(from_json)
    if "--replicas=0" in args:
        assert from_protobuf["spec"]["replicas"] == 0


def _configmap_body(name: str) -> bytes:
    return envelope("v1", "ConfigMap", field(1, meta(name)) + field(2, field(1, "k") + field(2, "v")))


def test_protobuf_body_with_protobuf_first_accept_gets_json(server: Server, ns: str) -> None:
    headers = {"Content-Type": PROTOBUF, "Accept": f"{PROTOBUF}, application/json"}
    with server.http() as http:
        r = http.post(f"/api/v1/namespaces/{ns}/configmaps", content=_configmap_body("raw"), headers=headers)
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["data"] == {"k": "v"}


def test_protobuf_delete_options(server: Server, ns: str) -> None:
    """``kubectl drain`` without eviction DELETEs with a protobuf DeleteOptions body."""
    server.kubectl("create", "configmap", "doomed", "-n", ns)
    body = envelope("v1", "DeleteOptions", num(1, 0) + field(4, "Background"))
    with server.http() as http:
        r = http.request(
            "DELETE",
            f"/api/v1/namespaces/{ns}/configmaps/doomed",
            content=body,
            headers={"Content-Type": PROTOBUF, "Accept": f"{PROTOBUF}, application/json"},
        )
    assert r.status_code == 200, r.text
    assert server.kubectl("get", "configmap", "doomed", "-n", ns, check=False).returncode != 0


BAD = [
    pytest.param(_configmap_body("cut")[:-10], "declares 29 bytes", id="truncated"),
    pytest.param(b"k9s\x00" + _configmap_body("x")[4:], "magic", id="bad-magic"),
    pytest.param(MAGIC + bytes(range(200, 256)), "error decoding protobuf body", id="garbage"),
    pytest.param(
        envelope("v1", "Pod", field(1, meta("p"))), "does not match the expected kind", id="wrong-kind"
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_bad_protobuf_is_400_and_server_keeps_serving(
    server: Server, ns: str, body: bytes, message: str
) -> None:
    with server.http() as http:
        r = http.post(f"/api/v1/namespaces/{ns}/configmaps", content=body, headers={"Content-Type": PROTOBUF})
    assert r.status_code == 400, r.text
    status = r.json()
    assert status["kind"] == "Status"
    assert status["reason"] == "BadRequest"
    assert message in status["message"]
    server.kubectl("create", "configmap", "after", "-n", ns, "--from-literal=a=b")
    assert server.kubectl_json("get", "configmap", "after", "-n", ns)["data"] == {"a": "b"}
