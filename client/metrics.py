"""Workqueue metrics over HTTP, in the Prometheus text format, as a component's /metrics.

Every Go controller's workqueue reports the same gauges and counters, labelled by the
queue's name (k8s.io/component-base/metrics/prometheus/workqueue/metrics.go, fed by
client-go/util/workqueue/metrics.go); kube-controller-manager serves them on its
``/metrics`` endpoint with ``/healthz`` beside it::

    # HELP workqueue_depth Current depth of workqueue
    # TYPE workqueue_depth gauge
    workqueue_depth{name="replicaset"} 0

Here :func:`exposition` turns ``{queue name: Queue.metrics()}`` into that text, and
:func:`serve` answers ``GET /metrics`` and ``GET /healthz`` on a plain-HTTP port.
Differences from upstream: no TLS or authentication on the port (kube-controller-
manager's ``--secure-port`` 10257 requires both), and the two duration histograms
(``workqueue_queue_duration_seconds``, ``workqueue_work_duration_seconds``) are not
kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable, Mapping

#: (metric, key in Queue.metrics(), type, help) in upstream's names and words.
WORKQUEUE_METRICS = (
    ("workqueue_depth", "depth", "gauge", "Current depth of workqueue"),
    ("workqueue_adds_total", "adds", "counter", "Total number of adds handled by workqueue"),
    ("workqueue_retries_total", "retries", "counter", "Total number of retries handled by workqueue"),
    (
        "workqueue_unfinished_work_seconds",
        "unfinished_work_seconds",
        "gauge",
        "How many seconds of work has been done that is in progress and hasn't been observed by "
        "work_duration. Large values indicate stuck threads. One can deduce the number of stuck "
        "threads by observing the rate at which this increases.",
    ),
    (
        "workqueue_longest_running_processor_seconds",
        "longest_running_processor_seconds",
        "gauge",
        "How many seconds has the longest running processor for workqueue been running.",
    ),
)

Snapshot = Mapping[str, Mapping[str, float]]


def _value(v: float) -> str:
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and math.isfinite(v)):
        return str(int(v))
    return repr(float(v))


def exposition(queues: Snapshot) -> str:
    """The Prometheus text format (version 0.0.4) of every queue's metrics, sorted by name."""
    lines: list[str] = []
    for metric, key, kind, help_ in WORKQUEUE_METRICS:
        lines.append(f"# HELP {metric} {help_}")
        lines.append(f"# TYPE {metric} {kind}")
        for name in sorted(queues):
            if key in queues[name]:
                lines.append(f'{metric}{{name="{name}"}} {_value(queues[name][key])}')
    return "\n".join(lines) + "\n"


async def serve(snapshot: Callable[[], Snapshot], port: int, host: str = "127.0.0.1") -> asyncio.Server:
    """Answer ``GET /metrics`` (the exposition) and ``GET /healthz`` (``ok``); one request a connection."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
            path = rest.split(" ", 1)[0].split("?", 1)[0]
            if method != "GET":
                status, body, ctype = "405 Method Not Allowed", "method not allowed\n", "text/plain"
            elif path == "/metrics":
                status, body = "200 OK", exposition(snapshot())
                ctype = "text/plain; version=0.0.4; charset=utf-8"
            elif path in ("/healthz", "/livez", "/readyz"):
                status, body, ctype = "200 OK", "ok", "text/plain; charset=utf-8"
            else:
                status, body, ctype = "404 Not Found", "404 page not found\n", "text/plain; charset=utf-8"
            data = body.encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(data)}\r\n"
                f"Connection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_server(handle, host, port)
