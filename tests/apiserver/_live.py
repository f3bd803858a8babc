"""Serve a Starlette app with Hypercorn on a free port, and drive the real kubectl against it.

kubectl on this image is a dispatcher that caches ``/version`` and discovery under
``$HOME`` for hours, so every run gets a scratch ``HOME`` and ``KUBECACHEDIR``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from hypercorn.asyncio import serve
from hypercorn.config import Config
from starlette.types import ASGIApp

KUBECTL = shutil.which("kubectl")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def live_server(app: ASGIApp) -> Iterator[str]:
    """Run ``app`` in a background thread; yields its base URL."""
    config = Config()
    port = free_port()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    async def main() -> None:
        started.set()
        await serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait()
    for _ in range(200):  # wait until the socket accepts
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.05):
            break
        threading.Event().wait(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)


def kubectl(
    home: Path, server: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run kubectl against ``server`` with a scratch HOME and cache directory."""
    assert KUBECTL is not None
    home.mkdir(parents=True, exist_ok=True)
    config = home / "kubeconfig"
    config.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: t, cluster: {{server: '{server}'}}}}]\n"
        "users: [{name: u, user: {}}]\n"
        "contexts: [{name: t, context: {cluster: t, user: u, namespace: default}}]\n"
        "current-context: t\n"
    )
    full_env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "KUBECACHEDIR": str(home / "cache"),
        "KUBECONFIG": str(config),
        **(env or {}),
    }
    return subprocess.run(
        [KUBECTL, *args], env=full_env, capture_output=True, text=True, timeout=60, check=False
    )
