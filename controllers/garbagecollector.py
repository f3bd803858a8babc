"""The garbage collector: delete objects whose owners are gone, in the order deletion asks.

Objects point at their owners with ``metadata.ownerReferences`` (a ReplicaSet's pods
name the ReplicaSet, the ReplicaSet names its Deployment). Those references form a
graph, and the informer caches index it both ways: an object's owners are in its
own metadata, its dependents are the objects whose ``owner`` index holds its uid.
Deleting an owner asks for one of three *propagation policies*, which the API server
turns into a finalizer on the owner (§5.4 of the API reference):

* **Background** (kubectl's default): the owner goes at once; afterwards every
  dependent whose owners are *all* gone is deleted here, and so on down the graph.
* **Foreground** (``--cascade=foreground``): the owner stays, with a
  ``deletionTimestamp`` and the ``foregroundDeletion`` finalizer, while its
  dependents are deleted; once no dependent with ``blockOwnerDeletion: true`` is left,
  the finalizer is removed and the server deletes the owner.
* **Orphan** (``--cascade=orphan``): the ``orphan`` finalizer; the owner is removed
  from every dependent's ownerReferences, then the finalizer is removed. The
  dependents live on, unowned.

A reference to an owner that no longer exists (or exists with another uid) is
*dangling*; an object with a live owner besides dangling ones just loses the dangling
references. An owner missing from the cache is confirmed with a live GET before
anything is deleted: a cache can lag behind, and deletion cannot be undone.

The key of every object is ``group|version|resource|namespace|name``, since the GC
watches every kind the server serves (found by discovery at start).

Mirrors: pkg/controller/garbagecollector/garbagecollector.go (attemptToDeleteItem,
classifyReferences, processDeletingDependentsItem, orphanDependents),
graph_builder.go (the uid graph, kept here as cache indexes), operations.go.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from apimachinery import errors
from apimachinery.meta import key as make_key
from client.rest import GVR
from controllers.base import Controller, Result, Watch
from controllers.discovery import APIResource, server_preferred_resources, supports
from controllers.util import Obj, meta

log = logging.getLogger(__name__)

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
#: Never garbage collected, never owners (garbagecollector.go DefaultIgnoredResources).
IGNORED = {("", "events"), ("events.k8s.io", "events")}

SOLID, DANGLING, WAITING = "solid", "dangling", "waitingForDependentsDeletion"


def gc_key(gvr: GVR, obj: Obj) -> str:
    m = meta(obj)
    return f"{gvr.group}|{gvr.version}|{gvr.resource}|{m.get('namespace', '')}|{m.get('name', '')}"


def parse_key(key: str) -> tuple[GVR, str, str]:
    group, version, resource, namespace, name = key.split("|", 4)
    return GVR(group, version, resource), namespace, name


def deletion_policy(obj: Obj) -> str:
    """The policy to delete an orphaned dependent with: keep its own GC finalizers' wish."""
    finalizers = meta(obj).get("finalizers") or []
    if ORPHAN in finalizers:
        return "Orphan"
    if FOREGROUND in finalizers:
        return "Foreground"
    return "Background"


def classify(states: list[str]) -> str:
    """What to do with an object given its owners' states (``attemptToDeleteItem``'s switch)."""
    if not states:
        return "keep"
    if SOLID in states:
        return "remove-refs" if (DANGLING in states or WAITING in states) else "keep"
    if WAITING in states:
        return "delete-foreground"
    return "delete"


def is_waiting_for_dependents(owner: Obj) -> bool:
    return bool(meta(owner).get("deletionTimestamp")) and FOREGROUND in (meta(owner).get("finalizers") or [])


class GarbageCollector(Controller):
    name = "garbagecollector"
    workers = 10

    async def setup(self) -> None:
        self.resources = [
            r
            for r in await server_preferred_resources(self.ctx.client)
            if supports(r, "list", "watch", "delete") and (r.gvr.group, r.gvr.resource) not in IGNORED
        ]
        self.by_kind: dict[tuple[str, str], APIResource] = {}
        for r in self.resources:
            self.by_kind[(r.gvr.group, r.kind)] = r

    def watches(self) -> list[Watch]:
        return [
            Watch(r.gvr, keys=functools.partial(self._keys, r), observe=functools.partial(self._observe, r))
            for r in self.resources
        ]

    # --- the graph, read from the caches ---------------------------------------------------

    def _resource_for(self, ref: dict[str, Any]) -> APIResource | None:
        group = ref.get("apiVersion", "").rpartition("/")[0]
        return self.by_kind.get((group, ref.get("kind", "")))

    def _dependents(self, uid: str) -> list[tuple[APIResource, Obj]]:
        return [(r, d) for r in self.resources for d in self.cache(r.gvr).by_index("owner", uid)]

    def _owner_keys(self, obj: Obj) -> list[str]:
        out = []
        for ref in meta(obj).get("ownerReferences") or []:
            r = self._resource_for(ref)
            if r is not None:
                ns = meta(obj).get("namespace", "") if r.namespaced else ""
                out.append(f"{r.gvr.group}|{r.gvr.version}|{r.gvr.resource}|{ns}|{ref['name']}")
        return out

    def _keys(self, r: APIResource, obj: Obj) -> list[str]:
        m = meta(obj)
        out = []
        if m.get("ownerReferences") or {ORPHAN, FOREGROUND} & set(m.get("finalizers") or []):
            out.append(gc_key(r.gvr, obj))
        if m.get("deletionTimestamp"):
            out += [gc_key(dr.gvr, d) for dr, d in self._dependents(m.get("uid", ""))]
            out += self._owner_keys(obj)  # an owner in foreground deletion waits on us
        return out

    def _observe(self, r: APIResource, event: str, old: Obj | None, obj: Obj) -> None:
        if event == "delete":  # the owner is gone: its dependents may be orphans now
            for dr, d in self._dependents(meta(obj).get("uid", "")):
                self.enqueue(gc_key(dr.gvr, d))
            for k in self._owner_keys(obj):
                self.enqueue(k)

    async def _owner_state(self, ref: dict[str, Any], namespace: str) -> str:
        r = self._resource_for(ref)
        if r is None:
            log.warning(
                "unknown owner kind %s %s: keeping the reference", ref.get("apiVersion"), ref.get("kind")
            )
            return SOLID
        ns = namespace if r.namespaced else ""
        owner = self.cache(r.gvr).get(make_key(ns, ref["name"]))
        if owner is None or meta(owner).get("uid") != ref.get("uid"):
            try:  # the cache may lag: ask the server before calling it gone
                owner = await self.ctx.client.get(r.gvr, ref["name"], namespace=ns)
            except errors.StatusError as err:
                if errors.is_not_found(err):
                    return DANGLING
                raise
            if meta(owner).get("uid") != ref.get("uid"):
                return DANGLING
        return WAITING if is_waiting_for_dependents(owner) else SOLID

    # --- reconcile ----------------------------------------------------------------------

    async def reconcile(self, key: str) -> Result | None:
        gvr, ns, name = parse_key(key)
        obj = self.cache(gvr).get(make_key(ns, name))
        if obj is None:
            return None
        m = meta(obj)
        finalizers = m.get("finalizers") or []
        if m.get("deletionTimestamp") and ORPHAN in finalizers:
            await self._orphan_dependents(gvr, obj)
            return None
        if m.get("deletionTimestamp") and FOREGROUND in finalizers:
            await self._delete_dependents(gvr, obj)
            return None
        refs = m.get("ownerReferences") or []
        states = [await self._owner_state(ref, ns) for ref in refs]
        action = classify(states)
        if action == "remove-refs":
            keep = [ref for ref, state in zip(refs, states, strict=True) if state == SOLID]
            await self._patch_refs(gvr, obj, keep)
        elif action == "delete-foreground" and self._dependents(m["uid"]):
            await self._delete(gvr, obj, "Foreground")
        elif action in ("delete", "delete-foreground") and not m.get("deletionTimestamp"):
            await self._delete(gvr, obj, deletion_policy(obj))
        return None

    async def _orphan_dependents(self, gvr: GVR, owner: Obj) -> None:
        uid = meta(owner)["uid"]
        for dr, d in self._dependents(uid):
            keep = [ref for ref in meta(d).get("ownerReferences") or [] if ref.get("uid") != uid]
            await self._patch_refs(dr.gvr, d, keep)
        await self._remove_finalizer(gvr, owner, ORPHAN)

    async def _delete_dependents(self, gvr: GVR, owner: Obj) -> None:
        uid = meta(owner)["uid"]
        blocking = 0
        for dr, d in self._dependents(uid):
            ref = next(r for r in meta(d).get("ownerReferences") or [] if r.get("uid") == uid)
            if ref.get("blockOwnerDeletion"):
                blocking += 1
            if not meta(d).get("deletionTimestamp"):
                policy = "Foreground" if self._dependents(meta(d)["uid"]) else "Background"
                await self._delete(dr.gvr, d, policy)
        if blocking == 0:
            await self._remove_finalizer(gvr, owner, FOREGROUND)

    # --- writes ---------------------------------------------------------------------------

    async def _delete(self, gvr: GVR, obj: Obj, policy: str) -> None:
        m = meta(obj)
        log.info(
            "deleting %s %s/%s (propagation %s)", gvr.resource, m.get("namespace", ""), m["name"], policy
        )
        try:
            await self.ctx.client.delete(
                gvr,
                m["name"],
                namespace=m.get("namespace", ""),
                propagation_policy=policy,
                preconditions={"uid": m["uid"]},
            )
        except errors.StatusError as err:
            if not (errors.is_not_found(err) or errors.is_conflict(err)):
                raise

    async def _patch_refs(self, gvr: GVR, obj: Obj, refs: list[dict[str, Any]]) -> None:
        m = meta(obj)
        patch = {"metadata": {"ownerReferences": refs or None, "uid": m["uid"]}}
        try:
            await self.ctx.client.patch(gvr, m["name"], patch, namespace=m.get("namespace", ""))
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                raise

    async def _remove_finalizer(self, gvr: GVR, obj: Obj, finalizer: str) -> None:
        m = meta(obj)
        rest = [f for f in m.get("finalizers") or [] if f != finalizer]
        patch = {"metadata": {"finalizers": rest or None, "resourceVersion": m["resourceVersion"]}}
        try:
            await self.ctx.client.patch(gvr, m["name"], patch, namespace=m.get("namespace", ""))
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                raise
