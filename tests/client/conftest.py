"""Fixtures for the client library's tests: a real API server process, and clients of it.

The server is the one the end-to-end tests use (``start_server`` from
tests/apiserver/e2e/conftest.py: ``python -m apiserver`` over TLS on a free port, with
``--watch-cache-size 100`` so "too old resourceVersion" is reachable), started once per
test module on the embedded store. The client library reaches it only over HTTP,
through the kubeconfig the server writes.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator

import pytest

from client.rest import NAMESPACES, RESTClient
from tests.apiserver.e2e.conftest import Server, start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = start_server(tmp_path_factory.mktemp("client-apiserver"), "sqlite")
    try:
        yield s
    finally:
        stop_server(s)


@pytest.fixture
async def rest(server: Server) -> AsyncIterator[RESTClient]:
    async with RESTClient.from_kubeconfig(server.kubeconfig) as client:
        yield client


_counter = itertools.count()


@pytest.fixture
async def ns(rest: RESTClient) -> str:
    """A fresh namespace per test."""
    name = f"c{next(_counter)}-{os.getpid() % 1000}"
    await rest.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name
