"""Strategies: the small per-kind hooks the one generic store calls.

Mirrors k8s.io/apiserver/pkg/registry/rest/create.go (RESTCreateStrategy),
update.go (RESTUpdateStrategy), delete.go (RESTGracefulDeleteStrategy) and a
typical kind's ``strategy.go`` (k8s pkg/registry/apps/deployment/strategy.go). The
generic store (``store.py``) does everything every kind shares: names, uids,
timestamps, resourceVersions, preconditions, finalizers, storage. A strategy adds
only what differs per kind:

* ``prepare_for_create`` / ``prepare_for_update``: reset fields the client may not
  set through this endpoint (``status`` on the main resource; everything but
  ``status`` on ``/status``), bump ``metadata.generation`` when the spec changes;
* ``default``: fill the defaults clients read back (the real API server runs the
  defaulting functions of k8s pkg/apis/<group>/v1/defaults.go on every decode);
* ``validate`` / ``validate_update``: field errors rendered as a 422 Invalid;
* ``grace_period``: the graceful-deletion rule (pods only).

A subresource such as ``status`` reuses the same store with a
:class:`StatusStrategy` wrapped around the kind's main strategy.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

from apimachinery import validation
from apimachinery.field_errors import FieldError
from apiserver.storage.store import ObjectStore

Object = dict[str, Any]


def copy_stored(obj: Object) -> Object:
    """A deep copy, safe to change, of an object as storage decoded it.

    Written out and read back by orjson: several times faster than
    ``copy.deepcopy``, and exact for what orjson decoded in the first place (plain
    dicts, lists, strings, numbers, booleans and nulls). What orjson cannot write
    (an integer beyond 64 bits) takes ``copy.deepcopy``.
    """
    try:
        copied: Object = orjson.loads(orjson.dumps(obj))
    except TypeError:
        return copy.deepcopy(obj)
    return copied


class Strategy:
    """Default behaviour, right for most kinds; subclasses override a few hooks."""

    #: Whether the kind has a /status subresource (then the main resource ignores status).
    has_status: bool = False
    #: Whether metadata.generation counts spec changes (kinds with a spec the controllers observe).
    tracks_generation: bool = False
    #: PUT may create a missing object (leases, endpoints... as the real strategies say).
    allow_create_on_update: bool = False
    #: PUT without metadata.resourceVersion overwrites unconditionally.
    allow_unconditional_update: bool = True
    #: DELETE answers with the deleted object instead of a Status (pods, namespaces...).
    return_deleted_object: bool = False
    #: What happens to dependents when no propagationPolicy is given (rest.GarbageCollectionPolicy).
    default_gc_policy: str = "DeleteDependents"

    def __init__(self, kind: str, namespaced: bool) -> None:
        self.kind = kind
        self.namespaced = namespaced

    # --- create ---------------------------------------------------------------
    def prepare_for_create(self, obj: Object) -> None:
        if self.has_status:
            obj.pop("status", None)
            initial = self.initial_status(obj)
            if initial is not None:
                obj["status"] = initial
        if self.tracks_generation:
            obj["metadata"]["generation"] = 1

    def initial_status(self, obj: Object) -> Object | None:
        return None

    async def allocate(self, obj: Object, storage: ObjectStore, prefix: str) -> None:
        """Assign what must be unique across objects (a Service's clusterIP, its nodePorts)."""

    def default(self, obj: Object) -> None:
        """Defaulting, run on every write through the main resource."""

    def validate(self, obj: Object) -> list[FieldError]:
        return validation.validate_object_meta(obj.get("metadata") or {}, self.namespaced, self.validate_name)

    def validate_name(self, name: str, prefix: bool) -> list[str]:
        """The name rule: DNS-1123 subdomain by default (most kinds)."""
        return validation.name_is_dns_subdomain(name, prefix)

    # --- update ---------------------------------------------------------------
    def prepare_for_update(self, new: Object, old: Object) -> None:
        if self.has_status:
            if "status" in old:
                new["status"] = copy_stored(old["status"])
            else:
                new.pop("status", None)
        if self.tracks_generation:
            generation = old["metadata"].get("generation", 1)
            if _spec_view(new) != _spec_view(old):
                generation += 1
            new["metadata"]["generation"] = generation

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        errs = self.validate(new)
        errs += validation.validate_object_meta_update(new.get("metadata") or {}, old.get("metadata") or {})
        return errs

    # --- delete ---------------------------------------------------------------
    def grace_period(self, obj: Object, requested: int | None) -> int:
        """Seconds to wait before the object goes; 0 deletes at once (all kinds but pods)."""
        return 0


class StatusStrategy(Strategy):
    """``/status``: only ``status`` (and labels/annotations, as upstream) may change."""

    def __init__(self, main: Strategy) -> None:
        super().__init__(main.kind, main.namespaced)
        self.main = main
        self.has_status = True
        self.return_deleted_object = main.return_deleted_object

    def prepare_for_update(self, new: Object, old: Object) -> None:
        status = new.get("status")
        meta = new.get("metadata") or {}
        keep = copy_stored(old)
        keep["metadata"]["resourceVersion"] = meta.get(
            "resourceVersion", old["metadata"].get("resourceVersion")
        )
        if status is None:
            keep.pop("status", None)
        else:
            keep["status"] = status
        new.clear()
        new.update(keep)

    def default(self, obj: Object) -> None:
        pass

    def validate(self, obj: Object) -> list[FieldError]:
        return self.main.validate(obj)

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        return validation.validate_object_meta_update(new.get("metadata") or {}, old.get("metadata") or {})


def _spec_view(obj: Object) -> Object:
    """Everything that counts as 'spec' for generation: all but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}
