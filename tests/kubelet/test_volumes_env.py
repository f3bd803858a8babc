"""Volumes written under the root dir, and container environments, from tables."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from kubelet.envvars import ConfigError, container_env, expand
from kubelet.objects import StaticObjects
from kubelet.volumes import MountError, VolumeManager
from tests.kubelet.helpers import pod

OBJECTS = StaticObjects(
    {
        ("configmaps", "default", "cfg"): {"data": {"mode": "fast", "level": "3"}},
        ("secrets", "default", "pw"): {"data": {"password": base64.b64encode(b"hunter2").decode()}},
    }
)


def with_meta(p: dict[str, Any]) -> dict[str, Any]:
    p["metadata"]["labels"] = {"app": "web", "tier": "front"}
    p["spec"]["serviceAccountName"] = "default"
    return p


@pytest.mark.parametrize(
    ("var", "expected"),
    [
        ({"name": "A", "value": "plain"}, "plain"),
        ({"name": "A", "value": "$(mode)-x"}, "fast-x"),
        ({"name": "A", "value": "$$(MODE)"}, "$(MODE)"),
        ({"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "level"}}}, "3"),
        ({"name": "A", "valueFrom": {"secretKeyRef": {"name": "pw", "key": "password"}}}, "hunter2"),
        ({"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}, "web"),
        ({"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}, "default"),
        ({"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}}, "web"),
        ({"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}, "n1"),
        ({"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}}, "default"),
        ({"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}, "10.244.0.9"),
        ({"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}}, "192.0.2.1"),
        (
            {"name": "A", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
            "64",
        ),
        (
            {"name": "A", "valueFrom": {"resourceFieldRef": {"resource": "requests.cpu", "divisor": "1m"}}},
            "250",
        ),
    ],
    ids=lambda v: (
        v["name"] + ":" + str(v.get("value") or next(iter(v["valueFrom"].values())))
        if isinstance(v, dict)
        else str(v)
    ),
)
async def test_env(var: dict[str, Any], expected: str) -> None:
    p = with_meta(pod(resources={"limits": {"memory": "64Mi"}, "requests": {"cpu": "250m"}}))
    container = {**p["spec"]["containers"][0], "envFrom": [{"configMapRef": {"name": "cfg"}}], "env": [var]}
    env = await container_env(p, container, OBJECTS, "10.244.0.9", "192.0.2.1")
    assert env["A"] == expected
    assert env["mode"] == "fast"


async def test_env_from_with_prefix_and_a_missing_optional_secret() -> None:
    p = pod()
    container = {"name": "c", "envFrom": [{"prefix": "CFG_", "configMapRef": {"name": "cfg"}},
                                          {"secretRef": {"name": "nope", "optional": True}}]}  # fmt: skip
    assert await container_env(p, container, OBJECTS) == {"CFG_mode": "fast", "CFG_level": "3"}


async def test_missing_secret_key_is_an_error() -> None:
    container = {
        "name": "c",
        "env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "pw", "key": "nope"}}}],
    }
    with pytest.raises(ConfigError, match="couldn't find key nope in Secret default/pw"):
        await container_env(pod(), container, OBJECTS)


def test_expand_leaves_unknown_references() -> None:
    assert expand("$(NOPE) $(A)", {"A": "1"}) == "$(NOPE) 1"


async def test_volumes_are_materialized_under_the_pod_dir(tmp_path: Path) -> None:
    p = with_meta(pod())
    host = tmp_path / "host"
    p["spec"]["volumes"] = [
        {"name": "scratch", "emptyDir": {}},
        {"name": "config", "configMap": {"name": "cfg", "items": [{"key": "mode", "path": "conf/mode"}]}},
        {"name": "creds", "secret": {"secretName": "pw", "defaultMode": 0o400}},
        {
            "name": "info",
            "downwardAPI": {"items": [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}}]},
        },
        {
            "name": "all",
            "projected": {"sources": [{"configMap": {"name": "cfg"}}, {"secret": {"name": "pw"}}]},
        },
        {"name": "host", "hostPath": {"path": str(host), "type": "DirectoryOrCreate"}},
    ]
    manager = VolumeManager(tmp_path, OBJECTS)
    paths = await manager.setup(p)
    base = tmp_path / "pods" / p["metadata"]["uid"] / "volumes"
    assert paths["scratch"] == str(base / "kubernetes.io~empty-dir" / "scratch")
    assert (base / "kubernetes.io~configmap/config/conf/mode").read_text() == "fast"
    secret = base / "kubernetes.io~secret/creds/password"
    assert secret.read_bytes() == b"hunter2" and secret.stat().st_mode & 0o777 == 0o400
    assert (base / "kubernetes.io~downward-api/info/labels").read_text() == 'app="web"\ntier="front"'
    assert sorted(p.name for p in (base / "kubernetes.io~projected/all").iterdir()) == [
        "level",
        "mode",
        "password",
    ]
    assert paths["host"] == str(host) and host.is_dir()
    manager.cleanup(p["metadata"]["uid"])
    assert not (tmp_path / "pods" / p["metadata"]["uid"]).exists()


async def test_missing_config_map_volume_fails_the_mount(tmp_path: Path) -> None:
    p = pod()
    p["spec"]["volumes"] = [{"name": "config", "configMap": {"name": "absent"}}]
    with pytest.raises(
        MountError, match=r'MountVolume\.SetUp failed for volume "config" : configmap "absent" not found'
    ):
        await VolumeManager(tmp_path, OBJECTS).setup(p)
