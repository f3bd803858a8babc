"""The commands users type, with the image's real kubectl, against the real server over TLS.

Expected output is what kubectl prints against a real 1.32 cluster for the same
objects (table headers, messages, exit codes).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from .conftest import Server

POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web"}},
    "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"]}]},
}


def test_version_reports_1_32(server: Server) -> None:
    out = json.loads(server.kubectl("version", "-o", "json").stdout)
    assert out["serverVersion"]["major"] == "1"
    assert out["serverVersion"]["minor"] == "32"


def test_get_namespaces_lists_the_system_ones(server: Server) -> None:
    out = server.kubectl("get", "ns").stdout.splitlines()
    assert out[0].split() == ["NAME", "STATUS", "AGE"]
    names = {line.split()[0] for line in out[1:]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_kubernetes_service_exists(server: Server) -> None:
    out = server.kubectl("get", "svc", "kubernetes", "-n", "default").stdout.splitlines()
    assert out[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert out[1].split()[:5] == ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"]


def test_run_get_describe_delete(server: Server, ns: str) -> None:
    assert server.kubectl("run", "web", "--image=busybox:1.36", "-n", ns).stdout.strip() == "pod/web created"
    lines = server.kubectl("get", "pods", "-n", ns).stdout.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert lines[1].split()[:4] == ["web", "0/1", "Pending", "0"]
    wide = server.kubectl("get", "pods", "-n", ns, "-o", "wide").stdout.splitlines()
    assert wide[0].split()[5:] == ["IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"]
    described = server.kubectl("describe", "pod", "web", "-n", ns).stdout
    assert "Name:             web" in described
    assert "Labels:           run=web" in described
    assert "Status:           Pending" in described
    pod = server.kubectl_json("get", "pod", "web", "-n", ns)
    assert pod["spec"]["restartPolicy"] == "Always"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert pod["status"]["phase"] == "Pending"
    assert pod["metadata"]["uid"]
    # Unscheduled pods are deleted at once (grace period forced to 0).
    assert server.kubectl("delete", "pod", "web", "-n", ns).stdout.strip() == 'pod "web" deleted'
    gone = server.kubectl("get", "pod", "web", "-n", ns, check=False)
    assert gone.returncode == 1
    assert gone.stderr.strip() == 'Error from server (NotFound): pods "web" not found'


def test_create_from_file_then_already_exists(server: Server, ns: str) -> None:
    manifest = json.dumps(POD)
    assert server.kubectl("create", "-n", ns, "-f", "-", input=manifest).stdout.strip() == "pod/web created"
    again = server.kubectl("create", "-n", ns, "-f", "-", input=manifest, check=False)
    assert again.returncode == 1
    assert (
        'Error from server (AlreadyExists): error when creating "STDIN": pods "web" already exists'
        in again.stderr
    )


def test_label_and_annotate_overwrite(server: Server, ns: str) -> None:
    server.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(POD))
    assert server.kubectl("label", "pod", "web", "tier=a", "-n", ns).stdout.strip() == "pod/web labeled"
    clash = server.kubectl("label", "pod", "web", "tier=b", "-n", ns, check=False)
    assert clash.returncode == 1
    assert "'tier' already has a value (a), and --overwrite is false" in clash.stderr
    server.kubectl("label", "pod", "web", "tier=b", "--overwrite", "-n", ns)
    server.kubectl("annotate", "pod", "web", "note=hello", "-n", ns)
    pod = server.kubectl_json("get", "pod", "web", "-n", ns)
    assert pod["metadata"]["labels"] == {"app": "web", "tier": "b"}
    assert pod["metadata"]["annotations"]["note"] == "hello"
    selected = server.kubectl("get", "pods", "-n", ns, "-l", "tier in (b,c),app", "-o", "name").stdout.split()
    assert selected == ["pod/web"]
    assert server.kubectl("get", "pods", "-n", ns, "-l", "tier!=b", "-o", "name").stdout.split() == []


def test_get_output_yaml_and_json(server: Server, ns: str) -> None:
    server.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(POD))
    as_yaml = server.kubectl("get", "pod", "web", "-n", ns, "-o", "yaml").stdout
    assert as_yaml.startswith("apiVersion: v1\nkind: Pod\n")
    as_list = server.kubectl_json("get", "pods", "-n", ns)
    assert as_list["kind"] == "List"
    assert [i["metadata"]["name"] for i in as_list["items"]] == ["web"]


def test_get_watch_streams_changes(server: Server, ns: str) -> None:
    server.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(POD))
    watcher = subprocess.Popen(
        ["kubectl", "get", "pods", "-n", ns, "-w", "--output-watch-events"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=server.env(),
    )
    try:
        time.sleep(1.5)
        server.kubectl("label", "pod", "web", "x=1", "-n", ns)
        server.kubectl("delete", "pod", "web", "-n", ns)
        time.sleep(1.5)
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    events = [line.split()[0] for line in out.splitlines()[1:]]
    assert out.splitlines()[0].split() == ["EVENT", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert events[0] == "ADDED"
    assert "MODIFIED" in events
    assert events[-1] == "DELETED"


def test_wait_for_delete(server: Server, ns: str) -> None:
    server.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(POD))
    waiter = subprocess.Popen(
        ["kubectl", "wait", "--for=delete", "pod/web", "-n", ns, "--timeout=30s"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=server.env(),
    )
    time.sleep(1)
    server.kubectl("delete", "pod", "web", "-n", ns, "--wait=false")
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 0, err
    assert out.strip() == "pod/web condition met"


def test_api_resources_and_explain(server: Server) -> None:
    out = server.kubectl("api-resources").stdout
    assert any(line.split()[:5] == ["pods", "po", "v1", "true", "Pod"] for line in out.splitlines())
    assert any(
        line.split()[:5] == ["deployments", "deploy", "apps/v1", "true", "Deployment"]
        for line in out.splitlines()
    )
    explained = server.kubectl("explain", "pods.spec.containers.image").stdout
    assert "KIND:       Pod" in explained
    assert "FIELD: image <string>" in explained


def test_create_in_missing_namespace_is_not_found(server: Server) -> None:
    r = server.kubectl("create", "-n", "nope", "-f", "-", input=json.dumps(POD), check=False)
    assert r.returncode == 1
    assert 'namespaces "nope" not found' in r.stderr


def test_invalid_object_gets_422_with_causes(server: Server, ns: str) -> None:
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Bad_Name"}}
    r = server.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(bad), check=False)
    assert r.returncode == 1
    assert (
        'The ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain'
        in r.stderr
    )


def test_default_namespace_may_not_be_deleted(server: Server) -> None:
    r = server.kubectl("delete", "namespace", "default", "--wait=false", check=False)
    assert r.returncode == 1
    assert (
        'Error from server (Forbidden): namespaces "default" is forbidden: this namespace may not be deleted'
        in r.stderr
    )


def test_apply_creates_configures_unchanged(server: Server, ns: str) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1", "b": "2"}}
    assert (
        server.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(cm)).stdout.strip()
        == "configmap/cfg created"
    )
    assert (
        server.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(cm)).stdout.strip()
        == "configmap/cfg unchanged"
    )
    cm["data"] = {"a": "2"}
    assert (
        server.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(cm)).stdout.strip()
        == "configmap/cfg configured"
    )
    assert server.kubectl_json("get", "configmap", "cfg", "-n", ns)["data"] == {"a": "2"}


def test_wrong_token_is_401(server: Server, tmp_path: Path) -> None:
    r = subprocess.run(
        [
            "kubectl",
            "--kubeconfig",
            "/dev/null",
            "-s",
            f"https://127.0.0.1:{server.port}",
            "--insecure-skip-tls-verify",
            "--token=not-a-valid-token",
            "get",
            "pods",
        ],
        capture_output=True,
        text=True,
        # An empty discovery cache: kubectl's first request (discovery) is the refused one.
        env={**server.env(), "KUBECONFIG": "", "KUBECACHEDIR": str(tmp_path / "cache")},
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 1
    # As against a real cluster: discovery is refused first, and kubectl says so.
    assert (
        "error: You must be logged in to the server (the server has asked for the client to provide credentials)"
        in r.stderr
    )


def test_diff_uses_server_dry_run(server: Server, ns: str) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}, "data": {"a": "1"}}
    first = server.kubectl("diff", "-n", ns, "-f", "-", input=json.dumps(cm), check=False)
    assert first.returncode == 1  # kubectl diff: 1 means "there are differences"
    assert '+  a: "1"' in first.stdout
    assert server.kubectl("get", "cm", "d", "-n", ns, check=False).returncode == 1  # dry run stored nothing
    server.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(cm))
    assert server.kubectl("diff", "-n", ns, "-f", "-", input=json.dumps(cm), check=False).returncode == 0
    cm["data"] = {"a": "2"}
    for mode in ([], ["--server-side"]):
        changed = server.kubectl("diff", *mode, "-n", ns, "-f", "-", input=json.dumps(cm), check=False)
        assert changed.returncode == 1
        assert '-  a: "1"' in changed.stdout and '+  a: "2"' in changed.stdout
