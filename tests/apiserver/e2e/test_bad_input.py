"""Bad input gets a 4xx Status naming the problem; the server keeps serving; nothing stored changes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import Server

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "keep"}, "data": {"k": "v"}}


def _post(server: Server, path: str, body: bytes, content_type: str = "application/json") -> Any:
    with server.http() as http:
        return http.post(path, content=body, headers={"Content-Type": content_type})


def _deep(n: int) -> bytes:
    return b'{"metadata":{"name":"deep"},"data":' + b'{"a":' * n + b"1" + b"}" * n + b"}"


CASES = [
    pytest.param(
        b'{"metadata": {"name": "x"', "application/json", 400, "error decoding JSON body", id="truncated-json"
    ),
    pytest.param(b"metadata: [unclosed", "application/yaml", 400, "error decoding YAML body", id="bad-yaml"),
    pytest.param(b"[1, 2]", "application/json", 400, "must be an object", id="json-array"),
    pytest.param(
        b'{"kind":"Pod","apiVersion":"v1","metadata":{"name":"x"}}',
        "application/json",
        400,
        "the kind in the data (Pod) does not match the expected kind (ConfigMap)",
        id="wrong-kind",
    ),
    pytest.param(
        b'{"kind":"ConfigMap","apiVersion":"apps/v1","metadata":{"name":"x"}}',
        "application/json",
        400,
        "the API version in the data (apps/v1) does not match the expected API version (v1)",
        id="wrong-version",
    ),
    pytest.param(_deep(10_000), "application/json", 400, "nested too deeply", id="deep-json"),
    pytest.param(
        b"metadata:\n  name: x\ndata: " + b"[" * 10_000 + b"]" * 10_000,
        "application/yaml",
        400,
        "nested too deeply",
        id="deep-yaml",
    ),
    pytest.param(
        b'{"metadata":{"name":"\xff\xfe"}}',
        "application/json",
        400,
        "error decoding JSON body",
        id="non-utf8-json",
    ),
    pytest.param(b"metadata:\n  name: \xff\n", "application/yaml", 400, "invalid UTF-8", id="non-utf8-yaml"),
    pytest.param(
        b"x" * (3 * 1024 * 1024 + 1), "application/json", 413, "Request entity too large", id="over-3MiB"
    ),
    pytest.param(
        b"{}", "text/plain", 415, "the body of the request was in an unknown format", id="unknown-media-type"
    ),
    pytest.param(b"", "application/json", 400, "the request body is empty", id="empty-body"),
]


@pytest.mark.parametrize("body,content_type,code,message", CASES)
def test_bad_create_body(
    server: Server, ns: str, body: bytes, content_type: str, code: int, message: str
) -> None:
    r = _post(server, f"/api/v1/namespaces/{ns}/configmaps", body, content_type)
    assert r.status_code == code, r.text
    status = r.json()
    assert status["kind"] == "Status"
    assert status["status"] == "Failure"
    assert status["code"] == code
    assert message in status["message"]
    # ...and the server still serves.
    assert server.kubectl("get", "--raw", "/readyz").stdout == "ok"


@pytest.mark.parametrize(
    "query,message",
    [
        pytest.param("limit=abc", "invalid value for limit", id="limit-not-int"),
        pytest.param("timeoutSeconds=-5", "invalid value for timeoutSeconds", id="negative-timeout"),
        pytest.param("resourceVersion=abc", "invalid resource version", id="rv-not-int"),
        pytest.param(
            "resourceVersionMatch=Exact",
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
            id="match-without-rv",
        ),
        pytest.param("labelSelector=a%20in%20(b", "unable to parse requirement", id="bad-label-selector"),
        pytest.param("fieldSelector=foo", "invalid selector", id="bad-field-selector"),
    ],
)
def test_bad_list_query(server: Server, ns: str, query: str, message: str) -> None:
    with server.http() as http:
        r = http.get(f"/api/v1/namespaces/{ns}/configmaps?{query}")
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["kind"] == "Status"
    assert message in r.json()["message"]


def test_bad_patches_leave_the_object_unchanged(server: Server, ns: str) -> None:
    server.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(CM))
    before = server.kubectl_json("get", "configmap", "keep", "-n", ns)
    path = f"/api/v1/namespaces/{ns}/configmaps/keep"
    with server.http() as http:
        bad_path = http.patch(
            path,
            content=b'[{"op":"replace","path":"/data/missing/deeper","value":1}]',
            headers={"Content-Type": "application/json-patch+json"},
        )
        assert bad_path.status_code == 422, bad_path.text
        not_ops = http.patch(
            path, content=b'{"op":"add"}', headers={"Content-Type": "application/json-patch+json"}
        )
        assert not_ops.status_code == 400, not_ops.text
        bad_json = http.patch(
            path, content=b"{nope", headers={"Content-Type": "application/merge-patch+json"}
        )
        assert bad_json.status_code == 400, bad_json.text
        wrong_type = http.patch(path, content=b"{}", headers={"Content-Type": "application/x-unknown"})
        assert wrong_type.status_code == 415, wrong_type.text
        drop_meta = http.patch(
            path, content=b'{"metadata": null}', headers={"Content-Type": "application/merge-patch+json"}
        )
        assert drop_meta.status_code == 422, drop_meta.text
        bad_rv = http.patch(
            path,
            content=b'{"metadata":{"resourceVersion":"1"}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert bad_rv.status_code == 409, bad_rv.text
    after = server.kubectl_json("get", "configmap", "keep", "-n", ns)
    assert after == before


def test_unknown_path_is_404_status(server: Server) -> None:
    with server.http() as http:
        r = http.get("/api/v1/nonsense")
        assert r.status_code == 404
        assert r.json() == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "the server could not find the requested resource",
            "reason": "NotFound",
            "details": {},
            "code": 404,
        }
        r = http.get("/nothing/here")
        assert r.status_code == 404
        assert r.json()["reason"] == "NotFound"
