"""Small ObjectMeta helpers: uids, timestamps, storage keys and generated names.

* A ``uid`` is a random RFC 4122 UUID, assigned once at create time.
* Timestamps (``creationTimestamp``, ``deletionTimestamp``) are RFC 3339 in UTC
  with second precision, ``2024-01-02T03:04:05Z``; ``MicroTime`` fields
  (``eventTime``, lease ``renewTime``) add six fractional digits.
* Objects are addressed as ``namespace/name`` (or just ``name`` when cluster-scoped),
  the key format client-go's cache uses (MetaNamespaceKeyFunc).
* ``generateName: web-`` becomes ``web-x7k2p``: five characters from an alphabet
  without vowels (no accidental words) and without look-alikes such as 0/o, 1/l.

Mirrors: k8s.io/apiserver/pkg/storage/names/generate.go, k8s.io/apimachinery/pkg/util/rand/rand.go
(String), pkg/apis/meta/v1/time.go and micro_time.go, client-go/tools/cache/store.go.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

# util/rand: "We omit vowels from the set of available characters to reduce the chances
# of 'bad words' being formed", and 0/1/3 to avoid confusion with o/l/e.
ALPHANUMS: Final = "bcdfghjklmnpqrstvwxz2456789"
RANDOM_LENGTH: Final = 5
MAX_NAME_LENGTH: Final = 63
MAX_GENERATED_NAME_LENGTH: Final = MAX_NAME_LENGTH - RANDOM_LENGTH


def new_uid() -> str:
    """A fresh ``metadata.uid``."""
    return str(uuid.uuid4())


def random_suffix(n: int = RANDOM_LENGTH) -> str:
    return "".join(secrets.choice(ALPHANUMS) for _ in range(n))


def generate_name(base: str) -> str:
    """``generateName`` + random suffix; a long base is cut to keep the name within 63 characters."""
    return base[:MAX_GENERATED_NAME_LENGTH] + random_suffix()


def format_time(t: datetime) -> str:
    """RFC 3339 at second precision in UTC, as ``metav1.Time`` marshals: ``2024-01-02T03:04:05Z``.

    Every write stamps at least one time, so this takes the cheap road: ``isoformat``
    (``2024-01-02T03:04:05+00:00``) cut before the offset. Years before 1000, which
    ``strftime`` writes without padding, keep its spelling.
    """
    if t.tzinfo is not UTC:
        t = t.astimezone(UTC)
    if t.year < 1000:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    return t.isoformat(timespec="seconds")[:19] + "Z"


def format_micro_time(t: datetime) -> str:
    """RFC 3339 with microseconds, as ``metav1.MicroTime`` marshals: ``2024-01-02T03:04:05.123456Z``."""
    if t.tzinfo is not UTC:
        t = t.astimezone(UTC)
    if t.year < 1000:
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return t.isoformat(timespec="microseconds")[:26] + "Z"


def now() -> str:
    return format_time(datetime.now(UTC))


def now_micro() -> str:
    return format_micro_time(datetime.now(UTC))


def parse_time(text: str) -> datetime:
    """Parse any RFC 3339 timestamp (``Z`` or an offset, with or without fractions) to aware UTC."""
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00")).astimezone(UTC)


def key(namespace: str, name: str) -> str:
    """``namespace/name``, or ``name`` for cluster-scoped objects."""
    return f"{namespace}/{name}" if namespace else name


def split_key(k: str) -> tuple[str, str]:
    """Inverse of ``key``: ``"default/web"`` → ``("default", "web")``, ``"node1"`` → ``("", "node1")``."""
    namespace, _, name = k.rpartition("/")
    return namespace, name


def object_key(obj: Mapping[str, Any]) -> str:
    """The cache key of an object, from its metadata."""
    meta = obj.get("metadata") or {}
    return key(meta.get("namespace", ""), meta.get("name", ""))
