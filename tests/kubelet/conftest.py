"""Fixtures shared by the kubelet tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.apiserver.e2e.conftest import Server, start_server, stop_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A real API server on the embedded store, one per test module (the containerd
    module overrides it to start after its containerd)."""
    s = start_server(tmp_path_factory.mktemp("apiserver"), "sqlite")
    try:
        yield s
    finally:
        stop_server(s)
