"""Named storage errors: the only failures the storage layer reports.

Mirrors k8s.io/apiserver/pkg/storage/errors.go (StorageError with a code, the key
and the resource version) and kine's pkg/server/types.go (ErrKeyExists,
ErrCompacted). The registry layer translates each into an API ``Status``
(NotFound, AlreadyExists, Conflict, Expired, ServiceUnavailable...) exactly once,
so storage keys never leak to clients.

    StorageError
    ├── KeyExistsError        create on a key that exists
    ├── KeyNotFoundError      get/update/delete of a missing key
    ├── ConflictError         compare-and-swap lost: revision or uid precondition
    ├── CompactedError        read or watch at a revision already compacted (HTTP 410)
    ├── UnavailableError      the backend cannot be reached (HTTP 503 / 504)
    └── CorruptValueError     a stored value that is not a valid object for its key
"""

from __future__ import annotations


class StorageError(Exception):
    """Base of every storage failure. ``key`` and ``revision`` say where."""

    def __init__(self, message: str, *, key: str = "", revision: int = 0) -> None:
        super().__init__(message)
        self.key = key
        self.revision = revision


class KeyExistsError(StorageError):
    def __init__(self, key: str, revision: int = 0) -> None:
        super().__init__(f"key exists: {key}", key=key, revision=revision)


class KeyNotFoundError(StorageError):
    def __init__(self, key: str, revision: int = 0) -> None:
        super().__init__(f"key not found: {key}", key=key, revision=revision)


class ConflictError(StorageError):
    """A compare-and-swap or a precondition failed; ``message`` names which."""


class CompactedError(StorageError):
    """The requested revision is older than the oldest one kept.

    ``revision`` is the one asked for; ``compacted_revision`` the first still readable - 1.
    """

    def __init__(self, revision: int, compacted_revision: int, key: str = "") -> None:
        super().__init__(
            f"required revision {revision} has been compacted (compacted revision {compacted_revision})",
            key=key,
            revision=revision,
        )
        self.compacted_revision = compacted_revision


class UnavailableError(StorageError):
    """The backend could not be reached; ``endpoint`` names it."""

    def __init__(self, message: str, endpoint: str = "") -> None:
        super().__init__(message)
        self.endpoint = endpoint


class CorruptValueError(StorageError):
    """A stored value could not be decoded as an object (foreign or corrupt data)."""
