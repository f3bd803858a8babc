"""Backends under test: every test taking ``backend`` or ``store`` runs on each one.

The etcd variants use a real throwaway etcd (tests/etcd_server.py); a machine with
no etcd binary skips them with the reason printed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from apiserver.storage.interface import Backend
from apiserver.storage.store import ObjectStore


@pytest.fixture(params=["sqlite", pytest.param("etcd", marks=pytest.mark.etcd)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    b: Backend
    if request.param == "sqlite":
        from apiserver.storage.sqlite import SqliteBackend

        b = SqliteBackend(tmp_path / "state.db")
    else:
        from apiserver.storage.etcd import EtcdBackend

        etcd = request.getfixturevalue("etcd_server")
        await etcd.wipe()
        b = EtcdBackend([etcd.endpoint])
    await b.start()
    try:
        yield b
    finally:
        await b.close()


@pytest.fixture
async def store(backend: Backend) -> ObjectStore:
    return ObjectStore(backend)
