"""In-process streams for the simulated runtime: exec, attach and port-forward.

A real runtime serves these over its own HTTP server (containerd's
``pkg/cri/streaming``, forked from kubelet's ``pkg/kubelet/cri/streaming``) in the
``channel.k8s.io`` framing: channel 0 stdin, 1 stdout, 2 stderr, 3 the exit status, 4
terminal resize. Here the same channels are Python calls (``interface.StreamSession``),
so the kubelet's server can bridge a ``kubectl exec`` WebSocket onto either.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from kubelet.runtime.interface import ExecResult, LogLine

STDOUT, STDERR = 1, 2
#: Seconds a simulated exec or attach takes to start, as a process does.
START_DELAY = 0.05


class ExecSession:
    """A finished command's output replayed as a stream; with ``echo_stdin`` (``cat``),
    stdin is copied to stdout until it is closed."""

    def __init__(self, result: ExecResult, echo_stdin: bool = False, *, ends_later: bool = False) -> None:
        self._queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self._code: Callable[[], Awaitable[int]] | None = None
        self._result = result
        self._echo = echo_stdin
        self._stdin_closed = asyncio.Event()
        self.size: tuple[int, int] | None = None
        self._pump: asyncio.Task[None] | None = None
        if result.stdout:
            self._queue.put_nowait((STDOUT, result.stdout))
        if result.stderr:
            self._queue.put_nowait((STDERR, result.stderr))
        if not echo_stdin and not ends_later:
            self._queue.put_nowait(None)
            self._stdin_closed.set()

    @classmethod
    def following(cls, lines: AsyncIterator[LogLine], exit_code: Callable[[], Awaitable[int]]) -> ExecSession:
        """An attach: the container's log lines as they come, then its exit code."""
        session = cls(ExecResult(0, b"", b""), ends_later=True)
        session._code = exit_code

        async def pump() -> None:
            async for line in lines:
                channel = STDOUT if line.stream == "stdout" else STDERR
                session._queue.put_nowait((channel, line.content + (b"" if line.partial else b"\n")))
            session._queue.put_nowait(None)

        session._pump = asyncio.get_running_loop().create_task(pump())
        return session

    async def write_stdin(self, data: bytes) -> None:
        if self._echo and not self._stdin_closed.is_set():
            self._queue.put_nowait((STDOUT, data))

    async def close_stdin(self) -> None:
        if not self._stdin_closed.is_set():
            self._stdin_closed.set()
            if self._echo:
                self._queue.put_nowait(None)

    async def resize(self, width: int, height: int) -> None:
        self.size = (width, height)

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        # A real exec starts a process through runc first (tens of ms here); answering
        # inside the WebSocket handshake instead races client-go's v5 client, which
        # drops frames for streams it has not registered yet ("Unknown stream id").
        await asyncio.sleep(START_DELAY)
        while (item := await self._queue.get()) is not None:
            yield item

    async def wait(self) -> int:
        if self._code is not None:
            return await self._code()
        await self._stdin_closed.wait()
        return self._result.exit_code


class EchoStream:
    """One port-forward connection to a simulated pod: it answers with what it is sent."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def send(self, data: bytes) -> None:
        if data:
            self._queue.put_nowait(data)

    async def receive(self) -> bytes:
        return await self._queue.get()

    async def aclose(self) -> None:
        self._queue.put_nowait(b"")


class EchoForwarder:
    async def connect(self, port: int) -> EchoStream:
        return EchoStream()
