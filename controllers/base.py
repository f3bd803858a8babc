"""What every controller is: the resources it watches and ``async def reconcile(key)``.

A controller subclass declares

* ``name``: how ``--controllers`` and logs refer to it (``replicaset``, ``deployment``...);
* ``watches()``: a list of :class:`Watch`, one per resource, each saying how a changed
  object maps to the keys this controller manages (its own key by default; a pod maps
  to its controlling ReplicaSet's key, for instance);
* ``reconcile(key)``: read current state from the shared caches, act, and return
  ``None`` (done), or a :class:`~client.reconcile.Result` asking to be called again
  after a delay (for a deadline: a Job's activeDeadlineSeconds, a CronJob's next
  schedule). Raising an exception retries the key with exponential backoff.

The manager (manager.py) owns the informers and the workqueues; a controller only
sees a :class:`Context`: the REST client, the shared informers (``ctx.informer(gvr)``),
a wall clock ``ctx.now()`` (a fake one in tests) and ``ctx.recorder(component)``, the
:class:`~client.events.EventRecorder` for events from ``component`` (upstream's names:
``replicaset-controller``, ``job-controller`` ...; take it once, in ``__init__``).

Mirrors: sigs.k8s.io/controller-runtime/pkg/reconcile/reconcile.go (Result, Reconciler)
and pkg/controller/*'s ``syncHandler(key)`` convention.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from client.events import EventRecorder
from client.informer import SharedInformer
from client.reconcile import Result
from client.rest import GVR, RESTClient
from controllers.util import Obj

# Resources controllers here use, named once.
PODS = GVR("", "v1", "pods")
NODES = GVR("", "v1", "nodes")
NAMESPACES = GVR("", "v1", "namespaces")
SERVICES = GVR("", "v1", "services")
ENDPOINTS = GVR("", "v1", "endpoints")
CONFIGMAPS = GVR("", "v1", "configmaps")
SERVICEACCOUNTS = GVR("", "v1", "serviceaccounts")
REPLICASETS = GVR("apps", "v1", "replicasets")
REPLICATIONCONTROLLERS = GVR("", "v1", "replicationcontrollers")
DEPLOYMENTS = GVR("apps", "v1", "deployments")
STATEFULSETS = GVR("apps", "v1", "statefulsets")
DAEMONSETS = GVR("apps", "v1", "daemonsets")
JOBS = GVR("batch", "v1", "jobs")
CRONJOBS = GVR("batch", "v1", "cronjobs")
LEASES = GVR("coordination.k8s.io", "v1", "leases")
ENDPOINTSLICES = GVR("discovery.k8s.io", "v1", "endpointslices")


@dataclass(frozen=True)
class Watch:
    """One watched resource and how its objects map to this controller's keys."""

    gvr: GVR
    #: object -> keys to enqueue; ``None`` means the object's own ``namespace/name``.
    keys: Callable[[Obj], Iterable[str]] | None = None
    #: called with ("add"|"update"|"delete", old, new) before mapping (expectations).
    observe: Callable[[str, Obj | None, Obj], None] | None = field(default=None)


class Context(Protocol):
    client: RESTClient

    def informer(self, gvr: GVR) -> SharedInformer: ...

    def now(self) -> float:
        """Wall-clock epoch seconds."""
        ...

    def enqueue(self, controller: str, key: str, after: float = 0.0) -> None: ...

    def recorder(self, component: str) -> EventRecorder:
        """Records core/v1 Events with ``source.component: <component>``."""
        ...


class Controller:
    name: ClassVar[str] = ""
    #: Concurrent reconciles (upstream --concurrent-*-syncs; keys never overlap).
    workers: ClassVar[int] = 5

    def __init__(self, ctx: Context, **options: Any) -> None:
        self.ctx = ctx
        self.options = options

    async def setup(self) -> None:
        """Anything to learn before ``watches()`` (the GC discovers resources here)."""

    def watches(self) -> list[Watch]:
        raise NotImplementedError

    async def reconcile(self, key: str) -> Result | None:
        raise NotImplementedError

    # --- conveniences -----------------------------------------------------------------

    def cache(self, gvr: GVR) -> Any:
        return self.ctx.informer(gvr).indexer

    def enqueue(self, key: str, after: float = 0.0) -> None:
        self.ctx.enqueue(self.name, key, after)


def wall_clock() -> float:
    return time.time()
