"""ControllerRevisions: the history a StatefulSet or a DaemonSet keeps of its templates.

A Deployment keeps its history in ReplicaSets. A StatefulSet or a DaemonSet owns its
pods directly, so it records each pod template it has had in a ``ControllerRevision``
(apps/v1): an immutable snapshot (``data``) with a number (``revision``), owned by
the set (``ownerReferences``, ``controller: true``) and labelled with the template's
labels, so the set's selector finds it. ``kubectl rollout history`` lists them;
``kubectl rollout undo`` sends a revision's ``data`` back to the set as a strategic
merge patch. That is why ``data`` is a *patch*::

    {"spec":{"template":{"$patch":"replace","metadata":{...},"spec":{...}}}}

(``getPatch`` in both controllers): applied to the set it replaces the whole
template with the recorded one.

The rules (controller_history.go, and ``getStatefulSetRevisions``):

* the name is ``<set>-<hash>``, the hash being FNV-1 32 of the ``data`` bytes and of the
  decimal collision count, rendered with ``rand.SafeEncodeString``; a name taken by a
  revision with *other* data bumps ``status.collisionCount`` and tries again;
* the revision of the current template is found by comparing ``data`` bytes
  (``EqualRevision``); if it is the newest, nothing happens; if it is an older one
  (``rollout undo``, or re-applying an old manifest), it is *renumbered* to
  ``max + 1`` rather than duplicated; otherwise a new revision ``max + 1`` is created;
* revisions no pod uses any more, beyond ``revisionHistoryLimit``, are deleted,
  oldest first (``truncateHistory``);
* a revision matching the set's selector with no controller is adopted (an
  ownerReference added with a strategic merge patch).

The bytes. Upstream marshals ``data`` with Go's ``encoding/json`` from a
``map[string]interface{}`` made from the versioned object: keys sorted, no spaces,
``<``, ``>`` and ``&`` escaped, and a few zero-valued structs present that JSON
clients omit (``"creationTimestamp":null`` in the template's metadata,
``"resources":{}`` in each container). :func:`template_patch` reproduces that: kubectl,
re-encoding the set it reads, computes the same bytes (``rollout undo`` says "already
matches"), so for a template stored as a real API server stores it the revision
names should be a real cluster's too (not checked against one). (DaemonSet revision names are not: the DaemonSet
controller names them with ``ComputeHash`` of the Go struct, see
controllers/deployment/hash.py.)

Upstream's ``controller.kubernetes.io/hash`` label carries the hash on each
StatefulSet revision; pods carry ``controller-revision-hash`` (the revision's *name*
for a StatefulSet, its hash for a DaemonSet).

Mirrors: pkg/controller/history/controller_history.go,
pkg/controller/statefulset/stateful_set_control.go (getStatefulSetRevisions,
truncateHistory), stateful_set_utils.go (getPatch, newRevision, nextRevision,
ApplyRevision), pkg/controller/daemon/update.go (getPatch).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from apimachinery import errors
from apimachinery.selectors import from_label_selector
from client.cache import copy
from client.rest import GVR, PatchType, RESTClient
from controllers.deployment.hash import FNV32_OFFSET, FNV32_PRIME, safe_encode_string
from controllers.util import Obj, controller_of, controller_ref, epoch, is_pod_ready, meta, pod_condition

CONTROLLER_REVISIONS = GVR("apps", "v1", "controllerrevisions")
#: history.ControllerRevisionHashLabel: the hash, on StatefulSet revisions.
HASH_LABEL = "controller.kubernetes.io/hash"
#: apps.ControllerRevisionHashLabelKey: on pods (and DaemonSet revisions).
REVISION_LABEL = "controller-revision-hash"


# --- the bytes and the hash ----------------------------------------------------------------


def go_json(obj: Any) -> bytes:
    """``json.Marshal`` of a ``map[string]interface{}``: sorted keys, compact, HTML-escaped."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for raw, esc in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, esc)
    return text.encode()


def _as_go_encodes(template: Obj) -> Obj:
    """The template with the zero-valued structs Go's encoder writes though JSON omits them."""
    t = copy(template)
    t.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    spec = t.get("spec") or {}
    for key in ("initContainers", "containers"):
        for c in spec.get(key) or []:
            c.setdefault("resources", {})
    return t


def template_patch(owner: Obj) -> Obj:
    """``getPatch``: the patch that puts this template back, ``$patch: replace``."""
    template = _as_go_encodes((owner.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    # Keys in Go's order, so that the bytes the API server sends back (and kubectl
    # compares in `rollout undo`) are the bytes hashed here.
    patch: Obj = json.loads(go_json({"spec": {"template": template}}))
    return patch


def fnv32(data: bytes, h: int = FNV32_OFFSET) -> int:
    """FNV-1 (multiply, then xor): ``hash/fnv.New32``, which HashControllerRevision uses."""
    for byte in data:
        h = (h * FNV32_PRIME) & 0xFFFFFFFF
        h ^= byte
    return h


def hash_revision(data: Any, probe: int | None) -> str:
    """``HashControllerRevision``: FNV-1 32 of the data bytes, then the probe in decimal."""
    h = fnv32(go_json(data))
    if probe is not None:
        h = fnv32(str(probe).encode(), h)
    return safe_encode_string(str(h))


def revision_name(prefix: str, hash_: str) -> str:
    """``ControllerRevisionName``: a prefix over 223 bytes is cut so the name fits 253."""
    return f"{prefix[:223]}-{hash_}"


def template_of(revision: Obj) -> Obj:
    """The pod template a revision records (``ApplyRevision`` for a ``$patch: replace``)."""
    template = dict(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def apply_revision(owner: Obj, revision: Obj) -> Obj:
    """The set as it was at ``revision``: its template replaced by the recorded one."""
    out = copy(owner)
    out.setdefault("spec", {})["template"] = copy(template_of(revision))
    return out


# --- revisions as data ----------------------------------------------------------------------


def new_revision(
    owner: Obj, kind: str, data: Obj, number: int, collision_count: int | None, *, annotations: bool = True
) -> Obj:
    """``NewControllerRevision`` (+ the StatefulSet's ``newRevision``: the set's annotations)."""
    hash_ = hash_revision(data, collision_count)
    return revision_object(
        owner, kind, data, number, revision_name(meta(owner)["name"], hash_), {HASH_LABEL: hash_}, annotations
    )


def revision_object(
    owner: Obj, kind: str, data: Obj, number: int, name: str, labels: dict[str, str], annotations: bool
) -> Obj:
    """The ControllerRevision itself: the template's labels plus ``labels``, owned by ``owner``.

    StatefulSets name and label theirs by the hash of the revision data
    (``new_revision``); DaemonSets by the template's hash under
    ``controller-revision-hash`` (daemonset_update.snapshot, upstream's ``snapshot``).
    """
    template_labels = (((owner.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels")
    m: dict[str, Any] = {
        "name": name,
        "namespace": meta(owner).get("namespace", ""),
        "labels": {**(template_labels or {}), **labels},
        "ownerReferences": [controller_ref(owner, "apps/v1", kind)],
    }
    if annotations and meta(owner).get("annotations"):
        m["annotations"] = dict(meta(owner)["annotations"])
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": m,
        "data": data,
        "revision": number,
    }


def sort_revisions(revisions: Iterable[Obj]) -> list[Obj]:
    """``SortControllerRevisions``: by number, then creation time, then name."""
    return sorted(
        revisions,
        key=lambda r: (
            int(r.get("revision", 0)),
            meta(r).get("creationTimestamp") or "",
            meta(r).get("name", ""),
        ),
    )


def equal_revision(a: Obj | None, b: Obj | None) -> bool:
    """``EqualRevision``: the same ``data`` bytes (the hash labels are a shortcut upstream)."""
    if a is None or b is None:
        return a is b
    return go_json(a.get("data")) == go_json(b.get("data"))


def find_equal_revisions(revisions: list[Obj], needle: Obj) -> list[Obj]:
    return [r for r in revisions if equal_revision(r, needle)]


def next_revision(revisions: list[Obj]) -> int:
    """One more than the highest number (revisions sorted), 1 for an empty history."""
    return int(revisions[-1].get("revision", 0)) + 1 if revisions else 1


def owned_revisions(owner: Obj, revisions: Iterable[Obj]) -> tuple[list[Obj], list[Obj]]:
    """(owned, orphans to adopt) among revisions matching the owner's selector
    (``ListControllerRevisions`` returns both; the controllers adopt the orphans)."""
    selector = from_label_selector((owner.get("spec") or {}).get("selector"))
    uid = meta(owner).get("uid")
    owned, orphans = [], []
    for r in revisions:
        if meta(r).get("namespace", "") != meta(owner).get("namespace", "") or not selector(
            meta(r).get("labels")
        ):
            continue
        ref = controller_of(r)
        if ref is None:
            orphans.append(r)
        elif ref.get("uid") == uid:
            owned.append(r)
    return owned, orphans


def to_truncate(revisions: list[Obj], live: set[str], limit: int) -> list[Obj]:
    """``truncateHistory``: the oldest revisions not in ``live`` beyond ``limit``."""
    history = [r for r in sort_revisions(revisions) if meta(r)["name"] not in live]
    return history[: max(0, len(history) - limit)]


# --- revisions through the API ---------------------------------------------------------------


class History:
    """``realHistory``: create, renumber, delete and adopt revisions over REST."""

    def __init__(self, client: RESTClient) -> None:
        self.client = client

    async def create(self, owner: Obj, revision: Obj, collision_count: int) -> tuple[Obj, int]:
        """``CreateControllerRevision``: (the revision, the collision count that named it).

        A name already taken by the same data is that revision; by other data, a
        collision: count one more and rename.
        """
        ns = meta(owner).get("namespace", "")
        while True:
            clone = copy(revision)
            hash_ = hash_revision(clone["data"], collision_count)
            clone["metadata"]["name"] = revision_name(meta(owner)["name"], hash_)
            clone["metadata"]["labels"][HASH_LABEL] = hash_
            try:
                return await self.client.create(CONTROLLER_REVISIONS, clone, namespace=ns), collision_count
            except errors.StatusError as err:
                if not errors.is_already_exists(err):
                    raise
            exists = await self.client.get(CONTROLLER_REVISIONS, clone["metadata"]["name"], namespace=ns)
            if equal_revision(exists, clone):
                return exists, collision_count
            collision_count += 1

    async def renumber(self, revision: Obj, number: int) -> Obj:
        """``UpdateControllerRevision``: give an existing revision a new number."""
        ns = meta(revision).get("namespace", "")
        clone = copy(revision)
        for _ in range(5):
            if int(clone.get("revision", 0)) == number:
                return clone
            clone["revision"] = number
            try:
                return await self.client.update(CONTROLLER_REVISIONS, clone, namespace=ns)
            except errors.StatusError as err:
                if not errors.is_conflict(err):
                    raise
            clone = await self.client.get(CONTROLLER_REVISIONS, meta(revision)["name"], namespace=ns)
        raise RuntimeError(f"renumbering {meta(revision)['name']}: conflicts")

    async def delete(self, revision: Obj) -> None:
        try:
            await self.client.delete(
                CONTROLLER_REVISIONS, meta(revision)["name"], namespace=meta(revision).get("namespace", "")
            )
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                raise

    async def adopt(self, owner: Obj, kind: str, revision: Obj) -> Obj:
        """``AdoptControllerRevision``: a strategic merge patch adding the controller reference."""
        ref = controller_ref(owner, "apps/v1", kind)
        patch = {"metadata": {"ownerReferences": [ref], "uid": meta(revision)["uid"]}}
        result: Obj = await self.client.patch(
            CONTROLLER_REVISIONS,
            meta(revision)["name"],
            patch,
            namespace=meta(revision).get("namespace", ""),
            patch_type=PatchType.STRATEGIC,
        )
        return result


async def update_status(client: RESTClient, gvr: GVR, owner: Obj, status: Obj) -> None:
    """Write a set's status; on a conflict (our cache is behind our own last write) retry
    once on a fresh read of the same generation (``updateStatefulSetStatus`` and
    ``storeDaemonSetStatus`` retry on conflict the same way)."""
    ns = meta(owner).get("namespace", "")
    updated = copy(owner)
    updated["status"] = status
    try:
        await client.update(gvr, updated, namespace=ns, subresource="status")
        return
    except errors.StatusError as err:
        if not errors.is_conflict(err):
            raise
    fresh = await client.get(gvr, meta(owner)["name"], namespace=ns)
    if meta(fresh).get("generation") != meta(owner).get("generation") or meta(fresh).get("uid") != meta(
        owner
    ).get("uid"):
        raise RuntimeError(f"{meta(owner)['name']} changed while its status was computed; requeued")
    counts = [int(s.get("collisionCount") or 0) for s in (status, fresh.get("status") or {})]
    fresh["status"] = {**status, "collisionCount": max(counts)} if any(counts) else status
    await client.update(gvr, fresh, namespace=ns, subresource="status")


def next_available(pods: Iterable[Obj], min_ready_seconds: int, now: float) -> float | None:
    """Seconds until the first Ready pod becomes available (``minReadySeconds``), if any:
    both controllers requeue then (upstream's ``AddAfter`` on ``minReadySeconds``)."""
    waits = [
        epoch((pod_condition(p, "Ready") or {}).get("lastTransitionTime")) + min_ready_seconds - now
        for p in pods
        if min_ready_seconds > 0 and is_pod_ready(p)
    ]
    pending = [w for w in waits if w > 0]
    return min(pending) if pending else None
