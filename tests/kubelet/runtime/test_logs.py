"""CRI log lines, the log-file reader, image-name normalisation and cgroup paths."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kubelet.runtime.cgroups import pod_cgroup_parent
from kubelet.runtime.images import normalize_image
from kubelet.runtime.interface import LogLine, LogOptions
from kubelet.runtime.logs import format_line, parse_line, parse_timestamp, read_log_file, rfc3339nano

# (id, raw line, parsed)
LINES = [
    ("full", b"2026-11-23T21:56:13.791234567Z stdout F hello world",
     LogLine("2026-11-23T21:56:13.791234567Z", "stdout", b"hello world")),
    ("partial-stderr", b"2026-11-23T21:56:13.1Z stderr P part", LogLine("2026-11-23T21:56:13.1Z", "stderr", b"part", True)),
    ("empty-content", b"2026-11-23T21:56:13Z stdout F ", LogLine("2026-11-23T21:56:13Z", "stdout", b"")),
    ("no-space-after-tag", b"2026-11-23T21:56:13Z stdout F", LogLine("2026-11-23T21:56:13Z", "stdout", b"")),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "parsed"), [c[1:] for c in LINES], ids=[c[0] for c in LINES])
def test_parse_line(raw: bytes, parsed: LogLine) -> None:
    assert parse_line(raw) == parsed


@pytest.mark.parametrize(
    "raw", [b"hello", b"2026-11-23T21:56:13Z stdin F x", b"2026-11-23T21:56:13Z stdout X x"]
)
def test_parse_line_rejects(raw: bytes) -> None:
    with pytest.raises(ValueError):
        parse_line(raw)


def test_timestamps_round_trip_in_nanoseconds() -> None:
    ns = 1_795_475_610_250_109_601
    assert rfc3339nano(ns) == "2026-11-23T23:13:30.250109601Z"
    assert parse_timestamp(rfc3339nano(ns)) == ns
    line = LogLine(rfc3339nano(ns), "stdout", b"x")
    assert parse_line(format_line(line).rstrip(b"\n")) == line


async def test_read_log_file_tail_since_and_follow(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    lines = [LogLine(rfc3339nano(i * 10**9), "stdout", f"line {i}".encode()) for i in range(1, 6)]
    path.write_bytes(b"".join(format_line(ln) for ln in lines))

    async def never() -> bool:
        return False

    tail = [ln.content async for ln in read_log_file(str(path), LogOptions(tail=2), never)]
    assert tail == [b"line 4", b"line 5"]
    since = [ln.content async for ln in read_log_file(str(path), LogOptions(since_ns=4 * 10**9), never)]
    assert since == [b"line 4", b"line 5"]

    running = True

    async def still_running() -> bool:
        return running

    async def follow() -> list[bytes]:
        opts = LogOptions(tail=0, follow=True)
        return [ln.content async for ln in read_log_file(str(path), opts, still_running, poll_interval=0.01)]

    follower = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    with path.open("ab") as fh:
        fh.write(format_line(LogLine(rfc3339nano(6 * 10**9), "stderr", b"late")))
    await asyncio.sleep(0.05)
    running = False
    assert await asyncio.wait_for(follower, 2) == [b"late"]


NAMES = [
    ("bare", "busybox", "docker.io/library/busybox:latest"),
    ("tagged", "busybox:1.36", "docker.io/library/busybox:1.36"),
    ("user-repo", "bitnami/nginx", "docker.io/bitnami/nginx:latest"),
    ("registry", "pykube.local/busybox:1.36", "pykube.local/busybox:1.36"),
    ("registry-port", "localhost:5000/x", "localhost:5000/x:latest"),
    ("digest", "registry.k8s.io/pause@sha256:abc", "registry.k8s.io/pause@sha256:abc"),
]


@pytest.mark.parametrize(("name", "normal"), [c[1:] for c in NAMES], ids=[c[0] for c in NAMES])
def test_normalize_image(name: str, normal: str) -> None:
    assert normalize_image(name) == normal


def test_pod_cgroup_parent() -> None:
    assert pod_cgroup_parent("u1") == "/kubepods/besteffort/podu1"
    assert pod_cgroup_parent("u1", qos="") == "/kubepods/podu1"
