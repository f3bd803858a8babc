"""Where the kubelet reads the ConfigMaps and Secrets a pod refers to.

Upstream, pkg/kubelet/configmap and pkg/kubelet/secret keep a watch-based cache per
referenced object. Here a pod start reads them with a GET (they are read when a
container starts and when volumes are written, not on every sync). Tests pass a
:class:`StaticObjects` instead.
"""

from __future__ import annotations

from typing import Any, Protocol

from apimachinery import errors
from client.rest import CONFIGMAPS, GVR, RESTClient

SECRETS = GVR("", "v1", "secrets")


class Objects(Protocol):
    async def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        """``resource`` is ``configmaps`` or ``secrets``; None when it does not exist."""
        ...


class APIObjects:
    def __init__(self, rest: RESTClient) -> None:
        self.rest = rest

    async def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        gvr = CONFIGMAPS if resource == "configmaps" else SECRETS
        try:
            obj: dict[str, Any] = await self.rest.get(gvr, name, namespace=namespace)
        except errors.StatusError as err:
            if errors.is_not_found(err):
                return None
            raise
        return obj


class StaticObjects:
    def __init__(self, objects: dict[tuple[str, str, str], dict[str, Any]] | None = None) -> None:
        self.objects = objects or {}

    async def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((resource, namespace, name))
