"""Pod volumes, materialized as directories under the kubelet's root dir.

Upstream's volume manager (pkg/kubelet/volumemanager/, plugins in pkg/volume/) mounts
each volume under ``<root-dir>/pods/<pod uid>/volumes/<plugin>/<volume name>`` before
any container starts; the runtime then bind-mounts that directory at each
``volumeMounts[].mountPath``. The plugins done here, and their directories:

=================  =================================  ==========================================
``emptyDir``       ``kubernetes.io~empty-dir``        an empty directory that lives as long as the pod
``configMap``      ``kubernetes.io~configmap``        one file per key (or per ``items[].path``)
``secret``         ``kubernetes.io~secret``           the same, base64-decoded, mode 0644 by default
``downwardAPI``    ``kubernetes.io~downward-api``     one file per ``items[].fieldRef``/``resourceFieldRef``
``projected``      ``kubernetes.io~projected``        configMap + secret + downwardAPI sources in one dir
``hostPath``       (none: the node's own path)        ``type: DirectoryOrCreate`` creates it
=================  =================================  ==========================================

Files are written atomically (a temp file, then rename), as the atomic writer in
pkg/volume/util/atomic_writer.go does with its ``..data`` symlink swap. A missing
ConfigMap or Secret that is not ``optional`` raises :class:`MountError`; the pod
worker reports it as a ``FailedMount`` event (message
``MountVolume.SetUp failed for volume "cfg" : configmap "x" not found``) and retries.
"""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path
from typing import Any

from kubelet.envvars import ConfigError, field_value, resource_value
from kubelet.objects import Objects

PLUGIN_DIRS = {
    "emptyDir": "kubernetes.io~empty-dir",
    "configMap": "kubernetes.io~configmap",
    "secret": "kubernetes.io~secret",
    "downwardAPI": "kubernetes.io~downward-api",
    "projected": "kubernetes.io~projected",
}


class MountError(Exception):
    """A volume could not be set up (event ``FailedMount``)."""


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    os.replace(tmp, path)


class VolumeManager:
    def __init__(self, root_dir: Path, objects: Objects) -> None:
        self.root_dir, self.objects = root_dir, objects

    def pod_dir(self, uid: str) -> Path:
        return self.root_dir / "pods" / uid

    async def setup(self, pod: dict[str, Any], pod_ip: str = "", host_ip: str = "") -> dict[str, str]:
        """Make every volume of ``pod``; answers volume name -> host path."""
        uid = pod["metadata"]["uid"]
        paths: dict[str, str] = {}
        for volume in pod["spec"].get("volumes") or []:
            name = volume["name"]
            if "hostPath" in volume:
                host = volume["hostPath"]["path"]
                if volume["hostPath"].get("type") == "DirectoryOrCreate":
                    os.makedirs(host, exist_ok=True)
                paths[name] = host
                continue
            kind = next((k for k in PLUGIN_DIRS if k in volume), None)
            if kind is None:
                continue  # persistentVolumeClaim, csi ...: not supported here
            target = self.pod_dir(uid) / "volumes" / PLUGIN_DIRS[kind] / name
            target.mkdir(parents=True, exist_ok=True)
            try:
                files = await self._files(pod, kind, volume[kind], pod_ip, host_ip)
            except ConfigError as err:
                raise MountError(f'MountVolume.SetUp failed for volume "{name}" : {err}') from err
            for rel, (data, mode) in files.items():
                _write(target / rel, data, mode)
            paths[name] = str(target)
        return paths

    async def _files(
        self, pod: dict[str, Any], kind: str, source: dict[str, Any], pod_ip: str, host_ip: str
    ) -> dict[str, tuple[bytes, int]]:
        mode = int(source.get("defaultMode", 0o644))
        if kind == "emptyDir":
            return {}
        if kind in ("configMap", "secret"):
            return await self._keys(pod, kind, source, mode)
        if kind == "downwardAPI":
            return self._downward(pod, source.get("items") or [], mode, pod_ip, host_ip)
        files: dict[str, tuple[bytes, int]] = {}
        for projection in source.get("sources") or []:
            if "configMap" in projection:
                files.update(await self._keys(pod, "configMap", projection["configMap"], mode))
            elif "secret" in projection:
                files.update(await self._keys(pod, "secret", projection["secret"], mode))
            elif "downwardAPI" in projection:
                items = projection["downwardAPI"].get("items") or []
                files.update(self._downward(pod, items, mode, pod_ip, host_ip))
            # serviceAccountToken needs the TokenRequest API: not served here.
        return files

    async def _keys(
        self, pod: dict[str, Any], kind: str, source: dict[str, Any], mode: int
    ) -> dict[str, tuple[bytes, int]]:
        resource, name = (
            ("configmaps", source.get("name", ""))
            if kind == "configMap"
            else ("secrets", source.get("secretName") or source.get("name", ""))
        )
        obj = await self.objects.get(resource, pod["metadata"].get("namespace", "default"), name)
        if obj is None:
            if source.get("optional"):
                return {}
            raise ConfigError(f'{"configmap" if kind == "configMap" else "secret"} "{name}" not found')
        data: dict[str, bytes] = {}
        for key, value in (obj.get("data") or {}).items():
            data[key] = base64.b64decode(value) if kind == "secret" else str(value).encode()
        for key, value in (obj.get("binaryData") or {}).items():
            data[key] = base64.b64decode(value)
        items = source.get("items")
        if not items:
            return {key: (value, mode) for key, value in data.items()}
        files = {}
        for item in items:
            if item["key"] not in data:
                if source.get("optional"):
                    continue
                raise ConfigError(f"configmap references non-existent config key: {item['key']}")
            files[item["path"]] = (data[item["key"]], int(item.get("mode", mode)))
        return files

    def _downward(
        self, pod: dict[str, Any], items: list[dict[str, Any]], mode: int, pod_ip: str, host_ip: str
    ) -> dict[str, tuple[bytes, int]]:
        files = {}
        for item in items:
            if "fieldRef" in item:
                text = field_value(pod, item["fieldRef"]["fieldPath"], pod_ip, host_ip)
            else:
                ref = item["resourceFieldRef"]
                text = resource_value(pod, ref.get("containerName", ""), ref, {})
            files[item["path"]] = (text.encode(), int(item.get("mode", mode)))
        return files

    def cleanup(self, uid: str) -> None:
        """Remove the pod's directory once its containers are gone (orphaned pod cleanup)."""
        shutil.rmtree(self.pod_dir(uid), ignore_errors=True)
