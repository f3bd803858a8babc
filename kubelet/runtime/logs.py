"""Container logs in the CRI format, written by the runtime and read by the kubelet.

The runtime (containerd's shim, via ``cio``) copies each container's stdout and stderr
into one file, ``<sandbox log_directory>/<container log_path>``, one line per write:

    2026-11-23T21:56:13.791234567Z stdout F hello
    ^ RFC3339Nano, UTC             ^stream ^ F = full line, P = partial (split, more follows)

The kubelet never asks the runtime for log *content*: ``kubectl logs`` is served by the
kubelet reading that file (pkg/kubelet/kuberuntime/logs/logs.go ``ReadLogs``: parse,
``--tail``, ``--since-time``, ``--follow`` until the container exits). This module is that
reader plus the formatter the simulated runtime uses for its in-memory logs.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime

from kubelet.runtime.interface import LogLine, LogOptions


def rfc3339nano(ns: int) -> str:
    """Unix nanoseconds to the timestamp CRI log lines start with."""
    seconds, frac = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def parse_timestamp(text: str) -> int:
    """RFC3339(Nano) back to Unix nanoseconds (Python's datetime stops at microseconds)."""
    main, _, rest = text.rstrip("Z").partition(".")
    base = datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return int(base.timestamp()) * 1_000_000_000 + int((rest or "0").ljust(9, "0")[:9])


def format_line(line: LogLine) -> bytes:
    return b"%s %s %s %s\n" % (
        line.timestamp.encode(),
        line.stream.encode(),
        b"P" if line.partial else b"F",
        line.content,
    )


def parse_line(raw: bytes) -> LogLine:
    """One CRI log line (without its newline); raises ValueError on anything else."""
    parts = raw.split(b" ", 3)
    if len(parts) < 3:
        raise ValueError(f"not a CRI log line: {raw[:80]!r}")
    timestamp, stream, tag = parts[:3]
    content = parts[3] if len(parts) == 4 else b""
    if stream not in (b"stdout", b"stderr") or tag not in (b"P", b"F"):
        raise ValueError(f"not a CRI log line: {raw[:80]!r}")
    return LogLine(timestamp.decode(), stream.decode(), content, partial=tag == b"P")


def select(lines: Iterable[LogLine], options: LogOptions) -> list[LogLine]:
    """Apply ``since_ns`` then ``tail`` to the lines already written."""
    if options.since_ns:
        lines = (ln for ln in lines if parse_timestamp(ln.timestamp) >= options.since_ns)
    if options.tail is not None:
        return list(deque(lines, maxlen=options.tail)) if options.tail > 0 else []
    return list(lines)


async def read_log_file(
    path: str,
    options: LogOptions,
    still_running: Callable[[], Awaitable[bool]],
    poll_interval: float = 0.1,
) -> AsyncIterator[LogLine]:
    """The lines of a CRI log file; with ``follow``, then every new line until
    ``still_running()`` turns False (and the file is drained)."""
    try:
        fh = open(path, "rb")  # noqa: ASYNC230 - a local file; reads are small and never block for long
    except FileNotFoundError:
        return
    with fh:
        buffered = b""
        first = True
        while True:
            chunk = fh.read()
            buffered += chunk
            complete, _, buffered = buffered.rpartition(b"\n")
            parsed = [parse_line(raw) for raw in complete.split(b"\n") if raw] if complete else []
            if first:
                parsed, first = select(parsed, options), False
            elif options.since_ns:
                parsed = select(parsed, LogOptions(since_ns=options.since_ns))
            for line in parsed:
                yield line
            if not options.follow:
                return
            if not chunk:
                if not await still_running():
                    if os.fstat(fh.fileno()).st_size == fh.tell():
                        return
                    continue
                await asyncio.sleep(poll_interval)
