"""Admission: the NamespaceLifecycle plugin, the one every write to a namespace meets.

Mirrors k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle/admission.go:

* creating anything in a namespace that does not exist is 404 ``namespaces "x" not found``;
* creating in a namespace being deleted is 403 with cause ``NamespaceTerminating``;
* ``default``, ``kube-system`` and ``kube-public`` may not be deleted (403).

The namespace is read as the plugin reads it: from the namespace lister (here the
namespaces watch cache, ``Cacher.get_cached``), and only when it is not there from
storage (the plugin's live lookup, for a namespace created an instant ago).
"""

from __future__ import annotations

from apimachinery import errors
from apimachinery.errors import GroupResource

from .common import Scope

IMMORTAL_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})
_NAMESPACES = GroupResource("", "namespaces")


async def admit_namespace(scope: Scope, name: str) -> None:
    """Refuse a create in a missing or terminating namespace."""
    entry = scope.registry.get("", "v1", "namespaces")
    assert entry is not None
    ns = entry.cacher.get_cached(entry.store.key("", scope.namespace))
    if ns is None:  # not in the cache (yet?): ask storage, as the plugin's live lookup does
        try:
            ns = await entry.store.get("", scope.namespace)
        except errors.StatusError as e:
            if e.code == 404:
                raise errors.new_not_found(_NAMESPACES, scope.namespace) from None
            raise
    if (ns.get("status") or {}).get("phase") == "Terminating" or ns["metadata"].get("deletionTimestamp"):
        gr = GroupResource(scope.entry.info.group, scope.entry.info.resource)
        err = errors.new_forbidden(
            gr,
            name,
            f"unable to create new content in namespace {scope.namespace} because it is being terminated",
        )
        err.status.setdefault("details", {})["causes"] = [
            {
                "reason": "NamespaceTerminating",
                "message": f"namespace {scope.namespace} is being terminated",
                "field": "metadata.namespace",
            }
        ]
        raise err


def admit_namespace_delete(name: str) -> None:
    if name in IMMORTAL_NAMESPACES:
        raise errors.new_forbidden(_NAMESPACES, name, "this namespace may not be deleted")
