"""Strategic merge patch end to end: the commands that send it, with the real kubectl.

``kubectl patch`` (default type), ``kubectl set image``, client-side ``kubectl
apply`` of a changed manifest and ``kubectl edit`` all send
``application/strategic-merge-patch+json``; see apiserver/patch/strategic.py.
"""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import Server


def deployment(image: str, env: list[dict[str, str]]) -> str:
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "c", "image": image, "env": env}]},
                },
            },
        }
    )


def containers(server: Server, ns: str) -> list[dict[str, object]]:
    obj = server.kubectl_json("get", "deployment", "web", "-n", ns)
    result: list[dict[str, object]] = obj["spec"]["template"]["spec"]["containers"]
    return result


def test_patch_set_image_and_reapply(server: Server, ns: str) -> None:
    server.kubectl("apply", "-n", ns, "-f", "-", input=deployment("nginx:1", [{"name": "A", "value": "1"}]))

    patch = {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox"}]}}}}
    server.kubectl("patch", "deployment", "web", "-n", ns, "-p", json.dumps(patch))
    assert [c["name"] for c in containers(server, ns)] == ["side", "c"]

    server.kubectl("set", "image", "deployment/web", "-n", ns, "c=nginx:2")
    assert {c["name"]: c["image"] for c in containers(server, ns)} == {"side": "busybox", "c": "nginx:2"}

    # The changed manifest drops env A and adds B; apply computes that from last-applied.
    server.kubectl("apply", "-n", ns, "-f", "-", input=deployment("nginx:3", [{"name": "B", "value": "2"}]))
    by_name = {c["name"]: c for c in containers(server, ns)}
    assert by_name["c"]["image"] == "nginx:3"
    assert by_name["c"]["env"] == [{"name": "B", "value": "2"}]
    assert "side" in by_name, "apply only removes what it applied before"


def test_patch_without_merge_key_is_a_bad_request(server: Server, ns: str) -> None:
    server.kubectl("apply", "-n", ns, "-f", "-", input=deployment("nginx:1", []))
    patch = {"spec": {"template": {"spec": {"containers": [{"image": "nginx"}]}}}}
    result = server.kubectl("patch", "deployment", "web", "-n", ns, "-p", json.dumps(patch), check=False)
    assert result.returncode == 1
    assert "map: map[image:nginx] does not contain declared merge key: name" in result.stderr


def test_edit_with_a_scripted_editor(server: Server, ns: str) -> None:
    server.kubectl("apply", "-n", ns, "-f", "-", input=deployment("nginx:1", []))
    script = (
        "import sys; p = sys.argv[1]; t = open(p).read(); open(p, 'w').write(t.replace('nginx:1', 'nginx:9'))"
    )
    env = server.env()
    env["KUBE_EDITOR"] = f'{sys.executable} -c "{script}"'
    result = subprocess.run(
        ["kubectl", "edit", "deployment/web", "-n", ns], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert containers(server, ns)[0]["image"] == "nginx:9"


def test_emptied_metadata_lists_and_maps_are_left_out(server: Server, ns: str) -> None:
    """ObjectMeta's omitempty: the last finalizer or label removed leaves no ``[]`` / ``{}``."""
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "tidy", "labels": {"a": "1"}, "finalizers": ["example.com/keep"]}}  # fmt: skip
    server.kubectl("create", "-n", ns, "-f", "-", input=json.dumps(cm))
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["example.com/keep"]}}
    server.kubectl("patch", "-n", ns, "configmap", "tidy", "--type=strategic", "-p", json.dumps(patch))
    server.kubectl("label", "-n", ns, "configmap", "tidy", "a-")
    meta = server.kubectl_json("get", "-n", ns, "configmap", "tidy")["metadata"]
    assert "finalizers" not in meta and "labels" not in meta, meta
    columns = "-o=custom-columns=F:.metadata.finalizers,L:.metadata.labels"
    assert server.kubectl("get", "-n", ns, "configmap", "tidy", columns, "--no-headers").stdout.split() == [
        "<none>",
        "<none>",
    ]
