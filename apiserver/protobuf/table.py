"""The message table: what each field number means, loaded from ``messages.json``.

The wire format says only "field 3 is 5 bytes long"; the *message definition*
says that field 3 of ``k8s.io.api.core.v1.ConfigMap`` is ``binaryData``, a
``map<string, bytes>``. Kubernetes writes those definitions in the
``generated.proto`` file of each API package (k8s.io/api/core/v1/generated.proto,
k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto, ...), produced from the Go
types by go-to-protobuf. :mod:`apiserver.protobuf.generate` turns them into
``messages.json``, one line per message::

    "k8s.io.api.core.v1.ConfigMap": [[1, "metadata", ".k8s.io...ObjectMeta", ""],
                                     [2, "data", "map<string,string>", ""], ...]

Each field is ``[number, name, type, flags]``. ``type`` is a scalar
(``string``, ``bytes``, ``bool``, ``int32``, ``int64``, ``uint32``, ``uint64``,
``double``, ``float``), a message (its full name after a leading dot) or
``map<K,V>``. ``flags`` holds letters:

* ``r`` repeated (a JSON list);
* ``p`` a *pointer* in Go (``*int32``): written only when set, so a zero value is
  a real value (``replicas: 0``) and stays in the JSON;
* ``q`` required in the OpenAPI schema (no ``omitempty``): a zero value stays;
* ``i`` inlined into the parent's JSON (Go ``json:",inline"``, e.g. a Probe's
  ``handler`` whose ``exec``/``httpGet`` sit directly in the probe).

The proto field names are the JSON names: go-to-protobuf names each field after
its JSON tag.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TABLE_PATH = Path(__file__).resolve().parent / "messages.json"

SCALARS = frozenset({"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float"})


@dataclass(frozen=True, slots=True)
class FieldType:
    """A scalar name, or a message name (``message`` set), of a field or a map value."""

    name: str

    @property
    def message(self) -> str | None:
        return self.name[1:] if self.name.startswith(".") else None


@dataclass(frozen=True, slots=True)
class Field:
    number: int
    name: str
    type: FieldType
    map_key: FieldType | None = None  # set for map<K,V>; ``type`` is then V
    repeated: bool = False
    pointer: bool = False
    required: bool = False
    inline: bool = False

    @property
    def keeps_zero(self) -> bool:
        """Whether a zero value is kept in the JSON (pointer or non-omitempty), not dropped."""
        return self.pointer or self.required


@dataclass(frozen=True, slots=True)
class Message:
    name: str
    fields: dict[int, Field]


def _field(number: int, name: str, type_: str, flags: str) -> Field:
    key = None
    if type_.startswith("map<"):
        k, v = type_[4:-1].split(",", 1)
        key, type_ = FieldType(k), v
    return Field(
        number=number,
        name=name,
        type=FieldType(type_),
        map_key=key,
        repeated="r" in flags,
        pointer="p" in flags,
        required="q" in flags,
        inline="i" in flags,
    )


@cache
def _load() -> tuple[dict[str, dict[str, str]], dict[str, Message]]:
    doc = json.loads(TABLE_PATH.read_text())
    messages = {
        name: Message(name, {f[0]: _field(*f) for f in fields}) for name, fields in doc["messages"].items()
    }
    return doc["kinds"], messages


def message(name: str) -> Message:
    """The message called ``name`` (full name, no leading dot). KeyError if not in the table."""
    return _load()[1][name]


def message_for_kind(api_version: str, kind: str) -> str | None:
    """The message of a served ``(apiVersion, kind)``, or None when this server has no such kind."""
    return _load()[0].get(api_version, {}).get(kind)
