"""The wire reader: varints, fixed widths, lengths, and every way input can be cut short."""

from __future__ import annotations

import pytest

from apiserver.protobuf import wire

from .pb import field, num, tag, varint


@pytest.mark.parametrize(
    ("data", "value"),
    [
        pytest.param(b"\x00", 0, id="zero"),
        pytest.param(b"\x01", 1, id="one"),
        pytest.param(b"\x7f", 127, id="one-byte-max"),
        pytest.param(b"\x80\x01", 128, id="two-bytes"),
        pytest.param(b"\xac\x02", 300, id="300"),
        pytest.param(b"\xff" * 9 + b"\x01", 2**64 - 1, id="uint64-max"),
    ],
)
def test_read_varint(data: bytes, value: int) -> None:
    assert wire.read_varint(data, 0, len(data)) == (value, len(data))


@pytest.mark.parametrize(
    ("value", "as_int32", "as_int64"),
    [
        pytest.param(5, 5, 5, id="positive"),
        pytest.param(-1, -1, -1, id="minus-one"),
        pytest.param(-(2**31), -(2**31), -(2**31), id="int32-min"),
        pytest.param(-(2**63), 0, -(2**63), id="int64-min"),
    ],
)
def test_negative_numbers_are_ten_byte_twos_complement(value: int, as_int32: int, as_int64: int) -> None:
    data = varint(value)
    if value < 0:
        assert len(data) == 10
    raw, _ = wire.read_varint(data, 0, len(data))
    assert wire.as_int32(raw) == as_int32
    assert wire.as_int64(raw) == as_int64


def test_fields_in_wire_order_with_absolute_offsets() -> None:
    buf = b"xx" + num(1, 150) + field(2, b"abc") + tag(3, 5) + b"\x00\x00\x80\x3f" + tag(4, 1) + bytes(8)
    fields = list(wire.iter_fields(buf, 2))
    assert [(f.number, f.wire_type, f.offset) for f in fields] == [
        (1, 0, 2),
        (2, 2, 5),
        (3, 5, 10),
        (4, 1, 15),
    ]
    assert fields[0].value == 150
    assert buf[fields[1].start : fields[1].end] == b"abc"
    assert wire.as_float(fields[2].value) == 1.0
    assert wire.as_double(fields[3].value) == 0.0


def test_packed_varints() -> None:
    buf = field(1, varint(1) + varint(300) + varint(-1))
    (f,) = wire.iter_fields(buf)
    assert [wire.as_int64(v) for v in wire.iter_packed(buf, f)] == [1, 300, -1]


@pytest.mark.parametrize(
    ("buf", "message", "offset"),
    [
        pytest.param(b"\x08\x96", "truncated varint", 1, id="truncated-varint-value"),
        pytest.param(b"\x80", "truncated varint", 0, id="truncated-tag"),
        pytest.param(b"\x08" + b"\xff" * 11, "varint longer than 10 bytes", 1, id="overlong-varint"),
        pytest.param(b"\x12\x05ab", "declares 5 bytes but only 2 remain", 0, id="length-beyond-buffer"),
        pytest.param(b"\x12", "truncated varint", 1, id="missing-length"),
        pytest.param(b"\x0d\x00\x00", "truncated fixed32", 0, id="truncated-fixed32"),
        pytest.param(b"\x09" + bytes(7), "truncated fixed64", 0, id="truncated-fixed64"),
        pytest.param(b"\x00\x00", "invalid field number 0", 0, id="field-zero"),
        pytest.param(b"\x0f", "invalid wire type 7", 0, id="wire-type-7"),
        pytest.param(b"\x0b", "group wire type", 0, id="group"),
    ],
)
def test_malformed_input(buf: bytes, message: str, offset: int) -> None:
    with pytest.raises(wire.WireError) as e:
        list(wire.iter_fields(buf))
    assert message in e.value.message
    assert e.value.offset == offset
