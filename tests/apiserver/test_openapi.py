"""The OpenAPI documents and schema walker, and the kubectl commands that depend on them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from apiserver import discovery, openapi, resources, schema
from openapi import generate

from ._live import KUBECTL, kubectl, live_server


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(Starlette(routes=openapi.routes()))


def _index(client: TestClient) -> dict[str, Any]:
    paths: dict[str, Any] = client.get("/openapi/v3").json()["paths"]
    return paths


# ---------------------------------------------------------------- the generated subset


def test_checked_in_subset_is_up_to_date() -> None:
    if not generate.SOURCE.exists():
        pytest.skip("the full Kubernetes document is not available")
    fresh = generate.dumps(generate.subset(orjson.loads(generate.SOURCE.read_bytes())))
    assert fresh == schema.SWAGGER_PATH.read_bytes(), "run: python -m openapi.generate"


def test_subset_is_small_and_self_contained() -> None:
    assert schema.SWAGGER_PATH.stat().st_size < 3 * 1024 * 1024
    doc = schema.swagger()
    for ref in set(generate._refs(doc)):
        _, section, name = ref.split("/", 2)
        assert name in doc[section], ref


@pytest.mark.parametrize("info", resources.RESOURCES, ids=lambda r: f"{r.group or 'core'}.{r.resource}")
def test_every_served_kind_has_a_schema(info: resources.ResourceInfo) -> None:
    assert schema.definition_for_gvk(info.group, info.version, info.kind) is not None
    for sub in info.subresources:
        if sub.name not in ("log", "exec", "attach", "portforward", "proxy"):  # options kinds: no schema
            assert schema.definition_for_gvk(sub.group, sub.version, sub.kind) is not None, sub


@pytest.mark.parametrize(
    ("path", "served"),
    [
        ("/api/v1/namespaces/{namespace}/pods/{name}/eviction", True),
        ("/api/v1/namespaces/{namespace}/pods/{name}/resize", False),
        ("/api/v1/watch/namespaces/{namespace}/pods", False),
        ("/api/v1/namespaces/{namespace}/persistentvolumeclaims", False),
        ("/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", True),
        ("/apis/apps/", True),
        ("/apis/networking.k8s.io/v1/ingresses", False),
    ],
)
def test_is_served(path: str, served: bool) -> None:
    assert generate.is_served(path) is served


# ---------------------------------------------------------------------- schema walking


def test_walk_and_patch_meta() -> None:
    pod = schema.definition_for_gvk("", "v1", "Pod")
    assert pod is not None
    containers = schema.patch_meta(schema.walk(pod, "spec.containers"))
    assert containers.merge_key == "name" and containers.strategies == ("merge",)
    assert containers.list_type == "map" and containers.list_map_keys == ("name",)
    assert schema.walk(pod, "spec.containers[].image") == schema.walk(
        pod, ["spec", "containers", "[]", "image"]
    )
    assert schema.walk(pod, "spec.containers[0].image")["type"] == "string"  # type: ignore[index]
    assert schema.walk(pod, "metadata.labels[]") == {"type": "string"}
    assert schema.walk(pod, "spec.nope") is None
    volumes = schema.patch_meta(schema.field_schema("apps", "v1", "Deployment", "spec.template.spec.volumes"))
    assert volumes.strategies == ("merge", "retainKeys")
    assert (
        schema.patch_meta(schema.field_schema("", "v1", "Pod", "spec.containers[].args")).list_type
        == "atomic"
    )


def test_shared_kinds_resolve() -> None:
    assert schema.definition_name_for_gvk("apps", "v1", "DeleteOptions") == (
        "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
    )
    assert schema.definition_name_for_gvk("autoscaling", "v1", "Scale") == "io.k8s.api.autoscaling.v1.Scale"


# --------------------------------------------------------------------------- serving


def test_v2(client: TestClient) -> None:
    response = client.get("/openapi/v2", headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.headers["etag"].startswith('"')
    assert response.json()["swagger"] == "2.0"
    # The real server would answer in protobuf; this one only speaks JSON.
    proto = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
    assert client.get("/openapi/v2", headers={"Accept": proto}).status_code == 406


def test_v3_index_lists_every_group_version(client: TestClient) -> None:
    index = _index(client)
    for gv in resources.group_versions():
        key = "api/v1" if gv == "v1" else f"apis/{gv}"
        assert index[key]["serverRelativeURL"].startswith(f"/openapi/v3/{key}?hash=")


def test_v3_document_shape(client: TestClient) -> None:
    url = _index(client)["apis/apps/v1"]["serverRelativeURL"]
    response = client.get(url, headers={"Accept": "application/json"})
    assert response.headers["cache-control"] == "public, immutable"
    assert "expires" in response.headers
    assert response.headers["etag"] == f'"{url.split("hash=")[1]}"'
    doc = response.json()
    assert doc["openapi"] == "3.0.0"
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "apps",
        "version": "v1",
        "kind": "Deployment",
    }
    assert patch["x-kubernetes-action"] == "patch"
    params = {p["name"]: p for p in patch["parameters"]}
    assert {"fieldValidation", "dryRun", "fieldManager", "force"} <= set(params)
    assert params["fieldValidation"] == {**params["fieldValidation"], "in": "query"}
    assert "type" not in params["fieldValidation"] and params["fieldValidation"]["schema"]["type"] == "string"
    assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]
    assert "application/cbor" not in patch["responses"]["200"]["content"]
    schemas = doc["components"]["schemas"]
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["properties"]["spec"]["allOf"] == [
        {"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}
    ]
    assert "io.k8s.api.autoscaling.v1.Scale" in schemas
    assert "io.k8s.api.core.v1.Pod" not in schemas  # only what this group-version reaches
    containers = schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert not any("#/definitions/" in ref for ref in generate._refs(doc))


def test_v3_stale_hash_redirects(client: TestClient) -> None:
    response = client.get("/openapi/v3/api/v1?hash=stale", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == _index(client)["api/v1"]["serverRelativeURL"]


def test_v3_not_modified_and_unknown(client: TestClient) -> None:
    first = client.get("/openapi/v3/apis/batch/v1")
    assert (
        client.get("/openapi/v3/apis/batch/v1", headers={"If-None-Match": first.headers["etag"]}).status_code
        == 304
    )
    assert client.get("/openapi/v3/apis/nope/v1").status_code == 404


# ---------------------------------------------------------------- kubectl, end to end


def _fake_resources() -> tuple[list[Route], list[str]]:
    """Just enough of a resource API for kubectl create/apply/replace/edit to finish."""
    objects: dict[str, dict[str, Any]] = {}
    log: list[str] = []

    async def collection(request: Request) -> Response:
        log.append(f"{request.method} {request.url.path}?{request.url.query}")
        obj = orjson.loads(await request.body())
        obj["metadata"]["resourceVersion"] = "1"
        objects[f"{request.url.path}/{obj['metadata']['name']}"] = obj
        return Response(orjson.dumps(obj), 201, media_type="application/json")

    async def item(request: Request) -> Response:
        log.append(f"{request.method} {request.url.path}?{request.url.query}")
        obj = objects.get(request.url.path)
        if obj is None:
            status = {
                "kind": "Status",
                "apiVersion": "v1",
                "status": "Failure",
                "reason": "NotFound",
                "code": 404,
            }
            return Response(orjson.dumps(status), 404, media_type="application/json")
        if request.method == "PUT":
            obj = objects[request.url.path] = orjson.loads(await request.body())
        elif request.method == "PATCH":
            log.append(f"  {request.headers['content-type']} {(await request.body()).decode()}")
        return Response(orjson.dumps(obj), media_type="application/json")

    routes = [
        Route("/api/v1/namespaces/{ns}/{resource}", collection, methods=["POST"]),
        Route("/api/v1/namespaces/{ns}/{resource}/{name}", item, methods=["GET", "PUT", "PATCH"]),
        Route("/apis/{group}/{version}/namespaces/{ns}/{resource}", collection, methods=["POST"]),
        Route(
            "/apis/{group}/{version}/namespaces/{ns}/{resource}/{name}", item, methods=["GET", "PUT", "PATCH"]
        ),
    ]
    return routes, log


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: c, image: IMAGE}, {name: d, image: busybox}]
"""


@pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed")
def test_kubectl_explain_create_apply_replace_edit(tmp_path: Path) -> None:
    fake, log = _fake_resources()
    app = Starlette(routes=discovery.routes() + openapi.routes() + fake)
    manifest = tmp_path / "deploy.yaml"
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/image: busybox/image: busybox:2/' \"$1\"\n")
    os.chmod(editor, 0o755)
    home = tmp_path / "home"

    with live_server(app) as url:

        def run(*args: str, **env: str) -> str:
            result = kubectl(home, url, *args, env=env)
            assert result.returncode == 0, (args, result.stdout, result.stderr)
            assert result.stderr == "", result.stderr  # no fallbacks, no warnings
            return result.stdout

        explained = run("explain", "pods.spec.containers")
        assert "FIELD: containers <[]Container>" in explained and "imagePullPolicy" in explained
        assert "DeploymentStrategy" in run("explain", "deployments.spec.strategy")

        manifest.write_text(DEPLOYMENT.replace("IMAGE", "nginx"))
        assert run("apply", "-f", str(manifest)) == "deployment.apps/web created\n"
        manifest.write_text(DEPLOYMENT.replace("IMAGE", "nginx:2"))
        assert run("apply", "-f", str(manifest)) == "deployment.apps/web configured\n"
        assert run("replace", "-f", str(manifest)) == "deployment.apps/web replaced\n"
        assert run("edit", "deployment", "web", EDITOR=str(editor)) == "deployment.apps/web edited\n"
        cm = tmp_path / "cm.yaml"
        cm.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: '1'}\n")
        assert run("create", "-f", str(cm)) == "configmap/cfg created\n"

    writes = [line for line in log if not line.startswith(("GET", " "))]
    assert all("fieldValidation=Strict" in line for line in writes), writes
    patches = [line for line in log if line.startswith("  ")]
    # client-side apply computed a strategic merge patch from the v3 schema: merge by container name.
    assert patches[0].startswith("  application/strategic-merge-patch+json")
    assert '"$setElementOrder/containers":[{"name":"c"},{"name":"d"}]' in patches[0]
