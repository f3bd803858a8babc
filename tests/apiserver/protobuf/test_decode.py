"""Protobuf bodies → the JSON dict the same object would have been: envelope, kinds, omitempty, errors."""

from __future__ import annotations

from typing import Any

import pytest

from apimachinery.errors import StatusError
from apiserver.protobuf import decode, table
from apiserver.protobuf.wellknown import go_duration

from .pb import MAGIC, entry, envelope, field, meta, num, tag, varint

META = "k8s.io.apimachinery.pkg.apis.meta.v1"
T = 1714557600  # 2024-05-01T10:00:00Z


def _time(seconds: int, nanos: int = 0) -> bytes:
    return num(1, seconds) + (num(2, nanos) if nanos else b"")


def _container(*extra: bytes) -> bytes:
    return field(1, "app") + field(2, "busybox") + b"".join(extra)


def _pod(*container_fields: bytes) -> bytes:
    spec = field(2, _container(*container_fields)) + field(3, "") + field(6, "") + num(11, 0)
    return field(1, meta("p")) + field(2, spec) + field(3, b"")


CASES: list[Any] = [
    pytest.param(
        envelope(
            "v1",
            "ConfigMap",
            field(1, meta("x", "default")) + entry(2, "a", "1") + entry(3, "bin", b"\x00\xff") + num(4, 0),
        ),
        {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {"name": "x", "namespace": "default", "creationTimestamp": None},
            "data": {"a": "1"},
            "binaryData": {"bin": "AP8="},
            "immutable": False,  # a *bool: false is a value, kept
        },
        id="configmap-omitempty-bytes-pointer-bool",
    ),
    pytest.param(
        envelope("v1", "Secret", field(1, meta("s")) + entry(2, "p", b"q") + field(3, "Opaque")),
        {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {"name": "s", "creationTimestamp": None},
            "data": {"p": "cQ=="},
            "type": "Opaque",
        },
        id="secret-data-base64",
    ),
    pytest.param(
        envelope("apps/v1", "Deployment", field(1, meta("d")) + field(2, num(1, 0) + num(5, 0) + num(7, 0))),
        {
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": {"name": "d", "creationTimestamp": None},
            "spec": {"replicas": 0},  # *int32 zero kept; minReadySeconds and paused dropped
        },
        id="pointer-zero-kept-omitempty-dropped",
    ),
    pytest.param(
        envelope("v1", "Pod", _pod(field(6, field(1, "") + num(3, 0)))),
        {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": "p", "creationTimestamp": None},
            "spec": {"containers": [{"name": "app", "image": "busybox", "ports": [{"containerPort": 0}]}]},
            "status": {},  # a present struct is an object even when empty, as Go writes it
        },
        id="required-zero-kept-empty-struct-kept",
    ),
    pytest.param(
        envelope(
            "v1",
            "Pod",
            _pod(
                field(7, field(1, "PASS") + field(3, field(4, field(1, field(1, "creds")) + field(2, "pw")))),
                field(8, entry(1, "cpu", field(1, "500m")) + entry(2, "memory", b"")),
                field(10, field(1, field(1, field(1, "true"))) + num(2, 3)),
            ),
        ),
        {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": "p", "creationTimestamp": None},
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "image": "busybox",
                        "env": [
                            {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "pw"}}}
                        ],
                        "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "0"}},
                        "livenessProbe": {"exec": {"command": ["true"]}, "initialDelaySeconds": 3},
                    }
                ]
            },
            "status": {},
        },
        id="inline-quantity-map-entry-without-value",
    ),
    pytest.param(
        envelope(
            "coordination.k8s.io/v1",
            "Lease",
            field(1, meta("l") + field(9, _time(T)))
            + field(2, field(1, "me") + num(2, 15) + field(3, _time(T, 123456789)) + field(4, _time(0))),
        ),
        {
            "kind": "Lease",
            "apiVersion": "coordination.k8s.io/v1",
            "metadata": {"name": "l", "creationTimestamp": None, "deletionTimestamp": "2024-05-01T10:00:00Z"},
            "spec": {
                "holderIdentity": "me",
                "leaseDurationSeconds": 15,
                "acquireTime": "2024-05-01T10:00:00.123456Z",
                "renewTime": "1970-01-01T00:00:00.000000Z",
            },
        },
        id="time-and-microtime",
    ),
    pytest.param(
        envelope(
            "v1",
            "Service",
            field(1, meta("s"))
            + field(
                2,
                field(1, num(3, 80) + field(4, num(1, 0) + num(2, 8080)))
                + field(1, num(3, 81) + field(4, num(1, 1) + field(3, "http"))),
            ),
        ),
        {
            "kind": "Service",
            "apiVersion": "v1",
            "metadata": {"name": "s", "creationTimestamp": None},
            "spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 81, "targetPort": "http"}]},
        },
        id="int-or-string",
    ),
    pytest.param(
        envelope(
            "apps/v1",
            "ControllerRevision",
            field(1, meta("r")) + field(2, field(1, b'{"a": [1]}')) + num(3, 2),
        ),
        {
            "kind": "ControllerRevision",
            "apiVersion": "apps/v1",
            "metadata": {"name": "r", "creationTimestamp": None},
            "data": {"a": [1]},
            "revision": 2,
        },
        id="raw-extension",
    ),
    pytest.param(
        envelope("v1", "DeleteOptions", num(1, -1) + num(3, 0) + field(4, "Background") + field(5, "All")),
        {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "gracePeriodSeconds": -1,
            "orphanDependents": False,
            "propagationPolicy": "Background",
            "dryRun": ["All"],
        },
        id="delete-options-negative-int64",
    ),
    pytest.param(
        envelope("policy/v1", "Eviction", field(1, meta("p")) + field(2, num(1, 0))),
        {
            "kind": "Eviction",
            "apiVersion": "policy/v1",
            "metadata": {"name": "p", "creationTimestamp": None},
            "deleteOptions": {"gracePeriodSeconds": 0},
        },
        id="eviction",
    ),
    pytest.param(
        envelope(
            "v1", "ConfigMap", field(1, meta("x")) + num(99, 7) + field(100, b"\xff") + entry(2, "a", "1")
        ),
        {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {"name": "x", "creationTimestamp": None},
            "data": {"a": "1"},
        },
        id="unknown-fields-skipped",
    ),
]


@pytest.mark.parametrize(("body", "expected"), CASES)
def test_decode(body: bytes, expected: dict[str, Any]) -> None:
    assert decode(body) == expected


def _configmap_with(raw: bytes) -> bytes:
    return envelope("v1", "ConfigMap", raw)


ERRORS = [
    pytest.param(b"{}", "does not start with the protobuf magic", id="json-not-protobuf"),
    pytest.param(b"k8s", "does not start with the protobuf magic", id="short-magic"),
    pytest.param(MAGIC, "names no apiVersion and kind", id="empty-envelope"),
    pytest.param(
        MAGIC + b"\x0a\x20abc", "declares 32 bytes but only 3 remain (byte 4)", id="truncated-envelope"
    ),
    pytest.param(MAGIC + b"\x8f\xff\xff", "truncated varint (byte 4)", id="garbage"),
    pytest.param(
        envelope("v1", "Frobnicator", b""),
        'no kind "Frobnicator" is registered for version "v1"',
        id="unknown-kind",
    ),
    pytest.param(
        envelope("apps/v2", "Deployment", b""), 'no kind "Deployment" is registered', id="unknown-version"
    ),
    pytest.param(
        _configmap_with(field(1, field(1, "x") + tag(7, 0) + b"\xff")),
        "truncated varint (at metadata, byte",
        id="truncated-nested-varint",
    ),
    pytest.param(
        _configmap_with(field(1, num(1, 5))),
        "field 1 is varint, expected string (length-delimited) (at metadata.name, byte",
        id="wrong-wire-type",
    ),
    pytest.param(
        envelope("apps/v1", "Deployment", field(2, field(1, "two"))),
        "field 1 is length-delimited, expected int32 (varint) (at spec.replicas, byte",
        id="wrong-wire-type-number",
    ),
    pytest.param(
        envelope("v1", "Service", field(2, field(1, field(4, num(1, 7))))),
        "IntOrString has impossible type 7 (at spec.ports[0].targetPort",
        id="bad-int-or-string",
    ),
    pytest.param(
        envelope("apps/v1", "ControllerRevision", field(2, field(1, b"{nope"))),
        "embedded raw bytes are not JSON",
        id="raw-extension-not-json",
    ),
]


@pytest.mark.parametrize(("body", "message"), ERRORS)
def test_bad_bodies_are_400_naming_the_problem(body: bytes, message: str) -> None:
    with pytest.raises(StatusError) as e:
        decode(body)
    status = e.value.status
    assert status["code"] == 400
    assert status["reason"] == "BadRequest"
    assert message in status["message"]
    assert status["message"].startswith("error decoding protobuf body: ")


def test_every_truncation_of_a_real_body_is_a_400() -> None:
    """Cutting a body anywhere never crashes the decoder: a clean 400 or a shorter valid object."""
    body = CASES[4].values[0]
    failures = 0
    for cut in range(len(body)):
        try:
            decode(body[:cut])
        except StatusError as e:
            assert e.status["code"] == 400
            failures += 1
    assert failures > len(body) // 2


@pytest.mark.parametrize(
    ("nanoseconds", "text"),
    [
        (0, "0s"),
        (1, "1ns"),
        (1_500, "1.5µs"),
        (300_000_000, "300ms"),
        (1_000_000_000, "1s"),
        (90 * 10**9, "1m30s"),
        (3600 * 10**9, "1h0m0s"),
        (3723_500_000_000, "1h2m3.5s"),
        (-(2 * 10**9), "-2s"),
    ],
)
def test_go_duration(nanoseconds: int, text: str) -> None:
    assert go_duration(nanoseconds) == text


def test_duration_message() -> None:
    from apiserver.protobuf.decode import _value
    from apiserver.protobuf.wire import iter_fields

    buf = field(1, num(1, 90 * 10**9))
    (raw,) = iter_fields(buf)
    assert _value(buf, raw, table.FieldType(f".{META}.Duration"), "x", 0) == "1m30s"


def test_every_served_kind_has_a_message() -> None:
    from apiserver import resources

    for r in resources.RESOURCES:
        name = table.message_for_kind(r.api_version, r.kind)
        assert name is not None, r
        assert table.message(name).fields


def test_every_referenced_message_is_in_the_table() -> None:
    from apiserver.protobuf.table import _load

    _kinds, messages = _load()
    for msg in messages.values():
        for f in msg.fields.values():
            if f.type.message:
                assert table.message(f.type.message), (msg.name, f.name)


def test_varint_helper_matches_reader() -> None:
    assert varint(300) == b"\xac\x02"
