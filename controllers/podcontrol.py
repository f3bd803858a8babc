"""Creating and deleting a controller's pods, with the events ``kubectl describe`` shows.

Every controller that owns pods (ReplicaSet, ReplicationController, Job, DaemonSet)
creates and deletes them the same way, and says so on the owner::

    Normal   SuccessfulCreate  Created pod: web-7dd4c748c7-bqj9z
    Warning  FailedCreate      Error creating: pods "web-..." is forbidden: exceeded quota ...
    Normal   SuccessfulDelete  Deleted pod: web-7dd4c748c7-l5pjd
    Warning  FailedDelete      Error deleting: ...

No FailedCreate when the namespace is being deleted (every create would fail, and say
nothing new), and no event for deleting a pod that is already gone.

Mirrors: pkg/controller/controller_utils.go (``RealPodControl.CreatePods``,
``createPods``, ``DeletePod``, the ``*PodReason`` constants).
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from client.events import NAMESPACE_TERMINATING, NORMAL, WARNING, EventRecorder
from client.rest import RESTClient
from controllers.base import PODS
from controllers.util import Obj

SUCCESSFUL_CREATE = "SuccessfulCreate"
FAILED_CREATE = "FailedCreate"
SUCCESSFUL_DELETE = "SuccessfulDelete"
FAILED_DELETE = "FailedDelete"


def namespace_terminating(err: BaseException) -> bool:
    if not isinstance(err, errors.StatusError):
        return False
    causes = (err.status.get("details") or {}).get("causes") or []
    return any(c.get("type") == NAMESPACE_TERMINATING for c in causes)


class PodControl:
    """``RealPodControl``: the REST calls, and an event on ``owner`` for each."""

    def __init__(self, client: RESTClient, recorder: EventRecorder) -> None:
        self.client, self.recorder = client, recorder

    async def create_pod(self, namespace: str, pod: Obj, owner: Obj) -> Obj:
        try:
            created: Obj = await self.client.create(PODS, pod, namespace=namespace)
        except Exception as err:
            if not namespace_terminating(err):
                self.recorder.eventf(owner, WARNING, FAILED_CREATE, "Error creating: %s", err)
            raise
        self.recorder.eventf(owner, NORMAL, SUCCESSFUL_CREATE, "Created pod: %s", created["metadata"]["name"])
        return created

    async def delete_pod(self, namespace: str, name: str, owner: Obj, **options: Any) -> None:
        try:
            await self.client.delete(PODS, name, namespace=namespace, **options)
        except Exception as err:
            if not errors.is_not_found(err):  # already gone: nothing to report
                self.recorder.eventf(owner, WARNING, FAILED_DELETE, "Error deleting: %s", err)
            raise
        self.recorder.eventf(owner, NORMAL, SUCCESSFUL_DELETE, "Deleted pod: %s", name)
