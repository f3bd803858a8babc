"""pod-template-hash: the label that ties a Deployment's template to one ReplicaSet.

Every ReplicaSet a Deployment creates is named ``<deployment>-<hash>``, carries the
label ``pod-template-hash=<hash>`` (added to its selector and to its pods, so two
ReplicaSets of one Deployment never fight over pods), and the hash is a function of
the pod template: change the template (``kubectl set image``, ``rollout restart``)
and a new ReplicaSet appears; put an old template back (``rollout undo``) and the
old ReplicaSet is found again.

Upstream (``controller.ComputeHash``)::

    hasher := fnv.New32a()
    hashutil.DeepHashObject(hasher, *template)   // go-spew printing of the Go struct
    if collisionCount != nil {                    // bumped on a name collision
        binary.LittleEndian.PutUint32(buf, uint32(*collisionCount)); hasher.Write(buf)
    }
    return rand.SafeEncodeString(fmt.Sprint(hasher.Sum32()))

Here everything is the same (FNV-1a 32, the little-endian collision count, the
decimal rendering, SafeEncodeString's alphabet without vowels) **except the bytes
hashed**: go-spew prints the *Go struct* with every zero-valued field and pointer
type, which cannot be reproduced from JSON without the full Go type tree. We hash
the template's canonical JSON (sorted keys, no spaces) instead. Consequence: the
hash of a given template differs from a real cluster's, but it is stable, changes
exactly when the template changes, and has the same shape (e.g. ``7d4b9c8f5d``).

Mirrors: pkg/controller/controller_utils.go (ComputeHash),
k8s.io/apimachinery/pkg/util/rand/rand.go (SafeEncodeString).
"""

from __future__ import annotations

import struct
from typing import Any

import orjson

FNV32_OFFSET = 2166136261
FNV32_PRIME = 16777619
#: rand.SafeEncodeString's alphabet: no vowels (no words), no 0/1/3 (look like o/l/e).
ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def fnv32a(data: bytes, h: int = FNV32_OFFSET) -> int:
    for byte in data:
        h ^= byte
        h = (h * FNV32_PRIME) & 0xFFFFFFFF
    return h


def safe_encode_string(s: str) -> str:
    return "".join(ALPHANUMS[b % len(ALPHANUMS)] for b in s.encode())


def compute_hash(template: dict[str, Any], collision_count: int | None = None) -> str:
    h = fnv32a(orjson.dumps(template, option=orjson.OPT_SORT_KEYS))
    if collision_count is not None:
        h = fnv32a(struct.pack("<I", collision_count & 0xFFFFFFFF), h)
    return safe_encode_string(str(h))
