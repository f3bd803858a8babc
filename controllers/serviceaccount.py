"""The ServiceAccount controller: a ``default`` ServiceAccount in every namespace.

Pods run as a ServiceAccount, ``default`` unless they name another (the API server's
ServiceAccount admission fills ``spec.serviceAccountName``), so every active
namespace needs one. Key: the namespace name. It watches namespaces (a new one
needs its account) and ServiceAccounts (a deleted ``default`` is recreated).

Mirrors: pkg/controller/serviceaccount/serviceaccounts_controller.go
(ServiceAccountsController, syncNamespace, DefaultServiceAccountsControllerOptions).
"""

from __future__ import annotations

from apimachinery import errors
from controllers.base import NAMESPACES, SERVICEACCOUNTS, Controller, Result, Watch
from controllers.util import Obj, meta

DEFAULT = "default"


def namespace_of(obj: Obj) -> list[str]:
    return [meta(obj).get("namespace", "")] if meta(obj).get("name") == DEFAULT else []


def needs_account(ns: Obj | None, existing: Obj | None) -> bool:
    return ns is not None and (ns.get("status") or {}).get("phase", "Active") == "Active" and existing is None


class ServiceAccountController(Controller):
    name = "serviceaccount"
    workers = 2

    def watches(self) -> list[Watch]:
        return [Watch(NAMESPACES), Watch(SERVICEACCOUNTS, keys=namespace_of)]

    async def reconcile(self, key: str) -> Result | None:
        ns = self.cache(NAMESPACES).get(key)
        if not needs_account(ns, self.cache(SERVICEACCOUNTS).get(f"{key}/{DEFAULT}")):
            return None
        sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": DEFAULT, "namespace": key}}
        try:
            await self.ctx.client.create(SERVICEACCOUNTS, sa, namespace=key)
        except errors.StatusError as err:
            # AlreadyExists: the cache lagged; Forbidden: the namespace began terminating.
            if not (errors.is_already_exists(err) or errors.is_forbidden(err)):
                raise
        return None
