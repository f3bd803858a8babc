"""Pod spec defaulting and validation, shared by pods and every pod template.

Defaulting mirrors k8s pkg/apis/core/v1/defaults.go (SetDefaults_PodSpec,
SetDefaults_Container, SetDefaults_Pod) plus the two admission plugins every
cluster runs that add fields clients read back: ServiceAccount
(``serviceAccountName: default``) and DefaultTolerationSeconds (tolerations for
``node.kubernetes.io/not-ready`` and ``unreachable``, 300 s). Validation mirrors
the part of k8s pkg/apis/core/validation/validation.go (ValidatePodSpec,
validateContainers, validateContainerPorts) that users meet most often.
"""

from __future__ import annotations

from typing import Any

from apimachinery import field_errors as fe
from apimachinery import validation
from apimachinery.field_errors import FieldError

Object = dict[str, Any]

_RESTART_POLICIES = ("Always", "OnFailure", "Never")
_DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
_PULL_POLICIES = ("Always", "IfNotPresent", "Never")
_PROTOCOLS = ("TCP", "UDP", "SCTP")


def default_pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or an untagged image, else ``IfNotPresent`` (SetDefaults_Container)."""
    name = image.rsplit("/", 1)[-1]
    if "@" in name:
        return "IfNotPresent"
    tag = name.split(":", 1)[1] if ":" in name else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _default_container(c: Object) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    if c.get("image"):
        c.setdefault("imagePullPolicy", default_pull_policy(c["image"]))
    for port in c.get("ports") or []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        p = c.get(probe)
        if isinstance(p, dict):
            p.setdefault("timeoutSeconds", 1)
            p.setdefault("periodSeconds", 10)
            p.setdefault("successThreshold", 1)
            p.setdefault("failureThreshold", 3)
            http = p.get("httpGet")
            if isinstance(http, dict):
                http.setdefault("path", "/")
                http.setdefault("scheme", "HTTP")


def default_pod_spec(spec: Object) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("enableServiceLinks", True)
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, dict):
                _default_container(c)


def default_pod_admission(spec: Object) -> None:
    """What the ServiceAccount, Priority and DefaultTolerationSeconds admission plugins add to pods."""
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    tolerations = spec.setdefault("tolerations", [])
    have = {t.get("key") for t in tolerations if isinstance(t, dict)}
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if key not in have:
            tolerations.append(
                {"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            )


def validate_pod_spec(spec: Any, path: str) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [fe.required(path, "")]
    errs: list[FieldError] = []
    containers = spec.get("containers")
    if not containers:
        errs.append(fe.required(f"{path}.containers", ""))
    names: set[str] = set()
    for key in ("initContainers", "containers"):
        items = spec.get(key) or []
        if not isinstance(items, list):
            errs.append(fe.invalid(f"{path}.{key}", items, "must be a list"))
            continue
        for i, c in enumerate(items):
            errs += _validate_container(c, f"{path}.{key}[{i}]", names)
    policy = spec.get("restartPolicy")
    if policy is not None and policy not in _RESTART_POLICIES:
        errs.append(fe.not_supported(f"{path}.restartPolicy", policy, _RESTART_POLICIES))
    dns = spec.get("dnsPolicy")
    if dns is not None and dns not in _DNS_POLICIES:
        errs.append(fe.not_supported(f"{path}.dnsPolicy", dns, _DNS_POLICIES))
    grace = spec.get("terminationGracePeriodSeconds")
    if grace is not None and (not isinstance(grace, int) or grace < 0):
        errs.append(
            fe.invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than or equal to 0")
        )
    volumes: set[str] = set()
    for i, v in enumerate(spec.get("volumes") or []):
        vname = v.get("name", "") if isinstance(v, dict) else ""
        vpath = f"{path}.volumes[{i}].name"
        if not vname:
            errs.append(fe.required(vpath, ""))
        else:
            for msg in validation.is_dns1123_label(vname):
                errs.append(fe.invalid(vpath, vname, msg))
            if vname in volumes:
                errs.append(fe.duplicate(vpath, vname))
            volumes.add(vname)
    return errs


def is_valid_port_name(name: str) -> list[str]:
    """k8s.io/apimachinery/pkg/util/validation IsValidPortName (an IANA_SVC_NAME)."""
    errs = []
    if len(name) > 15:
        errs.append(validation.max_len_error(15))
    if not all(c.islower() or c.isdigit() or c == "-" for c in name) or not name.isascii():
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in name:
        errs.append("must not contain consecutive hyphens")
    if not any(c.isalpha() for c in name):
        errs.append("must contain at least one letter (a-z)")
    if name.startswith("-") or name.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def _validate_container(c: Any, path: str, names: set[str]) -> list[FieldError]:
    if not isinstance(c, dict):
        return [fe.invalid(path, c, "must be an object")]
    errs: list[FieldError] = []
    name = c.get("name")
    if not name:
        errs.append(fe.required(f"{path}.name", ""))
    else:
        for msg in validation.is_dns1123_label(str(name)):
            errs.append(fe.invalid(f"{path}.name", name, msg))
        if name in names:
            errs.append(fe.duplicate(f"{path}.name", name))
        names.add(name)
    if not c.get("image"):
        errs.append(fe.required(f"{path}.image", ""))
    pull = c.get("imagePullPolicy")
    if pull is not None and pull not in _PULL_POLICIES:
        errs.append(fe.not_supported(f"{path}.imagePullPolicy", pull, _PULL_POLICIES))
    port_names: set[str] = set()
    for i, p in enumerate(c.get("ports") or []):
        ppath = f"{path}.ports[{i}]"
        if not isinstance(p, dict):
            errs.append(fe.invalid(ppath, p, "must be an object"))
            continue
        cp = p.get("containerPort")
        if cp is None:
            errs.append(fe.required(f"{ppath}.containerPort", ""))
        elif not isinstance(cp, int) or not 1 <= cp <= 65535:
            errs.append(fe.invalid(f"{ppath}.containerPort", cp, "must be between 1 and 65535, inclusive"))
        hp = p.get("hostPort")
        if hp is not None and hp != 0 and (not isinstance(hp, int) or not 1 <= hp <= 65535):
            errs.append(fe.invalid(f"{ppath}.hostPort", hp, "must be between 1 and 65535, inclusive"))
        proto = p.get("protocol")
        if proto is not None and proto not in _PROTOCOLS:
            errs.append(fe.not_supported(f"{ppath}.protocol", proto, _PROTOCOLS))
        pname = p.get("name")
        if pname:
            for msg in is_valid_port_name(str(pname)):
                errs.append(fe.invalid(f"{ppath}.name", pname, msg))
            if pname in port_names:
                errs.append(fe.duplicate(f"{ppath}.name", pname))
            port_names.add(pname)
    return errs
