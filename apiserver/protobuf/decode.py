"""Kubernetes protobuf request bodies → the JSON object the same request would have sent.

kubectl 1.32's typed-client commands (``create configmap``, ``create
deployment``, ...) send ``Content-Type: application/vnd.kubernetes.protobuf``.
Such a body is an *envelope* (k8s.io/apimachinery/pkg/runtime/serializer/
protobuf/protobuf.go)::

    6b 38 73 00                      the magic "k8s\\0"
    runtime.Unknown {                (k8s.io/apimachinery/pkg/runtime/generated.proto)
      typeMeta = 1 { apiVersion = 1; kind = 2 }
      raw = 2                        the object, in the messages of its generated.proto
      contentEncoding = 3; contentType = 4    (empty from client-go; ignored, as upstream)
    }

``(apiVersion, kind)`` picks the message (:func:`table.message_for_kind`), and
``raw`` is converted field by field into the dict this server works with. The
dict is the one Go's ``encoding/json`` would have produced from the same object,
because that is what kubectl 1.31 sent for the same command:

* field names are the proto names, which go-to-protobuf took from the JSON tags;
* lists and maps as JSON lists and objects; ``bytes`` as base64 (Secret ``data``);
* a present nested message is an object even when empty (``"status": {}``), as
  Go writes a struct; the special messages of :mod:`wellknown` become strings,
  numbers or embedded JSON;
* ``omitempty``: go-to-protobuf writes every non-pointer field, zeros included.
  A zero scalar is dropped unless the Go field is a pointer (``replicas: 0`` is
  a value, not "unset") or required in the OpenAPI schema (no ``omitempty``).

Unknown field numbers are skipped, as gogo's generated ``Unmarshal`` skips them
(``skipGenerated``). Everything else that is wrong -- the magic, a truncated
varint, a length beyond the buffer, a known field with the wrong wire type, a kind
this server does not serve -- is a 400 naming the field path and byte offset.
"""

from __future__ import annotations

import base64
from typing import Any

from apimachinery import errors

from . import table, wellknown, wire

MAGIC = b"k8s\x00"
#: The deepest message nesting accepted; real Kubernetes objects stay far below it.
MAX_DEPTH = 64

_WIRE_TYPE = {
    "int32": wire.VARINT,
    "int64": wire.VARINT,
    "uint32": wire.VARINT,
    "uint64": wire.VARINT,
    "bool": wire.VARINT,
    "double": wire.I64,
    "float": wire.I32,
}


class DecodeError(ValueError):
    """What went wrong, at which JSON field path and byte offset of the body."""

    def __init__(self, message: str, path: str, offset: int) -> None:
        where = f"at {path}, " if path else ""
        super().__init__(f"{message} ({where}byte {offset})")


def decode(body: bytes) -> dict[str, Any]:
    """Decode one protobuf request body; any problem is a 400 ``Status``."""
    try:
        return decode_unchecked(body)
    except DecodeError as e:
        raise errors.new_bad_request(f"error decoding protobuf body: {e}") from None


def decode_unchecked(body: bytes) -> dict[str, Any]:
    """:func:`decode`, raising :class:`DecodeError` (for callers and tests that want it raw)."""
    if not body.startswith(MAGIC):
        raise DecodeError('the body does not start with the protobuf magic "k8s\\x00"', "", 0)
    api_version, kind, raw = _envelope(body)
    if not kind or not api_version:
        raise DecodeError("the envelope names no apiVersion and kind", "", len(MAGIC))
    name = table.message_for_kind(api_version, kind)
    if name is None:
        raise DecodeError(f'no kind "{kind}" is registered for version "{api_version}"', "", len(MAGIC))
    obj: dict[str, Any] = {"kind": kind, "apiVersion": api_version}
    obj.update(_message(body, raw.start, raw.end, table.message(name), "", 0))
    return obj


def _envelope(body: bytes) -> tuple[str, str, wire.RawField]:
    """``runtime.Unknown``: the type meta and where ``raw`` sits in the body."""
    api_version = kind = ""
    raw = wire.RawField(2, wire.LEN, len(body), start=len(body), end=len(body))
    try:
        for f in wire.iter_fields(body, len(MAGIC)):
            if f.number == 1 and f.wire_type == wire.LEN:
                for t in wire.iter_fields(body, f.start, f.end):
                    if t.number in (1, 2) and t.wire_type == wire.LEN:
                        text = body[t.start : t.end].decode("utf-8", "replace")
                        api_version, kind = (text, kind) if t.number == 1 else (api_version, text)
            elif f.number == 2 and f.wire_type == wire.LEN:
                raw = f
            elif f.number in (1, 2, 3, 4) and f.wire_type != wire.LEN:
                raise DecodeError("runtime.Unknown field should be length-delimited", "", f.offset)
    except wire.WireError as e:
        raise DecodeError(e.message, "", e.offset) from None
    return api_version, kind, raw


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _is_zero(value: Any) -> bool:
    return value == "" or (isinstance(value, int | float) and value == 0)


def _message(buf: bytes, start: int, end: int, msg: table.Message, path: str, depth: int) -> dict[str, Any]:
    """One message's fields as a JSON object (before ``apiVersion``/``kind``)."""
    if depth > MAX_DEPTH:
        raise DecodeError("the object is nested too deeply", path, start)
    out: dict[str, Any] = {}
    try:
        for raw in wire.iter_fields(buf, start, end):
            field = msg.fields.get(raw.number)
            if field is None:
                continue  # an unknown field: skipped, as gogo's skipGenerated does
            here = _join(path, field.name)
            if field.map_key is not None:
                key, value = _map_entry(buf, raw, field, here, depth)
                out.setdefault(field.name, {})[key] = value
            elif field.repeated:
                items = out.setdefault(field.name, [])
                if raw.wire_type == wire.LEN and field.type.name in _WIRE_TYPE:
                    items.extend(_scalar(field.type.name, v) for v in wire.iter_packed(buf, raw))
                else:
                    items.append(_value(buf, raw, field.type, f"{here}[{len(items)}]", depth))
            elif field.inline:
                out.update(_value(buf, raw, field.type, path, depth))
            else:
                out[field.name] = _value(buf, raw, field.type, here, depth)
    except wire.WireError as e:
        raise DecodeError(e.message, path, e.offset) from None
    for field in msg.fields.values():  # omitempty; a message is a Go struct, never "empty"
        if field.name in out and field.type.message is None and not (field.keeps_zero or field.repeated):
            if _is_zero(out[field.name]):
                del out[field.name]
    return out


def _map_entry(buf: bytes, raw: wire.RawField, field: table.Field, path: str, depth: int) -> tuple[str, Any]:
    """A map entry is a little message ``{key = 1; value = 2}``; either may be absent (zero)."""
    if raw.wire_type != wire.LEN:
        raise DecodeError(_wrong_wire_type(raw, "a map entry"), path, raw.offset)
    assert field.map_key is not None
    key: Any = ""
    value_raw: wire.RawField | None = None
    for f in wire.iter_fields(buf, raw.start, raw.end):
        if f.number == 1:
            key = _value(buf, f, field.map_key, path, depth)
        elif f.number == 2:
            value_raw = f
    if value_raw is None:  # an absent value is the zero value of its type
        zero_type = _WIRE_TYPE.get(field.type.name, wire.LEN)
        value_raw = wire.RawField(2, zero_type, raw.end, start=raw.end, end=raw.end)
    value = _value(buf, value_raw, field.type, f"{path}[{key}]", depth)
    return str(key), value


def _wrong_wire_type(raw: wire.RawField, expected: str) -> str:
    got = wire.WIRE_TYPE_NAMES.get(raw.wire_type, str(raw.wire_type))
    return f"field {raw.number} is {got}, expected {expected}"


def _scalar(type_name: str, value: int) -> Any:
    if type_name == "int32":
        return wire.as_int32(value)
    if type_name == "int64":
        return wire.as_int64(value)
    if type_name == "uint32":
        return wire.as_uint32(value)
    if type_name == "bool":
        return value != 0
    if type_name == "double":
        return wire.as_double(value)
    if type_name == "float":
        return wire.as_float(value)
    return value  # uint64


def _value(buf: bytes, raw: wire.RawField, type_: table.FieldType, path: str, depth: int) -> Any:
    """One field value, converted by its declared type."""
    name = type_.name
    if name in _WIRE_TYPE:
        if raw.wire_type != _WIRE_TYPE[name]:
            raise DecodeError(
                _wrong_wire_type(raw, f"{name} ({wire.WIRE_TYPE_NAMES[_WIRE_TYPE[name]]})"), path, raw.offset
            )
        return _scalar(name, raw.value)
    if raw.wire_type != wire.LEN:
        raise DecodeError(
            _wrong_wire_type(raw, f"{type_.message or name} (length-delimited)"), path, raw.offset
        )
    if name == "string":
        return buf[raw.start : raw.end].decode("utf-8", "replace")  # Go's JSON writes U+FFFD too
    if name == "bytes":
        return base64.b64encode(buf[raw.start : raw.end]).decode("ascii")
    message_name = type_.message
    assert message_name is not None
    special = wellknown.SPECIAL.get(message_name)
    if special is not None:
        try:
            return special(buf, raw.start, raw.end)
        except wellknown.UnrepresentableValue as e:
            raise DecodeError(str(e), path, raw.offset) from None
        except wire.WireError as e:
            raise DecodeError(e.message, path, e.offset) from None
    return _message(buf, raw.start, raw.end, table.message(message_name), path, depth + 1)
