"""The generic registry store: one implementation of create/get/list/update/delete for every kind.

Mirrors k8s.io/apiserver/pkg/registry/generic/registry/store.go together with
rest/create.go (BeforeCreate), rest/update.go (BeforeUpdate) and rest/delete.go
(BeforeDelete). What a kind does differently lives in its :mod:`strategy`; what
storage can fail with is translated here, once, into API errors (``Status``), so
storage keys never reach a client.

The life of a write, as upstream:

1. ``BeforeCreate``/``BeforeUpdate``: system fields (uid, creationTimestamp,
   generation), the strategy's ``prepare_for_*`` and ``default``, validation (422).
2. Storage: ``create`` (409 AlreadyExists) or ``guaranteed_update`` (retry on a lost
   compare-and-swap; 409 Conflict only when the client pinned a resourceVersion).
   With a ``manager`` (the handlers pass ``fieldManager`` or the User-Agent),
   ``metadata.managedFields`` is brought up to date after defaulting, so the
   writer owns what it changed, defaults included (:mod:`apiserver.managedfields`;
   upstream the handlers call the FieldManager). Server-side apply computes
   ownership itself and passes no manager.
3. Deletion is a state machine: graceful deletion and finalizers first set
   ``deletionTimestamp`` (an update), the object leaves storage only when its grace
   period is 0 and no finalizer remains.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apimachinery import errors, field_errors
from apimachinery.errors import GroupKind, GroupResource
from apimachinery.meta import format_time, generate_name, now
from apiserver.managedfields import Target, track_create, track_update
from apiserver.storage import errors as serr
from apiserver.storage.store import ObjectStore, Preconditions

from .canonical import canonicalize_times, drop_empty_meta
from .conversion import codec_for
from .strategy import Object, Strategy, copy_stored

FINALIZER_ORPHAN = "orphan"
FINALIZER_FOREGROUND = "foregroundDeletion"


class RegistryStore:
    """Every verb for one resource (e.g. ``pods``) over one storage prefix."""

    def __init__(
        self,
        *,
        group: str,
        resource: str,
        kind: str,
        api_version: str,
        namespaced: bool,
        prefix: str,
        strategy: Strategy,
        storage: ObjectStore,
    ) -> None:
        self.group = group
        self.resource = resource
        self.kind = kind
        self.api_version = api_version
        self.namespaced = namespaced
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.strategy = strategy
        self.storage = storage
        self.version = api_version.rsplit("/", 1)[-1]
        self.gr = GroupResource(group, resource)
        #: Converts between this resource's version and the one its storage holds.
        self.codec = codec_for(group, resource)
        self.gk = GroupKind(group, kind)

    # --- keys -------------------------------------------------------------------
    def key(self, namespace: str, name: str) -> str:
        return f"{self.prefix}{namespace}/{name}" if self.namespaced else f"{self.prefix}{name}"

    def list_prefix(self, namespace: str) -> str:
        return f"{self.prefix}{namespace}/" if self.namespaced and namespace else self.prefix

    # --- error translation (the layer boundary) -----------------------------------
    def translate(
        self, e: serr.StorageError, name: str = "", *, conflict_message: str = ""
    ) -> errors.StatusError:
        if isinstance(e, serr.KeyNotFoundError):
            return errors.new_not_found(self.gr, name)
        if isinstance(e, serr.KeyExistsError):
            return errors.new_already_exists(self.gr, name)
        if isinstance(e, serr.ConflictError):
            return errors.new_conflict(self.gr, name, conflict_message or str(e))
        if isinstance(e, serr.CompactedError):
            return errors.new_resource_expired(
                f"too old resource version: {e.revision} ({e.compacted_revision + 1})"
            )
        if isinstance(e, serr.UnavailableError):
            return errors.new_service_unavailable(f"storage unavailable: {e}")
        return errors.new_internal_error(str(e))

    # --- read ---------------------------------------------------------------------
    async def get(self, namespace: str, name: str) -> Object:
        try:
            return self.codec.from_storage(await self.storage.get(self.key(namespace, name)))
        except serr.StorageError as e:
            raise self.translate(e, name) from None

    # --- create -------------------------------------------------------------------
    async def create(
        self, obj: Object, namespace: str, *, dry_run: bool = False, manager: str | None = None
    ) -> Object:
        meta = obj.setdefault("metadata", {})
        self._before_create(obj, namespace, manager)
        await self.strategy.allocate(obj, self.storage, self.prefix)
        if dry_run:
            meta.setdefault("uid", str(uuid.uuid4()))
            return obj
        for _attempt in range(8 if meta.pop("_generated", False) else 1):
            try:
                stored = await self.storage.create(
                    self.key(namespace, meta["name"]), self.codec.to_storage(obj)
                )
                return self.codec.from_storage(stored)
            except serr.KeyExistsError:
                if not meta.get("generateName") or _attempt == 7:
                    raise self.translate(serr.KeyExistsError(""), meta["name"]) from None
                meta["name"] = generate_name(meta["generateName"])
            except serr.StorageError as e:
                raise self.translate(e, meta.get("name", "")) from None
        raise errors.new_internal_error("unreachable")  # pragma: no cover

    def _before_create(self, obj: Object, namespace: str, manager: str | None = None) -> None:
        """rest.BeforeCreate: system fields, strategy hooks, validation; then field ownership."""
        canonicalize_times(obj, self.group, self.version, self.kind)
        meta = obj["metadata"]
        drop_empty_meta(meta)
        if self.namespaced:
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = generate_name(meta["generateName"])
            meta["_generated"] = True
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        for f in ("deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion", "selfLink"):
            meta.pop(f, None)
        meta.pop("generation", None)
        self.strategy.prepare_for_create(obj)
        self.strategy.default(obj)
        generated = meta.pop("_generated", None)
        errs = self.strategy.validate(obj)
        if errs:
            raise errors.new_invalid(self.gk, meta.get("name", ""), errs)
        if manager is not None:
            track_create(obj, manager, self._target(""))
        if generated:
            meta["_generated"] = True

    # --- update -------------------------------------------------------------------
    async def update(
        self,
        namespace: str,
        name: str,
        compute: Callable[[Object | None], Object | Awaitable[Object]],
        *,
        strategy: Strategy | None = None,
        dry_run: bool = False,
        force_allow_create: bool = False,
        manager: str | None = None,
        subresource: str = "",
    ) -> tuple[Object, bool]:
        """Read-modify-write. ``compute(current)`` returns the desired object.

        ``manager`` records the write in managedFields, as an update through
        ``subresource`` ("status", "scale" or "" for the object itself).

        Returns ``(object, created)``. The compare-and-swap is retried on conflicts,
        except when the desired object pins a different ``metadata.resourceVersion``
        (optimistic concurrency chosen by the client): that is a 409.
        """
        strategy = strategy or self.strategy
        created = False
        key = self.key(namespace, name)

        async def attempt(current: Object | None) -> Object:
            nonlocal created
            result = compute(copy_stored(current) if current is not None else None)
            desired: Object = await result if isinstance(result, Awaitable) else result
            meta = desired.setdefault("metadata", {})
            if meta.get("name", name) != name:
                raise errors.new_bad_request(
                    f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})"
                )
            if self.namespaced and meta.get("namespace", namespace) != namespace:
                raise errors.new_bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            if current is None:
                if not (strategy.allow_create_on_update or force_allow_create):
                    raise errors.new_not_found(self.gr, name)
                created = True
                meta["name"] = name
                self._before_create(desired, namespace, manager)
                meta.pop("_generated", None)
                return desired
            rv = meta.get("resourceVersion")
            if rv and rv != current["metadata"]["resourceVersion"]:
                raise errors.new_conflict(
                    self.gr,
                    name,
                    "the object has been modified; please apply your changes to the latest version and try again",
                )
            if not rv and not strategy.allow_unconditional_update:
                raise errors.new_invalid(
                    self.gk,
                    name,
                    [field_errors.invalid("metadata.resourceVersion", 0, "must be specified for an update")],
                )
            computed_ownership = meta.get("managedFields")
            self._before_update(desired, current, strategy)
            if manager is not None:
                track_update(current, desired, manager, self._target(subresource))
            elif computed_ownership is not None:
                # Server-side apply computed ownership itself; a status strategy,
                # which restores the old metadata, must not undo that.
                desired["metadata"]["managedFields"] = computed_ownership
            return desired

        async def attempt_in_storage_version(stored: Object | None) -> Object:
            current = self.codec.from_storage(stored) if stored is not None else None
            return self.codec.to_storage(await attempt(current))

        try:
            if dry_run:
                try:
                    current: Object | None = self.codec.from_storage(await self.storage.get(key))
                except serr.KeyNotFoundError:
                    current = None
                return await attempt(current), created
            out = await self.storage.guaranteed_update(key, attempt_in_storage_version, ignore_not_found=True)
        except serr.StorageError as e:
            raise self.translate(e, name) from None
        out = self.codec.from_storage(out)
        meta = out["metadata"]
        if (
            meta.get("deletionTimestamp")
            and not meta.get("finalizers")
            and not meta.get("deletionGracePeriodSeconds")
        ):
            # store.go Update → ShouldDeleteDuringUpdate: the last finalizer went away.
            await self._remove(namespace, name, out)
        return out, created

    def _target(self, subresource: str) -> Target:
        return Target(self.group, self.version, self.kind, subresource)

    def _before_update(self, new: Object, old: Object, strategy: Strategy) -> None:
        """rest.BeforeUpdate: keep system fields, strategy hooks, validation."""
        canonicalize_times(new, self.group, self.version, self.kind)
        meta, old_meta = new["metadata"], old["metadata"]
        drop_empty_meta(meta)
        if self.namespaced:
            meta["namespace"] = old_meta.get("namespace")
        for f in ("uid", "creationTimestamp", "resourceVersion"):
            if not meta.get(f):
                meta[f] = old_meta.get(f)  # an unconditional update writes over the latest version
        # Fields only the server sets survive any client update.
        for f in ("deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            if f in old_meta:
                meta[f] = old_meta[f]
            else:
                meta.pop(f, None)
        meta.pop("selfLink", None)
        strategy.prepare_for_update(new, old)
        strategy.default(new)
        errs = strategy.validate_update(new, old)
        if errs:
            raise errors.new_invalid(self.gk, meta.get("name", ""), errs)

    # --- delete -------------------------------------------------------------------
    async def delete(
        self, namespace: str, name: str, options: Object, *, dry_run: bool = False
    ) -> tuple[Object, bool]:
        """Delete per ``DeleteOptions``; returns ``(object, still_exists)``.

        Mirrors store.go Delete: graceful deletion and finalizers turn the delete into
        an update that sets ``deletionTimestamp``; otherwise the key is removed.
        """
        key = self.key(namespace, name)
        pre = options.get("preconditions") or {}
        preconditions = Preconditions(uid=pre.get("uid"), resource_version=pre.get("resourceVersion"))
        try:
            current = await self.storage.get(key)
        except serr.StorageError as e:
            raise self.translate(e, name) from None
        self._check_preconditions(current, preconditions, name)

        grace = self.strategy.grace_period(current, options.get("gracePeriodSeconds"))
        finalizers = self._gc_finalizers(current, options)

        if grace == 0 and not finalizers:
            if dry_run:
                return self.codec.from_storage(current), False
            try:
                deleted = await self.storage.delete(key, preconditions=preconditions)
            except serr.StorageError as e:
                raise self.translate(e, name) from None
            return self.codec.from_storage(deleted), False

        def mark(obj: Object | None) -> Object:
            if obj is None:
                raise serr.KeyNotFoundError(key)
            self._check_preconditions(obj, preconditions, name)
            meta = obj["metadata"]
            existing = meta.get("deletionGracePeriodSeconds")
            if meta.get("deletionTimestamp") is None or (existing is not None and grace < existing):
                meta["deletionTimestamp"] = format_time(datetime.now(UTC) + timedelta(seconds=grace))
                meta["deletionGracePeriodSeconds"] = grace
                if meta.get("generation"):
                    meta["generation"] += 1
            if finalizers:
                meta["finalizers"] = finalizers
            return obj

        if dry_run:
            return self.codec.from_storage(mark(copy.deepcopy(current))), True
        try:
            out = await self.storage.guaranteed_update(key, mark)
        except serr.StorageError as e:
            raise self.translate(e, name) from None
        return self.codec.from_storage(out), True

    async def _remove(self, namespace: str, name: str, obj: Object) -> None:
        try:
            await self.storage.delete(
                self.key(namespace, name), preconditions=Preconditions(uid=obj["metadata"].get("uid"))
            )
        except (serr.KeyNotFoundError, serr.ConflictError):
            pass

    def _check_preconditions(self, obj: Object, pre: Preconditions, name: str) -> None:
        meta = obj["metadata"]
        if pre.uid is not None and pre.uid != meta.get("uid"):
            raise errors.new_conflict(
                self.gr,
                name,
                f"the UID in the precondition ({pre.uid}) does not match the UID in record ({meta.get('uid')}). "
                "The object might have been deleted and then recreated",
            )
        if pre.resource_version is not None and pre.resource_version != meta.get("resourceVersion"):
            raise errors.new_conflict(
                self.gr,
                name,
                f"the ResourceVersion in the precondition ({pre.resource_version}) does not match the "
                f"ResourceVersion in record ({meta.get('resourceVersion')}). The object might have been modified",
            )

    def _gc_finalizers(self, obj: Object, options: dict[str, Any]) -> list[str]:
        """store.go deletionFinalizersForGarbageCollection: the orphan/foreground finalizers.

        Both are removed, then added back as the request (or, without one, the
        finalizers already present and the kind's default policy) asks.
        """
        existing = list(obj["metadata"].get("finalizers") or [])
        policy, orphan = options.get("propagationPolicy"), options.get("orphanDependents")
        if policy:
            should_orphan, foreground = policy == "Orphan", policy == "Foreground"
        elif orphan is not None:
            should_orphan, foreground = bool(orphan), False
        else:
            should_orphan = FINALIZER_ORPHAN in existing or (
                self.strategy.default_gc_policy == "OrphanDependents" and FINALIZER_FOREGROUND not in existing
            )
            foreground = FINALIZER_FOREGROUND in existing and not should_orphan
        out = [f for f in existing if f not in (FINALIZER_ORPHAN, FINALIZER_FOREGROUND)]
        if should_orphan:
            out.append(FINALIZER_ORPHAN)
        if foreground:
            out.append(FINALIZER_FOREGROUND)
        return out
