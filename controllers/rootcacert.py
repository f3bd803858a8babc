"""The root CA publisher: a ``kube-root-ca.crt`` ConfigMap in every namespace.

In-cluster clients verify the API server with this CA bundle (projected into pods
next to the ServiceAccount token). The bundle is the cluster CA, which this process
already trusts: the ``certificate-authority-data`` of its own kubeconfig. Key: the
namespace name; watched: namespaces, and ConfigMaps named ``kube-root-ca.crt``
(edited or deleted ones are put back).

Mirrors: pkg/controller/certificates/rootcacertpublisher/publisher.go
(Publisher.syncNamespace, RootCACertConfigMapName, DescriptionAnnotation).
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from client.cache import copy
from controllers.base import CONFIGMAPS, NAMESPACES, Context, Controller, Result, Watch
from controllers.util import Obj, meta

NAME = "kube-root-ca.crt"
DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
    "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
    "distributions of Kubernetes clusters."
)


def desired_configmap(namespace: str, ca_pem: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": NAME,
            "namespace": namespace,
            "annotations": {"kubernetes.io/description": DESCRIPTION},
        },
        "data": {"ca.crt": ca_pem},
    }


def namespace_of(obj: Obj) -> list[str]:
    return [meta(obj).get("namespace", "")] if meta(obj).get("name") == NAME else []


class RootCACertController(Controller):
    name = "root-ca-cert-publisher"
    workers = 2

    def __init__(self, ctx: Context, **options: Any) -> None:
        super().__init__(ctx, **options)
        ca = options.get("ca_pem") or (ctx.client.config.ca_data or b"").decode()
        self.ca_pem: str = ca

    def watches(self) -> list[Watch]:
        return [Watch(NAMESPACES), Watch(CONFIGMAPS, keys=namespace_of)]

    async def reconcile(self, key: str) -> Result | None:
        ns = self.cache(NAMESPACES).get(key)
        if not self.ca_pem or ns is None or (ns.get("status") or {}).get("phase") == "Terminating":
            return None
        want = desired_configmap(key, self.ca_pem)
        have = self.cache(CONFIGMAPS).get(f"{key}/{NAME}")
        try:
            if have is None:
                await self.ctx.client.create(CONFIGMAPS, want, namespace=key)
            elif have.get("data") != want["data"]:
                updated = copy(have)
                updated["data"] = want["data"]
                await self.ctx.client.update(CONFIGMAPS, updated, namespace=key)
        except errors.StatusError as err:
            if not (errors.is_already_exists(err) or errors.is_forbidden(err) or errors.is_not_found(err)):
                raise
        return None
