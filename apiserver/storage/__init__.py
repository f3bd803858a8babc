"""The storage layer: an etcd v3 contract (``interface.py``), its backends and the watch cache.

``open_backend`` turns the ``--storage`` flag into a backend:

* ``sqlite`` (the default): the embedded store, one file ``state.db`` in the data dir
  (the role kine plays for k3s).
* ``etcd://HOST:PORT[,HOST:PORT...]``: a real etcd cluster.
"""

from __future__ import annotations

from pathlib import Path

from .interface import Backend


def open_backend(spec: str, data_dir: Path) -> Backend:
    """Build (not start) the backend named by a ``--storage`` value."""
    if spec in ("", "sqlite"):
        from .sqlite import SqliteBackend

        return SqliteBackend(data_dir / "state.db")
    if spec.startswith("sqlite://"):
        from .sqlite import SqliteBackend

        return SqliteBackend(Path(spec[len("sqlite://") :]))
    if spec.startswith("etcd://"):
        from .etcd import EtcdBackend

        endpoints = [e.strip() for e in spec[len("etcd://") :].split(",") if e.strip()]
        if not endpoints:
            raise ValueError(f"--storage {spec!r}: no etcd endpoint given")
        return EtcdBackend(endpoints)
    raise ValueError(f"--storage {spec!r}: expected 'sqlite' or 'etcd://HOST:PORT[,HOST:PORT...]'")
