"""Discovery documents, content negotiation, ETags, and what real clients make of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from apiserver import discovery
from apiserver.discovery import AGGREGATED_V2, AGGREGATED_V2BETA1, negotiate_discovery

from ._live import KUBECTL, kubectl, live_server

# What kubectl 1.32 sends for /api and /apis (client-go discovery_client.go acceptDiscoveryFormats).
KUBECTL_ACCEPT = f"{AGGREGATED_V2},{AGGREGATED_V2BETA1},application/json"


@pytest.fixture(scope="module")
def app() -> Starlette:
    return Starlette(routes=discovery.routes())


@pytest.fixture
def client(app: Starlette) -> TestClient:
    return TestClient(app)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (KUBECTL_ACCEPT, "v2"),
        (f"{AGGREGATED_V2BETA1},application/json", "v2beta1"),
        ("application/json, */*", "json"),
        ("", "json"),
        ("*/*", "json"),
        ("application/yaml", "yaml"),
        (f"application/json;q=0.5,{AGGREGATED_V2}", "v2"),
        ("application/json;as=Table;v=v1;g=meta.k8s.io", None),
        ("text/html", None),
        ("application/vnd.kubernetes.protobuf", None),
    ],
    ids=["kubectl", "v2beta1", "plain", "empty", "star", "yaml", "q-ordering", "table", "html", "protobuf"],
)
def test_negotiation(accept: str, expected: str | None) -> None:
    assert negotiate_discovery(accept) == expected


def test_version(client: TestClient) -> None:
    body = client.get("/version").json()
    assert body["major"] == "1" and body["minor"] == "32"
    assert body["gitVersion"].startswith("v1.32.")
    assert set(body) == {
        "major",
        "minor",
        "gitVersion",
        "gitCommit",
        "gitTreeState",
        "buildDate",
        "goVersion",
        "compiler",
        "platform",
    }


def test_aggregated_core(client: TestClient) -> None:
    response = client.get("/api", headers={"Accept": KUBECTL_ACCEPT})
    assert response.headers["content-type"] == AGGREGATED_V2
    assert response.headers["vary"] == "Accept"
    assert response.headers["cache-control"] == "public"
    doc = response.json()
    assert (doc["kind"], doc["apiVersion"]) == ("APIGroupDiscoveryList", "apidiscovery.k8s.io/v2")
    [core] = doc["items"]
    assert core["metadata"] == {"creationTimestamp": None}
    [v1] = core["versions"]
    assert v1["version"] == "v1" and v1["freshness"] == "Current"
    pods = next(r for r in v1["resources"] if r["resource"] == "pods")
    assert pods["responseKind"] == {"group": "", "version": "v1", "kind": "Pod"}
    assert pods["scope"] == "Namespaced" and pods["singularResource"] == "pod"
    assert pods["shortNames"] == ["po"] and pods["categories"] == ["all"]
    subs = {s["subresource"]: s for s in pods["subresources"]}
    assert subs["eviction"]["responseKind"] == {"group": "policy", "version": "v1", "kind": "Eviction"}
    assert subs["status"]["verbs"] == ["get", "patch", "update"]
    nodes = next(r for r in v1["resources"] if r["resource"] == "nodes")
    assert nodes["scope"] == "Cluster"


def test_aggregated_groups_preferred_first(client: TestClient) -> None:
    doc = client.get("/apis", headers={"Accept": KUBECTL_ACCEPT}).json()
    names = [item["metadata"]["name"] for item in doc["items"]]
    assert names[0] == "apps"
    assert set(names) == {
        "apps",
        "batch",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "policy",
    }
    apps = doc["items"][0]
    deploy = next(r for r in apps["versions"][0]["resources"] if r["resource"] == "deployments")
    scale = next(s for s in deploy["subresources"] if s["subresource"] == "scale")
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}


def test_aggregated_v2beta1(client: TestClient) -> None:
    response = client.get("/apis", headers={"Accept": f"{AGGREGATED_V2BETA1},application/json"})
    assert response.headers["content-type"] == AGGREGATED_V2BETA1
    assert response.json()["apiVersion"] == "apidiscovery.k8s.io/v2beta1"


def test_etag_and_not_modified(client: TestClient) -> None:
    first = client.get("/apis", headers={"Accept": KUBECTL_ACCEPT})
    etag = first.headers["etag"]
    assert etag.startswith('"') and len(etag) == 128 + 2  # quoted hex SHA-512
    again = client.get("/apis", headers={"Accept": KUBECTL_ACCEPT, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""


def test_legacy_documents(client: TestClient) -> None:
    versions = client.get("/api", headers={"Accept": "application/json"}).json()
    assert versions["kind"] == "APIVersions" and versions["versions"] == ["v1"]
    assert versions["serverAddressByClientCIDRs"][0]["clientCIDR"] == "0.0.0.0/0"

    groups = client.get("/apis").json()
    assert groups["kind"] == "APIGroupList"
    apps = groups["groups"][0]
    assert apps == {
        "name": "apps",
        "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
        "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"},
    }
    group = client.get("/apis/apps").json()
    assert group["kind"] == "APIGroup" and group["name"] == "apps"


def _entry(doc: dict[str, Any], name: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(r for r in doc["resources"] if r["name"] == name)
    return entry


def test_legacy_resource_lists(client: TestClient) -> None:
    core = client.get("/api/v1").json()
    assert "apiVersion" not in core and core["groupVersion"] == "v1"
    # kubectl drain's CheckEvictionSupport looks for exactly this entry.
    eviction = _entry(core, "pods/eviction")
    assert (eviction["kind"], eviction["group"], eviction["version"]) == ("Eviction", "policy", "v1")
    assert _entry(core, "pods/status")["singularName"] == ""
    assert "group" not in _entry(core, "pods/status")
    pods = _entry(core, "pods")
    assert pods["namespaced"] and pods["shortNames"] == ["po"] and pods["storageVersionHash"]
    names = [r["name"] for r in core["resources"]]
    assert names == sorted(names)

    apps = client.get("/apis/apps/v1").json()
    assert apps["apiVersion"] == "v1" and apps["groupVersion"] == "apps/v1"
    assert _entry(apps, "deployments/scale")["group"] == "autoscaling"


def test_cohabiting_events_share_storage_version_hash(client: TestClient) -> None:
    core = _entry(client.get("/api/v1").json(), "events")
    new = _entry(client.get("/apis/events.k8s.io/v1").json(), "events")
    assert core["storageVersionHash"] == new["storageVersionHash"]


@pytest.mark.parametrize("path", ["/apis/nope", "/apis/nope/v1", "/apis/apps/v2", "/api/v2"])
def test_unknown_is_not_found_status(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    body = response.json()
    assert (body["kind"], body["reason"], body["code"]) == ("Status", "NotFound", 404)
    assert body["message"] == "the server could not find the requested resource"


def test_not_acceptable(client: TestClient) -> None:
    response = client.get("/apis", headers={"Accept": "text/html"})
    assert response.status_code == 406
    assert response.json()["reason"] == "NotAcceptable"


def test_yaml(client: TestClient) -> None:
    response = client.get("/apis/apps/v1", headers={"Accept": "application/yaml"})
    assert response.headers["content-type"].startswith("application/yaml")
    assert b"groupVersion: apps/v1" in response.content


def test_official_python_client_models(app: Starlette) -> None:
    """The kubernetes client's strict models accept every discovery document."""
    from kubernetes import client

    with live_server(app) as url:
        config = client.Configuration()
        config.host = url
        api = client.ApiClient(config)
        assert client.VersionApi(api).get_code().minor == "32"
        assert client.CoreApi(api).get_api_versions().versions == ["v1"]
        assert client.ApisApi(api).get_api_versions().groups[0].name == "apps"
        assert any(r.name == "pods/eviction" for r in client.CoreV1Api(api).get_api_resources().resources)
        assert client.AppsV1Api(api).get_api_resources().group_version == "apps/v1"


@pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed")
def test_kubectl_api_resources(app: Starlette, tmp_path: Path) -> None:
    with live_server(app) as url:
        result = kubectl(tmp_path, url, "api-resources", "-o", "wide")
        versions = kubectl(tmp_path, url, "version", "-o", "json")
    assert result.returncode == 0, result.stderr
    lines = {tuple(line.split()[:2]) for line in result.stdout.splitlines()}
    assert ("deployments", "deploy") in lines and ("pods", "po") in lines
    assert "poddisruptionbudgets" in result.stdout and "policy/v1" in result.stdout
    assert versions.returncode == 0, versions.stderr
    assert orjson.loads(versions.stdout)["serverVersion"]["minor"] == "32"
