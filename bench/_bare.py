"""The ceiling of the serving stack: Hypercorn answering fixed bytes, with the API server's TLS.

Run by ``bench/apiserver.py`` as its own process::

    python -m bench._bare --pki DIR --port PORT --bodies FILE

It serves with ``apiserver.server.hypercorn_config`` (the same certificate, client-CA
verification, ALPN and Hypercorn settings as ``python -m apiserver``) and the same
Hypercorn patches (the per-connection TLS extension), and answers each request with the
bytes the real server returned for the same path (``FILE`` is JSON: path -> [status,
body]; a path with a query string falls back to the path alone). No routing, no
authentication, no storage, no JSON: whatever the API server's requests/s fall short of
this is spent in our code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from hypercorn.asyncio import serve

from apiserver import hypercorn_patches
from apiserver.options import ServerOptions
from apiserver.pki import ensure_pki


def app_for(bodies: dict[str, tuple[int, bytes]]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass  # read the request body, as a real handler does
        key = scope["path"] + ("?" + scope["query_string"].decode() if scope["query_string"] else "")
        status, body = bodies.get(key) or bodies.get(scope["path"]) or (404, b"{}")
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pki", type=Path, required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bodies", type=Path, required=True)
    a = p.parse_args()
    raw = json.loads(a.bodies.read_text())
    bodies = {path: (status, body.encode()) for path, (status, body) in raw.items()}
    from apiserver.server import hypercorn_config

    options = ServerOptions(data_dir=a.pki.parent, port=a.port, pki_dir=a.pki)
    hypercorn_patches.install()
    asyncio.run(serve(app_for(bodies), hypercorn_config(options, ensure_pki(a.pki)), mode="asgi"))


if __name__ == "__main__":
    main()
