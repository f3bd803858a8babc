"""The few messages whose JSON is not "an object of their fields".

Most Kubernetes messages turn into a JSON object field by field. A handful of
apimachinery types carry a custom ``MarshalJSON`` in Go, so their JSON is a
string, a number or an embedded document instead:

=====================  =================================  ===============================
message                on the wire                        in JSON
=====================  =================================  ===============================
meta/v1 Time           ``{int64 seconds=1; int32 nanos=2}``  ``"2024-05-01T10:00:00Z"``
                       (an *empty* message is the zero       (seconds only), ``null`` when
                       time)                                 zero
meta/v1 MicroTime      the same                           six fractional digits
meta/v1 Duration       ``{int64 duration=1}`` nanoseconds  Go's ``"1h2m3.5s"``
meta/v1 FieldsV1       ``{bytes Raw=1}``                   the JSON object held in Raw
runtime RawExtension   ``{bytes raw=1}``                   the JSON object held in raw
intstr IntOrString     ``{int64 type=1; int32 intVal=2;    ``8080`` or ``"http"``
                       string strVal=3}``
resource Quantity      ``{string string=1}``               ``"500m"``
=====================  =================================  ===============================

Upstream: k8s.io/apimachinery/pkg/apis/meta/v1/time_proto.go (``Time.Unmarshal``:
zero-length data is the zero time, nanoseconds are dropped), micro_time_proto.go,
duration.go, fields_proto.go; pkg/runtime/extension.go; pkg/util/intstr/intstr.go;
pkg/api/resource/quantity_proto.go. And Go's ``time.Duration.String``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import orjson

from . import wire

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class UnrepresentableValue(ValueError):
    """A well-formed message whose value cannot be represented in JSON."""


def _scalars(buf: bytes, start: int, end: int) -> dict[int, wire.RawField]:
    """The last occurrence of each field (protobuf's rule for a repeated scalar field)."""
    return {f.number: f for f in wire.iter_fields(buf, start, end)}


def _varint(fields: dict[int, wire.RawField], number: int) -> int:
    f = fields.get(number)
    if f is None:
        return 0
    if f.wire_type != wire.VARINT:
        raise wire.WireError(f"field {number} should be a varint", f.offset)
    return f.value


def _len(fields: dict[int, wire.RawField], number: int, buf: bytes) -> bytes | None:
    f = fields.get(number)
    if f is None:
        return None
    if f.wire_type != wire.LEN:
        raise wire.WireError(f"field {number} should be length-delimited", f.offset)
    return buf[f.start : f.end]


def _timestamp(seconds: int, micros: int) -> dt.datetime:
    try:
        return _EPOCH + dt.timedelta(seconds=seconds, microseconds=micros)
    except OverflowError:
        raise UnrepresentableValue(f"time out of range: {seconds} seconds since the epoch") from None


def _rfc3339(t: dt.datetime, fraction: str = "") -> str:
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}{fraction}Z"


def time(buf: bytes, start: int, end: int) -> str | None:
    """meta/v1 Time: RFC 3339 in seconds; the empty message is the zero time, JSON ``null``."""
    if start == end:
        return None
    f = _scalars(buf, start, end)
    return _rfc3339(_timestamp(wire.as_int64(_varint(f, 1)), 0))


def micro_time(buf: bytes, start: int, end: int) -> str | None:
    """meta/v1 MicroTime: RFC 3339 with exactly six fractional digits."""
    if start == end:
        return None
    f = _scalars(buf, start, end)
    t = _timestamp(wire.as_int64(_varint(f, 1)), wire.as_int32(_varint(f, 2)) // 1000)
    return _rfc3339(t, f".{t.microsecond:06d}")


def _fraction(value: int, precision: int) -> tuple[int, str]:
    """Split ``value / 10**precision`` into whole part and ``".123"`` (no trailing zeros)."""
    whole, frac = divmod(value, 10**precision)
    digits = f"{frac:0{precision}d}".rstrip("0")
    return whole, f".{digits}" if digits else ""


def go_duration(nanoseconds: int) -> str:
    """Go's ``time.Duration.String``: ``"0s"``, ``"1.5µs"``, ``"300ms"``, ``"1h2m3.5s"``."""
    sign, u = ("-", -nanoseconds) if nanoseconds < 0 else ("", nanoseconds)
    if u == 0:
        return "0s"
    if u < 1_000_000_000:
        for limit, precision, unit in ((1_000, 0, "ns"), (1_000_000, 3, "µs"), (1_000_000_000, 6, "ms")):
            if u < limit:
                whole, frac = _fraction(u, precision) if precision else (u, "")
                return f"{sign}{whole}{frac}{unit}"
    seconds, frac = _fraction(u, 9)
    text = f"{seconds % 60}{frac}s"
    minutes = seconds // 60
    if minutes:
        text = f"{minutes % 60}m{text}"
        if minutes // 60:
            text = f"{minutes // 60}h{text}"
    return sign + text


def duration(buf: bytes, start: int, end: int) -> str:
    return go_duration(wire.as_int64(_varint(_scalars(buf, start, end), 1)))


def int_or_string(buf: bytes, start: int, end: int) -> int | str:
    """IntOrString: ``type`` 0 means the int, 1 the string."""
    f = _scalars(buf, start, end)
    kind = wire.as_int64(_varint(f, 1))
    if kind == 0:
        return wire.as_int32(_varint(f, 2))
    if kind == 1:
        return (_len(f, 3, buf) or b"").decode("utf-8", "replace")
    raise UnrepresentableValue(f"IntOrString has impossible type {kind}")


def quantity(buf: bytes, start: int, end: int) -> str:
    """Quantity travels as its canonical string; the zero Quantity is ``"0"``."""
    return (_len(_scalars(buf, start, end), 1, buf) or b"0").decode("utf-8", "replace")


def embedded_json(buf: bytes, start: int, end: int) -> Any:
    """RawExtension / FieldsV1: ``raw`` holds a JSON document, kept as that document."""
    raw = _len(_scalars(buf, start, end), 1, buf)
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise UnrepresentableValue(f"embedded raw bytes are not JSON ({e})") from None


#: The converters, by full message name.
SPECIAL: dict[str, Callable[[bytes, int, int], Any]] = {
    f"{META}.Time": time,
    f"{META}.MicroTime": micro_time,
    f"{META}.Duration": duration,
    f"{META}.FieldsV1": embedded_json,
    "k8s.io.apimachinery.pkg.runtime.RawExtension": embedded_json,
    "k8s.io.apimachinery.pkg.util.intstr.IntOrString": int_or_string,
    "k8s.io.apimachinery.pkg.api.resource.Quantity": quantity,
}
