"""client/metrics.py: workqueue metrics in the Prometheus text format, served over HTTP."""

from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request

import pytest

from client.clock import FakeClock
from client.metrics import exposition, serve
from client.workqueue import Queue


def test_exposition_is_upstreams_names_and_labels() -> None:
    text = exposition(
        {
            "replicaset": {"depth": 2, "adds": 5, "retries": 1, "unfinished_work_seconds": 0.5},
            "deployment": {"depth": 0, "adds": 1, "retries": 0},
        }
    )
    lines = text.splitlines()
    assert "# HELP workqueue_depth Current depth of workqueue" in lines
    assert "# TYPE workqueue_adds_total counter" in lines
    # each metric lists its queues sorted by name, integers without a decimal point
    depth = lines.index("# TYPE workqueue_depth gauge")
    assert lines[depth + 1 : depth + 3] == [
        'workqueue_depth{name="deployment"} 0',
        'workqueue_depth{name="replicaset"} 2',
    ]
    assert 'workqueue_retries_total{name="replicaset"} 1' in lines
    assert 'workqueue_unfinished_work_seconds{name="replicaset"} 0.5' in lines
    assert not any(line.startswith('workqueue_unfinished_work_seconds{name="deployment"}') for line in lines)
    assert text.endswith("\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers["Content-Type"], r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read().decode()


async def test_serve_reports_a_live_queue() -> None:
    clock = FakeClock(100.0)
    queue: Queue[str] = Queue(clock)
    for key in ("default/a", "default/b", "default/a"):  # the second "a" is deduplicated
        queue.add(key)
    item, _ = await queue.get()
    clock.step(3.0)  # one item in progress for 3 s

    port = _free_port()
    server = await serve(lambda: {"replicaset": queue.metrics()}, port)
    try:
        status, ctype, body = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
        assert status == 200 and ctype.startswith("text/plain; version=0.0.4")
        assert 'workqueue_depth{name="replicaset"} 1' in body.splitlines()
        assert 'workqueue_adds_total{name="replicaset"} 2' in body.splitlines()
        assert 'workqueue_longest_running_processor_seconds{name="replicaset"} 3' in body.splitlines()
        assert (await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/healthz"))[::2] == (200, "ok")
        assert (await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/nope"))[0] == 404
    finally:
        server.close()
        await server.wait_closed()
        assert item is not None
        queue.done(item)


@pytest.mark.parametrize("path", ["/metrics", "/healthz"])
async def test_serve_rejects_other_methods(path: str) -> None:
    port = _free_port()
    server = await serve(dict, port)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n".encode())
        assert (await reader.readline()).startswith(b"HTTP/1.1 405")
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
