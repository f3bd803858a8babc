"""Regenerate ``messages.json`` from the protobuf definitions kubectl itself was built with.

Usage::

    .venv/bin/python -m apiserver.protobuf.generate [--kubectl PATH]

Where the definitions come from. Every ``generated.pb.go`` in k8s.io/api and
k8s.io/apimachinery registers its ``generated.proto`` with the Go protobuf
runtime as a gzipped ``FileDescriptorProto`` (the compiled form of the .proto
file: messages, field numbers, types, labels). Those bytes are in every Go
binary that links the API types, so the kubectl 1.32 binary on this machine
carries exactly the messages it encodes. This script finds the gzip members in
the binary, parses the descriptors with protobuf's own ``descriptor_pb2`` and
keeps the messages reachable from the kinds this server serves.

The descriptors carry more than the published .proto text: go-to-protobuf
compiled them with gogoproto field options, and ``(gogoproto.nullable) = false``
marks a Go *value* field, its absence a Go *pointer*. That is what decides
whether a zero on the wire means "unset" (``hostNetwork: false``, dropped, as
``omitempty`` drops it) or a real value (``replicas: 0``, kept). The OpenAPI
document (openapi/swagger.json) adds the rest: which fields are ``required``
(no ``omitempty``: their zero stays) and which message fields are inlined.

No upstream source is copied into the repository: only the derived table, whose
``source`` key names the binary and the proto files it came from.
"""

from __future__ import annotations

import argparse
import json
import re
import zlib
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2

from apiserver import resources, schema
from apiserver.protobuf import table, wire

DEFAULT_KUBECTL = "/usr/lib/google-cloud-sdk/bin/kubectl.1.32"

#: The proto files whose messages the served kinds use.
PROTO_FILES = (
    "k8s.io/api/core/v1/generated.proto",
    "k8s.io/api/apps/v1/generated.proto",
    "k8s.io/api/batch/v1/generated.proto",
    "k8s.io/api/coordination/v1/generated.proto",
    "k8s.io/api/discovery/v1/generated.proto",
    "k8s.io/api/events/v1/generated.proto",
    "k8s.io/api/policy/v1/generated.proto",
    "k8s.io/api/autoscaling/v1/generated.proto",
    "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto",
    "k8s.io/apimachinery/pkg/runtime/generated.proto",
    "k8s.io/apimachinery/pkg/util/intstr/generated.proto",
    "k8s.io/apimachinery/pkg/api/resource/generated.proto",
)

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
#: Option kinds registered in every group version (``metav1.AddToGroupVersion``).
META_KINDS = ("DeleteOptions", "CreateOptions", "UpdateOptions", "PatchOptions", "Status")

#: The Go fields embedded with ``json:",inline"`` that still carry a protobuf field:
#: the embedded struct's fields appear directly in the parent's JSON (a
#: ``secretKeyRef`` has ``name`` beside ``key``, not ``localObjectReference.name``).
#: :func:`_check_inline` fails the generation if the OpenAPI document shows another.
_CORE = "k8s.io.api.core.v1"
INLINE = frozenset(
    {
        (f"{_CORE}.Probe", "handler"),
        (f"{_CORE}.Volume", "volumeSource"),
        (f"{_CORE}.EphemeralContainer", "ephemeralContainerCommon"),
        (f"{_CORE}.PersistentVolumeSpec", "persistentVolumeSource"),
        *(
            (f"{_CORE}.{holder}", "localObjectReference")
            for holder in (
                "ConfigMapEnvSource",
                "ConfigMapKeySelector",
                "ConfigMapProjection",
                "ConfigMapVolumeSource",
                "SecretEnvSource",
                "SecretKeySelector",
                "SecretProjection",
            )
        ),
    }
)

_GOGO_NULLABLE = 65001  # gogoproto.nullable, a FieldOptions extension
_SCALAR_TYPES = {
    descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE: "double",
    descriptor_pb2.FieldDescriptorProto.TYPE_FLOAT: "float",
    descriptor_pb2.FieldDescriptorProto.TYPE_INT64: "int64",
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT64: "uint64",
    descriptor_pb2.FieldDescriptorProto.TYPE_INT32: "int32",
    descriptor_pb2.FieldDescriptorProto.TYPE_UINT32: "uint32",
    descriptor_pb2.FieldDescriptorProto.TYPE_BOOL: "bool",
    descriptor_pb2.FieldDescriptorProto.TYPE_STRING: "string",
    descriptor_pb2.FieldDescriptorProto.TYPE_BYTES: "bytes",
}
_GZIP_MEMBER = re.compile(rb"\x1f\x8b\x08\x00\x00\x00\x00\x00")


def descriptors(binary: bytes) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """Every ``generated.proto`` descriptor gzipped into a Go binary, by file name."""
    found: dict[str, descriptor_pb2.FileDescriptorProto] = {}
    for match in _GZIP_MEMBER.finditer(binary):
        try:
            data = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(binary[match.start() :])
            fd = descriptor_pb2.FileDescriptorProto.FromString(data)
        except Exception:  # most gzip-looking byte runs are something else
            continue
        if fd.name.endswith("generated.proto") and fd.message_type:
            found[fd.name] = fd
    return found


def _nullable(field: descriptor_pb2.FieldDescriptorProto) -> bool:
    """gogoproto.nullable (default true): whether the Go field is a pointer or a slice/map."""
    options = field.options.SerializeToString()
    for raw in wire.iter_fields(options):
        if raw.number == _GOGO_NULLABLE and raw.wire_type == wire.VARINT:
            return raw.value != 0
    return True


def _index(files: dict[str, descriptor_pb2.FileDescriptorProto]) -> dict[str, descriptor_pb2.DescriptorProto]:
    """Every message (nested map entries included) by full name, without the leading dot."""
    out: dict[str, descriptor_pb2.DescriptorProto] = {}

    def add(prefix: str, msg: descriptor_pb2.DescriptorProto) -> None:
        out[f"{prefix}.{msg.name}"] = msg
        for nested in msg.nested_type:
            add(f"{prefix}.{msg.name}", nested)

    for fd in files.values():
        for msg in fd.message_type:
            add(fd.package, msg)
    return out


def proto_package(group: str, version: str) -> str:
    """``apps``/``v1`` → ``k8s.io.api.apps.v1``; the core group is ``core``."""
    if group == "meta.k8s.io":
        return META
    return f"k8s.io.api.{group.split('.', 1)[0] or 'core'}.{version}"


def served_kinds(messages: dict[str, Any]) -> dict[str, dict[str, str]]:
    """``{apiVersion: {kind: message}}`` for every kind a request body may carry here."""
    kinds: dict[str, dict[str, str]] = {}

    def add(group: str, version: str, kind: str, package: str | None = None) -> None:
        name = f"{package or proto_package(group, version)}.{kind}"
        if name in messages:
            kinds.setdefault(f"{group}/{version}" if group else version, {})[kind] = name

    for r in resources.RESOURCES:
        add(r.group, r.version, r.kind)
        for sub in r.subresources:
            add(sub.group, sub.version, sub.kind)
    for gv in [*kinds, "meta.k8s.io/v1"]:
        group, _, version = gv.rpartition("/")
        for kind in META_KINDS:
            add(group, version, kind, META)
    return {gv: dict(sorted(ks.items())) for gv, ks in sorted(kinds.items())}


def _type(field: descriptor_pb2.FieldDescriptorProto) -> str:
    if field.type == descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
        return field.type_name
    if field.type not in _SCALAR_TYPES:
        raise SystemExit(f"unsupported protobuf type {field.type} for field {field.name}")
    return _SCALAR_TYPES[field.type]


def _definition(message_name: str) -> dict[str, Any]:
    """The OpenAPI definition of a message (``k8s.io.api...`` ↔ ``io.k8s.api...``), or {}."""
    return schema.definitions().get("io.k8s." + message_name.removeprefix("k8s.io."), {})


def build(files: dict[str, descriptor_pb2.FileDescriptorProto]) -> dict[str, Any]:
    index = _index(files)
    kinds = served_kinds(index)
    todo = [name for ks in kinds.values() for name in ks.values()] + [
        "k8s.io.apimachinery.pkg.runtime.Unknown"
    ]
    out: dict[str, list[list[Any]]] = {}
    while todo:
        name = todo.pop()
        if name in out:
            continue
        msg = index[name]
        required = set(_definition(name).get("required", ()))
        rows: list[list[Any]] = []
        for f in sorted(msg.field, key=lambda f: f.number):
            type_ = _type(f)
            flags = ""
            entry = index.get(type_[1:]) if type_.startswith(".") else None
            if entry is not None and entry.options.map_entry:
                key, value = sorted(entry.field, key=lambda f: f.number)
                type_ = f"map<{_type(key)},{_type(value)}>"
                if value.type == descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE:
                    todo.append(value.type_name[1:])
            else:
                if f.label == descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED:
                    flags += "r"
                elif _nullable(f):
                    flags += "p"
                if entry is not None:
                    todo.append(type_[1:])
            if f.name in required:
                flags += "q"
            if (name, f.name) in INLINE:
                flags += "i"
            rows.append([f.number, f.name, type_, flags])
        out[name] = rows
    _check_inline(out)
    return {
        "source": (
            "FileDescriptorProtos compiled into kubectl v1.32 (from "
            + ", ".join(PROTO_FILES)
            + ", k8s.io/api and k8s.io/apimachinery v0.32); required fields from openapi/swagger.json. "
            "Generated by apiserver/protobuf/generate.py: do not edit."
        ),
        "kinds": kinds,
        "messages": dict(sorted(out.items())),
    }


def _check_inline(messages: dict[str, list[list[Any]]]) -> None:
    """Every message field missing from its OpenAPI definition must be a known inline one."""
    for name, rows in messages.items():
        props = _definition(name).get("properties")
        if not props:
            continue
        for _number, field, type_, flags in rows:
            if field not in props and type_.startswith(".") and "i" not in flags:
                raise SystemExit(f"{name}.{field} is not in the OpenAPI definition: inline? add it to INLINE")


def write(doc: dict[str, Any], path: Path) -> None:
    """One message a line: small diffs when a field is added upstream."""
    lines = ["{", f'"source": {json.dumps(doc["source"])},', f'"kinds": {json.dumps(doc["kinds"])},']
    lines.append('"messages": {')
    items = list(doc["messages"].items())
    for i, (name, rows) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        lines.append(f"{json.dumps(name)}: {json.dumps(rows, separators=(',', ':'))}{comma}")
    lines += ["}", "}"]
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--kubectl", default=DEFAULT_KUBECTL, help="a kubectl 1.32 binary")
    parser.add_argument("--out", type=Path, default=table.TABLE_PATH)
    args = parser.parse_args()
    found = descriptors(Path(args.kubectl).read_bytes())
    missing = [f for f in PROTO_FILES if f not in found]
    if missing:
        raise SystemExit(f"not found in {args.kubectl}: {', '.join(missing)}")
    write(build({f: found[f] for f in PROTO_FILES}), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
