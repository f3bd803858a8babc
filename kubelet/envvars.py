"""A container's environment: ``env`` and ``envFrom`` resolved at container start.

Mirrors pkg/kubelet/kubelet_pods.go ``makeEnvironmentVariables``: ``envFrom`` sources
first (a ConfigMap's or Secret's keys, with an optional ``prefix``), then ``env`` in
order, later names overriding earlier ones. Each ``env`` entry is one of

* ``value`` (``$(VAR)`` references to earlier variables are expanded, ``$$`` escapes);
* ``valueFrom.configMapKeyRef`` / ``secretKeyRef`` (``optional: true`` tolerates a missing object or key);
* ``valueFrom.fieldRef``: the downward API (``metadata.name``, ``metadata.namespace``,
  ``metadata.uid``, ``metadata.labels['k']``, ``metadata.annotations['k']``,
  ``spec.nodeName``, ``spec.serviceAccountName``, ``status.podIP``, ``status.hostIP`` ...);
* ``valueFrom.resourceFieldRef``: a container's request or limit, in ``divisor`` units.

A missing required reference is a :class:`ConfigError`: the container waits as
``CreateContainerConfigError`` with upstream's message.
"""

from __future__ import annotations

import base64
import math
import re
from typing import Any

from apimachinery.quantity import parse_quantity
from kubelet.objects import Objects


class ConfigError(Exception):
    """The container cannot be configured (reason ``CreateContainerConfigError``)."""


_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion (third_party/forked/golang/expansion)."""
    return _REF.sub(lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), value)


def field_value(pod: dict[str, Any], path: str, pod_ip: str = "", host_ip: str = "") -> str:
    """One downward-API field (pkg/api/v1/pod/util.go ``ExtractFieldPathAsString``)."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    if m := re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path):
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    if path in ("metadata.labels", "metadata.annotations"):
        items = sorted((meta.get(path.split(".")[1]) or {}).items())
        return "\n".join(f'{k}="{v}"' for k, v in items)
    simple = {
        "metadata.name": meta.get("name", ""),
        "metadata.namespace": meta.get("namespace", ""),
        "metadata.uid": meta.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName", ""),
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path not in simple:
        raise ConfigError(f"unsupported fieldPath: {path}")
    return str(simple[path])


def resource_value(
    pod: dict[str, Any], container_name: str, ref: dict[str, Any], node_allocatable: dict[str, str]
) -> str:
    """``resourceFieldRef``: ``limits.cpu`` / ``requests.memory`` ... divided by ``divisor``, rounded up.
    An unset limit falls back to the node's allocatable (as upstream)."""
    name = ref.get("containerName") or container_name
    containers = [*(pod["spec"].get("initContainers") or []), *pod["spec"]["containers"]]
    container = next((c for c in containers if c["name"] == name), None)
    if container is None:
        raise ConfigError(f"resourceFieldRef: no container {name!r}")
    kind, _, resource = ref["resource"].partition(".")
    resources = container.get("resources") or {}
    raw = (resources.get(kind) or {}).get(resource)
    if raw is None and kind == "limits":
        raw = node_allocatable.get(resource)
    if raw is None:
        return "0"
    divisor = parse_quantity(ref.get("divisor") or "1")
    return str(math.ceil(parse_quantity(raw) / divisor))


async def _key(objects: Objects, resource: str, ns: str, ref: dict[str, Any]) -> str | None:
    obj = await objects.get(resource, ns, ref["name"])
    kind = "configmap" if resource == "configmaps" else "secret"
    if obj is None:
        if ref.get("optional"):
            return None
        raise ConfigError(f'{kind} "{ref["name"]}" not found')
    data = dict(obj.get("data") or {})
    if ref["key"] not in data:
        if ref.get("optional"):
            return None
        raise ConfigError(f"couldn't find key {ref['key']} in {kind.capitalize()} {ns}/{ref['name']}")
    value = data[ref["key"]]
    return base64.b64decode(value).decode() if resource == "secrets" else str(value)


async def container_env(
    pod: dict[str, Any],
    container: dict[str, Any],
    objects: Objects,
    pod_ip: str = "",
    host_ip: str = "",
    node_allocatable: dict[str, str] | None = None,
) -> dict[str, str]:
    ns = pod["metadata"].get("namespace", "default")
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        ref = source.get("configMapRef") or source.get("secretRef") or {}
        resource = "configmaps" if "configMapRef" in source else "secrets"
        obj = await objects.get(resource, ns, ref.get("name", ""))
        if obj is None:
            if ref.get("optional"):
                continue
            kind = "configmap" if resource == "configmaps" else "secret"
            raise ConfigError(f'{kind} "{ref.get("name")}" not found')
        for key, value in (obj.get("data") or {}).items():
            env[prefix + key] = base64.b64decode(value).decode() if resource == "secrets" else str(value)
    for var in container.get("env") or []:
        name, source = var["name"], var.get("valueFrom")
        if source is None:
            env[name] = expand(str(var.get("value", "")), env)
        elif "configMapKeyRef" in source or "secretKeyRef" in source:
            resource = "configmaps" if "configMapKeyRef" in source else "secrets"
            value = await _key(objects, resource, ns, source.get("configMapKeyRef") or source["secretKeyRef"])
            if value is not None:
                env[name] = value
        elif "fieldRef" in source:
            env[name] = field_value(pod, source["fieldRef"]["fieldPath"], pod_ip, host_ip)
        elif "resourceFieldRef" in source:
            env[name] = resource_value(
                pod, container["name"], source["resourceFieldRef"], node_allocatable or {}
            )
    return env
