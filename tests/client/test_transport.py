"""client/transport.py and client/http11.py against a real scripted HTTP/1.1 server."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from client.transport import (
    ConnectError,
    ReadError,
    ReadTimeout,
    ServerDisconnected,
    Transport,
)
from tests.client.scripted_server import CLOSE, HANG, Reply, ScriptedServer, chunked, reply


def _transport(server: ScriptedServer, **kwargs: Any) -> Transport:
    return Transport(server.url, headers={"Accept": "application/json", "User-Agent": "t/1"}, **kwargs)


async def test_keep_alive_reuses_one_connection_and_sends_the_default_headers() -> None:
    async with ScriptedServer([reply(body=b'{"n":1}'), reply(body=b'{"n":2}'), reply(201)]) as server:
        transport = _transport(server)
        assert (await transport.request("GET", "/a?x=1")).body == b'{"n":1}'
        assert (await transport.request("GET", "/b")).body == b'{"n":2}'
        created = await transport.request("POST", "/c", b'{"k":"v"}', "application/merge-patch+json")
        await transport.aclose()
    assert created.status == 201
    assert server.connections == 1
    first, _, post = server.requests
    assert (first.method, first.target) == ("GET", "/a?x=1")
    assert first.headers["host"] == server.url.removeprefix("http://")
    assert first.headers["accept"] == "application/json"
    assert first.headers["user-agent"] == "t/1"
    assert "content-length" not in first.headers and "accept-encoding" not in first.headers
    assert post.headers["content-type"] == "application/merge-patch+json"
    assert post.body == b'{"k":"v"}'


@pytest.mark.parametrize(
    ("answer", "body"),
    [
        (reply(body=b"x" * 100_000), b"x" * 100_000),
        (reply(204, b""), b""),
        (chunked(b'{"a":', b"1}"), b'{"a":1}'),
        (
            [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nT: 1\r\n\r\n"],
            b"abc",
        ),
        ([b"HTTP/1.1 200 OK\r\nContent-Len", b"gth: 4\r\n\r\nab", b"cd"], b"abcd"),
        ([b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"], b"ok"),
    ],
    ids=[
        "content-length",
        "no-content",
        "chunked",
        "chunk-extension-and-trailer",
        "split-head",
        "interim-100",
    ],
)
async def test_bodies_are_read_whole_and_the_connection_reused(answer: Reply, body: bytes) -> None:
    async with ScriptedServer([answer, reply()]) as server:
        transport = _transport(server)
        assert (await transport.request("GET", "/")).body == body
        assert (await transport.request("GET", "/")).status == 200
        await transport.aclose()
    assert server.connections == 1


@pytest.mark.parametrize(
    "answer",
    [
        [b"HTTP/1.1 200 OK\r\n\r\nuntil", b" EOF", CLOSE],  # no length: the body ends at EOF
        reply(body=b"until EOF", Connection="close"),  # the server keeps it open: we close it
        b"HTTP/1.0 200 OK\r\nContent-Length: 9\r\n\r\nuntil EOF",
    ],
    ids=["read-to-eof", "connection-close", "http-1.0"],
)
async def test_answers_that_end_the_connection_are_not_reused(answer: Reply) -> None:
    async with ScriptedServer([answer, reply()]) as server:
        transport = _transport(server)
        assert (await transport.request("GET", "/")).body == b"until EOF"
        assert (await transport.request("GET", "/")).status == 200
        await transport.aclose()
    assert server.connections == 2


async def test_watch_lines_split_across_chunks_and_several_per_chunk() -> None:
    pieces = (b'{"a":1}\n{"b"', b":2}\n", b'{"c":3}\n{"d":4}\n{"e"', b":5}")
    async with ScriptedServer([chunked(*pieces), reply()]) as server:
        transport = _transport(server)
        stream = await transport.stream("GET", "/watch", read_timeout=None)
        lines = [line async for line in stream.lines()]
        assert lines == [b'{"a":1}', b'{"b":2}', b'{"c":3}', b'{"d":4}', b'{"e":5}']
        assert (await transport.request("GET", "/")).status == 200  # read to its end: reused
        await transport.aclose()
    assert server.connections == 1


async def test_closing_a_watch_closes_its_connection() -> None:
    async with ScriptedServer([[*chunked(b"one\n")[:2], HANG], reply()]) as server:  # stays open
        transport = _transport(server)
        stream = await transport.stream("GET", "/watch", read_timeout=None)
        assert await anext(aiter(stream.lines())) == b"one"
        await stream.aclose()
        async with asyncio.timeout(5):
            await server.closed.wait()  # the server saw the connection end
        assert (await transport.request("GET", "/")).status == 200
        await transport.aclose()
    assert server.connections == 2


async def test_a_stream_request_answered_with_an_error_arrives_whole() -> None:
    async with ScriptedServer([reply(410, b'{"kind":"Status"}', reason="Gone"), reply()]) as server:
        transport = _transport(server)
        stream = await transport.stream("GET", "/watch", read_timeout=None)
        assert (stream.status, stream.body) == (410, b'{"kind":"Status"}')
        assert [line async for line in stream.lines()] == []
        assert (await transport.request("GET", "/")).status == 200
        await transport.aclose()
    assert server.connections == 1


async def test_a_get_on_an_idle_connection_the_server_dropped_is_retried_once() -> None:
    async with ScriptedServer([reply(), CLOSE, reply(body=b"again")]) as server:
        transport = _transport(server)
        await transport.request("GET", "/")
        assert (await transport.request("GET", "/x")).body == b"again"
        await transport.aclose()
    assert server.connections == 2
    assert [(r.connection, r.target) for r in server.requests] == [(0, "/"), (0, "/x"), (1, "/x")]


async def test_a_write_on_a_dropped_connection_is_not_retried() -> None:
    async with ScriptedServer([reply(), CLOSE]) as server:
        transport = _transport(server)
        await transport.request("GET", "/")
        with pytest.raises(ServerDisconnected):
            await transport.request("POST", "/x", b"{}")
        await transport.aclose()
    assert len(server.requests) == 2


async def test_a_new_connection_closed_without_an_answer_is_not_retried() -> None:
    async with ScriptedServer([CLOSE, reply()]) as server:
        transport = _transport(server)
        with pytest.raises(ServerDisconnected):
            await transport.request("GET", "/")
        await transport.aclose()
    assert len(server.requests) == 1


async def test_an_idle_connection_the_server_closes_leaves_the_pool() -> None:
    async with ScriptedServer([[reply(), CLOSE], reply()]) as server:  # answers, then closes
        transport = _transport(server)
        await transport.request("GET", "/")
        for _ in range(500):  # until we see the EOF, while the connection sits idle
            if not transport._open:
                break
            await asyncio.sleep(0.01)
        assert transport._open == 0
        assert (await transport.request("GET", "/")).status == 200
        await transport.aclose()
    assert [r.connection for r in server.requests] == [0, 1]  # no request was sent on the closed one


async def test_idle_connections_are_closed_after_the_idle_timeout() -> None:
    async with ScriptedServer([reply(), reply()]) as server:
        transport = _transport(server, idle_timeout=0.05)
        await transport.request("GET", "/")
        async with asyncio.timeout(5):
            await server.closed.wait()
        assert transport._open == 0
        assert (await transport.request("GET", "/")).status == 200
        await transport.aclose()
    assert server.connections == 2


async def test_the_connection_cap_makes_requests_wait() -> None:
    async with ScriptedServer([reply(body=b"%d" % i) for i in range(6)], delay=0.02) as server:
        transport = _transport(server, max_connections=2)
        answers = await asyncio.gather(*(transport.request("GET", f"/{i}") for i in range(6)))
        await transport.aclose()
    assert sorted(a.body for a in answers) == [b"%d" % i for i in range(6)]
    assert server.connections == 2 and server.most_open == 2


async def test_watches_do_not_count_toward_the_cap() -> None:
    watch = [*chunked(b"event\n")[:2], HANG]
    async with ScriptedServer([watch, watch, reply(), chunked(b"last\n"), reply()]) as server:
        transport = _transport(server, max_connections=1)
        first = await transport.stream("GET", "/watch", read_timeout=None)
        second = await transport.stream("GET", "/watch", read_timeout=None)
        assert (await transport.request("GET", "/")).status == 200  # the one slot is free
        assert [line async for line in (await transport.stream("GET", "/w", read_timeout=None)).lines()] == [
            b"last"
        ]  # on the idle connection; read to its end, it is back in the pool
        assert (await transport.request("GET", "/")).status == 200
        await first.aclose()
        await second.aclose()
        assert transport._open == 1
        await transport.aclose()
    assert [r.connection for r in server.requests] == [0, 1, 2, 2, 2]


async def test_a_cancelled_request_frees_its_slot_and_its_connection_is_not_reused() -> None:
    async with ScriptedServer([HANG, reply()]) as server:
        transport = _transport(server, max_connections=1)
        task = asyncio.create_task(transport.request("GET", "/slow"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert (await transport.request("GET", "/")).status == 200
        await transport.aclose()
    assert server.connections == 2


async def test_read_timeout() -> None:
    async with ScriptedServer([HANG, reply()]) as server:
        transport = _transport(server, read_timeout=0.1)
        with pytest.raises(ReadTimeout):
            await transport.request("GET", "/slow")
        assert (await transport.request("GET", "/")).status == 200
        await transport.aclose()
    assert server.connections == 2


async def test_a_stream_cut_mid_body_raises_read_error_after_its_complete_lines() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    async with ScriptedServer([[head, b"4\r\nok\n\n\r\n", b"9\r\nhalf", CLOSE]]) as server:
        transport = _transport(server)
        stream = await transport.stream("GET", "/watch", read_timeout=None)
        lines = []
        with pytest.raises(ReadError):
            async for line in stream.lines():
                lines.append(line)
        await transport.aclose()
    assert lines == [b"ok", b""]


async def test_a_closed_transport_refuses_requests() -> None:
    async with ScriptedServer([reply()]) as server:
        transport = _transport(server)
        await transport.request("GET", "/")
        await transport.aclose()
        with pytest.raises(RuntimeError, match="closed"):
            await transport.request("GET", "/")


async def test_connect_refused() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    transport = Transport(f"http://127.0.0.1:{port}")
    with pytest.raises(ConnectError):
        await transport.request("GET", "/")
    assert transport._open == 0
    await transport.aclose()
