"""A tiny protobuf *encoder*, for tests only: builds the bodies the decoder must read.

Kept deliberately naive (every value spelled out by field number and wire type)
so a test reads like the wire: ``field(1, b"name")`` is field 1, length-delimited.
"""

from __future__ import annotations

MAGIC = b"k8s\x00"


def varint(n: int) -> bytes:
    """Base-128 varint; negative numbers as 64-bit two's complement (ten bytes)."""
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def tag(number: int, wire_type: int) -> bytes:
    return varint(number << 3 | wire_type)


def field(number: int, value: bytes | str) -> bytes:
    """A length-delimited field (string, bytes or an embedded message)."""
    data = value.encode() if isinstance(value, str) else value
    return tag(number, 2) + varint(len(data)) + data


def num(number: int, value: int) -> bytes:
    """A varint field (int32, int64, bool)."""
    return tag(number, 0) + varint(value)


def entry(number: int, key: str, value: bytes | str) -> bytes:
    """One map entry: a message ``{key = 1; value = 2}``."""
    return field(number, field(1, key) + field(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    """The ``k8s\\0`` prefix and a runtime.Unknown around ``raw``."""
    type_meta = field(1, api_version) + field(2, kind)
    return MAGIC + field(1, type_meta) + field(2, raw) + field(3, "") + field(4, "")


def meta(name: str = "", namespace: str = "") -> bytes:
    """ObjectMeta the way go-to-protobuf writes it: every non-pointer field, zeros included."""
    return (
        field(1, name)
        + field(2, "")
        + field(3, namespace)
        + field(4, "")
        + field(5, "")
        + field(6, "")
        + num(7, 0)
        + field(8, b"")  # creationTimestamp: the zero Time is an empty message
    )
