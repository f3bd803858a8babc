"""Exec and attach over WebSocket: the server side of ``kubectl exec`` / ``kubectl attach``.

Mirrors k8s.io/apiserver/pkg/util/remotecommand + pkg/kubelet/cri/streaming/remotecommand
(httpstream.go ``createWebSocketStreams``, websocket.go): the client's WebSocket speaks
``v5.channel.k8s.io`` (or ``v4``), see apimachinery/wsstream.py for the channels. The
runtime end is one of two things (kubelet/runtime/interface.py ``StreamEndpoint``):

* a ``url`` on the runtime's own streaming server (containerd): we dial it as a
  WebSocket client and relay messages both ways, as upstream's kubelet proxies the
  connection to the CRI URL (server.go ``proxyStream``);
* an in-process ``session`` (the simulated runtime): stdin and resize go to it, its
  output goes out on channels 1/2, and its exit code ends the stream on channel 3::

      client                          kubelet                       session
        | 0 stdin bytes  ---------->    | write_stdin ------------->   |
        | 4 {"Width":..} ---------->    | resize ------------------>   |
        | 255 0 (v5: stdin EOF) ---->   | close_stdin ------------->   |
        |    <------------ 1/2 output   | <------------- output()      |
        |    <---- 3 Status (exit code) | <------------- wait()        |
        |    <---- close 1000           |                              |
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence

from starlette.websockets import WebSocket, WebSocketDisconnect

from apimachinery import wsstream
from kubelet.runtime.interface import StreamSession

log = logging.getLogger(__name__)

SUPPORTED = (wsstream.V5, wsstream.V4)


def negotiate(offered: Sequence[str]) -> str | None:
    """Our preferred protocol among those the client offered (v5, then v4)."""
    return next((p for p in SUPPORTED if p in offered), None)


async def serve_session(
    ws: WebSocket, protocol: str, session: StreamSession, cmd: Sequence[str], stdin: bool
) -> None:
    """Bridge an accepted WebSocket onto an in-process session until it ends."""
    if not stdin:
        await session.close_stdin()

    async def pump_input() -> None:
        try:
            while True:
                message = await ws.receive_bytes()
                if not message:
                    continue
                channel, payload = message[0], message[1:]
                if channel == wsstream.STDIN and stdin:
                    await session.write_stdin(payload)
                elif channel == wsstream.RESIZE:
                    size = json.loads(payload or b"{}")
                    await session.resize(int(size.get("Width", 0)), int(size.get("Height", 0)))
                elif channel == wsstream.CLOSE and protocol == wsstream.V5 and payload[:1] == b"\x00":
                    await session.close_stdin()
        except (WebSocketDisconnect, RuntimeError, KeyError):
            await session.close_stdin()

    reader = asyncio.create_task(pump_input())
    try:
        async for channel, data in session.output():
            await ws.send_bytes(bytes([channel]) + data)
        code = await session.wait()
        await ws.send_bytes(bytes([wsstream.ERROR]) + json.dumps(wsstream.exit_status(code, cmd)).encode())
        await ws.close(1000)
    except (WebSocketDisconnect, RuntimeError):
        log.debug("client went away during %s", list(cmd))
    finally:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


async def proxy_to_url(ws: WebSocket, protocol: str, url: str) -> None:
    """Relay an accepted WebSocket to the runtime's streaming server at ``url``."""
    try:
        upstream = await wsstream.connect(url, [protocol, *(p for p in SUPPORTED if p != protocol)])
    except (OSError, wsstream.UpgradeFailure, TimeoutError) as err:
        status = wsstream.failure_status(f"error connecting to the runtime's streaming server: {err}")
        await ws.send_bytes(bytes([wsstream.ERROR]) + json.dumps(status).encode())
        await ws.close(1000)
        return
    await wsstream.relay(ws, upstream, drop_close_channel=upstream.subprotocol != wsstream.V5)
