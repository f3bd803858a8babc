"""client/rest.py against the real API server (and, for retries, a scripted HTTP server)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from apimachinery import errors
from client.rest import CONFIGMAPS, GVR, LEASES, KubeConfig, PatchType, RESTClient, load_kubeconfig
from tests.apiserver.e2e.conftest import Server
from tests.client.scripted_server import Reply, ScriptedServer, reply


def _cm(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


@pytest.mark.parametrize(
    ("gvr", "namespace", "name", "subresource", "path"),
    [
        (GVR("", "v1", "pods"), "default", "web", "status", "/api/v1/namespaces/default/pods/web/status"),
        (GVR("apps", "v1", "deployments"), "ns", "", "", "/apis/apps/v1/namespaces/ns/deployments"),
        (GVR("", "v1", "nodes"), "", "node1", "", "/api/v1/nodes/node1"),
        (GVR("", "v1", "pods"), "", "", "", "/api/v1/pods"),
    ],
    ids=["core-subresource", "group-collection", "cluster-scoped", "all-namespaces"],
)
def test_gvr_paths(gvr: GVR, namespace: str, name: str, subresource: str, path: str) -> None:
    assert gvr.path(namespace, name, subresource) == path


def test_load_kubeconfig_embedded_and_files(server: Server, tmp_path: Path) -> None:
    embedded = load_kubeconfig(server.kubeconfig)
    assert embedded.server == f"https://127.0.0.1:{server.port}"
    assert embedded.ca_data and embedded.cert_data and embedded.key_data
    # The same credentials as files next to the kubeconfig, plus a token file.
    (tmp_path / "ca.crt").write_bytes(embedded.ca_data)
    (tmp_path / "token").write_text("s3cret\n")
    cfg = {
        "clusters": [
            {"name": "c", "cluster": {"server": "https://x:6443/", "certificate-authority": "ca.crt"}}
        ],
        "users": [{"name": "u", "user": {"tokenFile": "token"}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }
    (tmp_path / "config").write_text(yaml.safe_dump(cfg))
    files = load_kubeconfig(tmp_path / "config")
    assert files == KubeConfig(server="https://x:6443", ca_data=embedded.ca_data, token="s3cret")


async def test_crud_round_trip(rest: RESTClient, ns: str) -> None:
    created = await rest.create(CONFIGMAPS, _cm("a", k="v"), namespace=ns)
    assert created["metadata"]["uid"]
    got = await rest.get(CONFIGMAPS, "a", namespace=ns)
    assert got["data"] == {"k": "v"}
    got["data"]["k"] = "w"
    updated = await rest.update(CONFIGMAPS, got, namespace=ns)
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    listed = await rest.list(CONFIGMAPS, namespace=ns)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a"]
    assert listed["metadata"]["resourceVersion"]
    await rest.delete(CONFIGMAPS, "a", namespace=ns)
    with pytest.raises(errors.StatusError) as e:
        await rest.get(CONFIGMAPS, "a", namespace=ns)
    assert errors.is_not_found(e.value)
    assert e.value.message == 'configmaps "a" not found'


async def test_stale_update_is_a_conflict(rest: RESTClient, ns: str) -> None:
    first = await rest.create(CONFIGMAPS, _cm("b", k="1"), namespace=ns)
    await rest.patch(CONFIGMAPS, "b", {"data": {"k": "2"}}, namespace=ns)
    with pytest.raises(errors.StatusError) as e:
        await rest.update(CONFIGMAPS, {**first, "data": {"k": "3"}}, namespace=ns)
    assert errors.is_conflict(e.value)
    assert e.value.code == 409


@pytest.mark.parametrize(
    ("patch_type", "patch", "expected"),
    [
        (PatchType.MERGE, {"data": {"b": "2", "a": None}}, {"b": "2"}),
        (PatchType.JSON, [{"op": "add", "path": "/data/b", "value": "2"}], {"a": "1", "b": "2"}),
        (PatchType.STRATEGIC, {"data": {"b": "2"}}, {"a": "1", "b": "2"}),
        (
            PatchType.APPLY,
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "p"},
                "data": {"a": "1", "c": "3"},
            },
            {"a": "1", "c": "3"},
        ),
    ],
    ids=["merge", "json", "strategic", "apply"],
)
async def test_patch_types(
    rest: RESTClient, ns: str, patch_type: PatchType, patch: Any, expected: dict[str, str]
) -> None:
    await rest.create(CONFIGMAPS, _cm("p", a="1"), namespace=ns)
    out = await rest.patch(CONFIGMAPS, "p", patch, namespace=ns, patch_type=patch_type, field_manager="test")
    assert out["data"] == expected


async def test_paged_list(rest: RESTClient, ns: str) -> None:
    for i in range(5):
        await rest.create(CONFIGMAPS, _cm(f"m{i}"), namespace=ns)
    page = await rest.list(CONFIGMAPS, namespace=ns, limit=2)
    names = [i["metadata"]["name"] for i in page["items"]]
    while token := page["metadata"].get("continue"):
        page = await rest.list(CONFIGMAPS, namespace=ns, limit=2, continue_=token)
        names += [i["metadata"]["name"] for i in page["items"]]
    assert names == [f"m{i}" for i in range(5)]


async def test_watch_streams_events(rest: RESTClient, ns: str) -> None:
    rv = (await rest.list(CONFIGMAPS, namespace=ns))["metadata"]["resourceVersion"]
    seen: list[tuple[str, str]] = []
    async with rest.watch(CONFIGMAPS, namespace=ns, resource_version=rv, timeout_seconds=10) as events:
        await rest.create(CONFIGMAPS, _cm("w", k="1"), namespace=ns)
        await rest.patch(CONFIGMAPS, "w", {"data": {"k": "2"}}, namespace=ns)
        await rest.delete(CONFIGMAPS, "w", namespace=ns)
        async with asyncio.timeout(10):
            async for event in events:
                seen.append((event["type"], event["object"]["metadata"]["name"]))
                if event["type"] == "DELETED":
                    break
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


async def test_watch_too_old_resource_version_is_an_error_event(rest: RESTClient, ns: str) -> None:
    old = await rest.create(CONFIGMAPS, _cm("old"), namespace=ns)
    for i in range(110):  # more events than the server's watch cache holds (--watch-cache-size 100)
        await rest.patch(CONFIGMAPS, "old", {"data": {"i": str(i)}}, namespace=ns)
    rv = old["metadata"]["resourceVersion"]
    async with rest.watch(CONFIGMAPS, namespace=ns, resource_version=rv, timeout_seconds=5) as events:
        first = await anext(aiter(events))
    assert first["type"] == "ERROR"
    err = errors.from_status(first["object"])  # type: ignore[arg-type]
    assert errors.is_resource_expired(err) and err.code == 410


async def test_error_for_a_non_status_body_and_unknown_group(rest: RESTClient) -> None:
    with pytest.raises(errors.StatusError) as e:
        await rest.get(GVR("nope.example.com", "v1", "things"), "x")
    assert e.value.code == 404
    with pytest.raises(errors.StatusError) as e:
        await rest.create(LEASES, {"metadata": {"name": "x"}}, namespace="does-not-exist")
    assert errors.is_not_found(e.value)


# --- Retry-After, against a scripted server ------------------------------------------------


STATUS_429 = orjson.dumps(
    {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "reason": "TooManyRequests",
        "message": "slow down",
        "code": 429,
    }
)
STATUS_409 = STATUS_429.replace(b"429", b"409")


@pytest.mark.parametrize(
    ("answers", "attempts", "ok"),
    [
        ([reply(429, STATUS_429, Retry_After="0"), reply(200, b"{}")], 2, True),
        ([reply(503, b"busy", Retry_After="0"), reply(200, b"{}")], 2, True),
        ([reply(429, STATUS_429)], 1, False),  # no Retry-After: no retry
        ([reply(409, STATUS_409, Retry_After="0")], 1, False),
        ([reply(500, b"x", Retry_After="0")] * 4, 3, False),  # max_retries=2
    ],
    ids=["429-retried", "503-retried", "429-without-header", "409-never-retried", "gives-up"],
)
async def test_retry_after(answers: list[Reply], attempts: int, ok: bool) -> None:
    async with ScriptedServer(list(answers)) as server:
        config = KubeConfig(server=server.url, token="t")
        async with RESTClient(config, max_retries=2) as rest:
            if ok:
                assert await rest.get(CONFIGMAPS, "x", namespace="default") == {}
            else:
                with pytest.raises(errors.StatusError):
                    await rest.get(CONFIGMAPS, "x", namespace="default")
    assert len(server.requests) == attempts
    assert server.requests[0].headers["authorization"] == "Bearer t"
    assert server.requests[0].target == "/api/v1/namespaces/default/configmaps/x"


async def test_error_from_a_non_status_body() -> None:
    async with ScriptedServer([reply(500, b"boom")]) as server:
        async with RESTClient(KubeConfig(server=server.url)) as rest:
            with pytest.raises(errors.StatusError) as e:
                await rest.get(CONFIGMAPS, "x", namespace="default")
    assert e.value.code == 500
    assert e.value.reason == errors.Reason.INTERNAL_ERROR
    assert "boom" in e.value.message


async def test_query_parameters_and_request_bodies_on_the_wire() -> None:
    async with ScriptedServer([reply(200, b'{"items":[]}'), reply(201, b"{}")]) as server:
        async with RESTClient(KubeConfig(server=server.url)) as rest:
            await rest.list(CONFIGMAPS, namespace="ns", label_selector="app in (a,b),tier!=db", limit=5)
            await rest.patch(CONFIGMAPS, "c", [{"op": "remove", "path": "/data"}], namespace="ns",
                             patch_type=PatchType.JSON, field_manager="me")  # fmt: skip
    listed, patched = server.requests
    assert listed.target == (
        "/api/v1/namespaces/ns/configmaps?labelSelector=app+in+%28a%2Cb%29%2Ctier%21%3Ddb&limit=5"
    )
    assert (patched.method, patched.target) == ("PATCH", "/api/v1/namespaces/ns/configmaps/c?fieldManager=me")
    assert patched.headers["content-type"] == PatchType.JSON.value
    assert orjson.loads(patched.body) == [{"op": "remove", "path": "/data"}]
