"""The protobuf wire format, read by hand: varints, fixed-width numbers, length-delimited bytes.

A protobuf message on the wire is nothing but a run of *fields*. Each field
starts with a varint *tag* = ``field_number << 3 | wire_type``, followed by a
value whose shape the wire type alone decides:

====  ================  =================================================
type  name              value
====  ================  =================================================
0     VARINT            base-128 varint: 7 bits a byte, low bits first,
                        the high bit set on every byte but the last
1     I64               8 bytes little-endian (fixed64, sfixed64, double)
2     LEN               a varint length, then that many bytes (string,
                        bytes, an embedded message, a map entry, a packed
                        list of numbers)
5     I32               4 bytes little-endian (fixed32, sfixed32, float)
====  ================  =================================================

(3 and 4 are the long-deprecated "groups"; 6 and 7 do not exist.)

Nothing on the wire names the field or its type: that comes from the message
definition (see :mod:`apiserver.protobuf.table`). Kubernetes' ``int32`` and
``int64`` are *plain* varints, not zigzag: a negative number is the 64-bit two's
complement, so it always takes ten bytes.

This reader never copies: it walks one ``bytes`` buffer by absolute offsets, so
an error can say exactly where it happened. Truncated input (a varint that runs
off the end, a length beyond the buffer) raises :class:`WireError`.

Upstream's readers are the gogo-generated ``Unmarshal`` methods in every
``generated.pb.go`` of k8s.io/api and k8s.io/apimachinery (``skipGenerated``
skips unknown fields), and the spec is https://protobuf.dev/programming-guides/encoding/.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
WIRE_TYPE_NAMES = {VARINT: "varint", I64: "fixed64", LEN: "length-delimited", I32: "fixed32"}

_MAX_VARINT_BYTES = 10  # 64 bits at 7 bits a byte
_UINT64 = (1 << 64) - 1


class WireError(ValueError):
    """Malformed protobuf bytes; ``offset`` is where in the buffer the problem starts."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


def read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """Decode one varint at ``pos``; return ``(value, position after it)``.

    The value is the raw unsigned 64-bit number: see :func:`as_int64` and
    :func:`as_int32` for the signed readings.
    """
    value = shift = 0
    start = pos
    while True:
        if pos >= end:
            raise WireError("truncated varint", start)
        if pos - start >= _MAX_VARINT_BYTES:
            raise WireError("varint longer than 10 bytes", start)
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value & _UINT64, pos
        shift += 7


def as_int64(value: int) -> int:
    """The two's-complement reading of a 64-bit varint (how ``int64`` is encoded)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def as_int32(value: int) -> int:
    """``int32``: the low 32 bits, signed (Go's ``int32(v)`` conversion does the same)."""
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def as_uint32(value: int) -> int:
    return value & 0xFFFFFFFF


def as_double(value: int) -> float:
    """A fixed64 holding an IEEE 754 double."""
    result: float = struct.unpack("<d", value.to_bytes(8, "little"))[0]
    return result


def as_float(value: int) -> float:
    """A fixed32 holding an IEEE 754 single."""
    result: float = struct.unpack("<f", value.to_bytes(4, "little"))[0]
    return result


@dataclass(frozen=True, slots=True)
class RawField:
    """One field as it sits on the wire, before anyone knows what it means.

    ``value`` is the number for VARINT, I64 and I32 fields. For LEN fields the
    payload is ``buf[start:end]`` (absolute offsets into the buffer being read).
    ``offset`` is where the field's tag starts, for error messages.
    """

    number: int
    wire_type: int
    offset: int
    value: int = 0
    start: int = 0
    end: int = 0


def iter_fields(buf: bytes, start: int = 0, end: int | None = None) -> Iterator[RawField]:
    """Walk the fields of one message in ``buf[start:end]``, in wire order."""
    end = len(buf) if end is None else end
    pos = start
    while pos < end:
        offset = pos
        tag, pos = read_varint(buf, pos, end)
        number, wire_type = tag >> 3, tag & 7
        if number == 0:
            raise WireError("invalid field number 0", offset)
        if wire_type == VARINT:
            value, pos = read_varint(buf, pos, end)
            yield RawField(number, wire_type, offset, value=value)
        elif wire_type in (I64, I32):
            width = 8 if wire_type == I64 else 4
            if pos + width > end:
                raise WireError(f"truncated {WIRE_TYPE_NAMES[wire_type]} value of field {number}", offset)
            value = int.from_bytes(buf[pos : pos + width], "little")
            pos += width
            yield RawField(number, wire_type, offset, value=value)
        elif wire_type == LEN:
            length, pos = read_varint(buf, pos, end)
            if length > end - pos:
                raise WireError(f"field {number} declares {length} bytes but only {end - pos} remain", offset)
            yield RawField(number, wire_type, offset, start=pos, end=pos + length)
            pos += length
        elif wire_type in (SGROUP, EGROUP):
            # Groups predate proto2's nested messages; no Kubernetes message uses them.
            raise WireError(f"field {number} uses the deprecated group wire type {wire_type}", offset)
        else:
            raise WireError(f"field {number} has invalid wire type {wire_type}", offset)


def iter_packed(buf: bytes, field: RawField) -> Iterator[int]:
    """The numbers of a packed repeated field (a LEN field holding back-to-back varints)."""
    pos = field.start
    while pos < field.end:
        value, pos = read_varint(buf, pos, field.end)
        yield value
