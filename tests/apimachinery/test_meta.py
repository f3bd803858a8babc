"""Meta helpers: uids, timestamps, keys and generated names."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from apimachinery import meta, validation


def test_new_uid_is_uuid4() -> None:
    assert uuid.UUID(meta.new_uid()).version == 4
    assert meta.new_uid() != meta.new_uid()


@pytest.mark.parametrize(
    ("t", "text", "micro"),
    [
        (datetime(2024, 1, 2, 3, 4, 5, 123456, UTC), "2024-01-02T03:04:05Z", "2024-01-02T03:04:05.123456Z"),
        (datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))), "2024-01-02T03:04:05Z",
         "2024-01-02T03:04:05.000000Z"),
    ],
    ids=["utc", "offset"],
)  # fmt: skip
def test_format_time(t: datetime, text: str, micro: str) -> None:
    assert meta.format_time(t) == text
    assert meta.format_micro_time(t) == micro


@pytest.mark.parametrize("seed", range(5))
def test_format_time_spells_as_strftime(seed: int) -> None:
    """The isoformat shortcut writes what strftime writes, early years and offsets included."""
    r = random.Random(seed)
    for _ in range(2000):
        t = datetime(1, 1, 2, tzinfo=UTC) + timedelta(
            seconds=r.randint(0, 315_537_000_000), microseconds=r.randint(0, 999_999)
        )
        if r.random() < 0.5:
            t = t.astimezone(timezone(timedelta(minutes=r.randint(-720, 720))))
        assert meta.format_time(t) == t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert meta.format_micro_time(t) == t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize(
    "text", ["2024-01-02T03:04:05Z", "2024-01-02T05:04:05+02:00", "2024-01-02T03:04:05.000000Z"]
)
def test_parse_time(text: str) -> None:
    assert meta.parse_time(text) == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_now_shape() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta.now())
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", meta.now_micro())


@pytest.mark.parametrize(
    ("namespace", "name", "k"),
    [("default", "web", "default/web"), ("", "node1", "node1")],
    ids=["namespaced", "cluster"],
)
def test_keys(namespace: str, name: str, k: str) -> None:
    assert meta.key(namespace, name) == k
    assert meta.split_key(k) == (namespace, name)
    assert meta.object_key({"metadata": {"namespace": namespace, "name": name}}) == k


def test_generate_name() -> None:
    name = meta.generate_name("web-")
    assert name.startswith("web-") and len(name) == 9
    assert set(name[4:]) <= set(meta.ALPHANUMS)
    assert validation.is_dns1123_subdomain(name) == []


def test_generate_name_truncates_long_base() -> None:
    name = meta.generate_name("a" * 100)
    assert len(name) == 63 and name.startswith("a" * 58)
