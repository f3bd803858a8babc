"""fieldValidation end to end: kubectl sends Strict; Warn gives Warning headers kubectl prints."""

from __future__ import annotations

import json

from .conftest import Server

TYPO = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "typo"}, "dataa": {"a": "1"}}


def test_kubectl_create_is_strict(server: Server, ns: str) -> None:
    r = server.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(TYPO), check=False)
    assert r.returncode == 1
    assert (
        'Error from server (BadRequest): error when creating "STDIN": ConfigMap in version "v1" '
        'cannot be handled as a ConfigMap: strict decoding error: unknown field "dataa"'
    ) in r.stderr
    assert server.kubectl("get", "cm", "typo", "-n", ns, check=False).returncode == 1


def test_kubectl_warn_prints_the_warning_and_succeeds(server: Server, ns: str) -> None:
    r = server.kubectl("create", "-n", ns, "-f", "-", "--validate=warn", input=json.dumps(TYPO))
    assert r.stdout.strip() == "configmap/typo created"
    assert 'Warning: unknown field "dataa"' in r.stderr


def test_ignore_and_duplicates(server: Server, ns: str) -> None:
    body = b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"dup","name":"dup"},"data":{}}'
    with server.http() as http:
        strict = http.post(f"/api/v1/namespaces/{ns}/configmaps?fieldValidation=Strict", content=body)
        assert strict.status_code == 400
        assert 'strict decoding error: duplicate field "metadata.name"' in strict.json()["message"]
        ignored = http.post(f"/api/v1/namespaces/{ns}/configmaps?fieldValidation=Ignore", content=body)
        assert ignored.status_code == 201
        assert "warning" not in ignored.headers
        bad = http.post(f"/api/v1/namespaces/{ns}/configmaps?fieldValidation=Loose", content=body)
        assert bad.status_code == 400


def test_patch_result_is_checked(server: Server, ns: str) -> None:
    server.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps({**TYPO, "dataa": None, "data": {}}))
    # kubectl patch sends no fieldValidation: the server default, Warn, applies.
    r = server.kubectl("patch", "cm", "typo", "-n", ns, "--type=merge", "-p", '{"dataa":{"x":"1"}}')
    assert r.stdout.strip() == "configmap/typo patched"
    assert 'Warning: unknown field "dataa"' in r.stderr
    with server.http() as http:
        strict = http.patch(
            f"/api/v1/namespaces/{ns}/configmaps/typo?fieldValidation=Strict",
            content=b'{"dataa":{"y":"2"}}',
            headers={"Content-Type": "application/merge-patch+json"},
        )
    assert strict.status_code == 400
    assert strict.json()["message"] == 'strict decoding error: unknown field "dataa"'
