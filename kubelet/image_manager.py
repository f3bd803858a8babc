"""Pulling a container's image: ``imagePullPolicy``, the events, and ImagePullBackOff.

Mirrors pkg/kubelet/images/image_manager.go ``EnsureImageExists`` on top of
kubelet/runtime/image_policy.py:

* ``IfNotPresent`` / ``Never``: ``ImageStatus`` first; present -> event ``Pulled``
  ``Container image "x" already present on machine``; ``Never`` and absent ->
  ``ErrImageNeverPull``;
* otherwise ``Pulling`` ``Pulling image "x"``, then ``Pulled`` ``Successfully pulled
  image "x" in 1.2s (1.2s including waiting). Image size: N bytes.`` (the size from
  ``ImageStatus`` after the pull, as 1.30+ image_manager.go reports it);
* a failed pull: events ``Failed`` ``Failed to pull image "x": <error>`` and
  ``Error: ErrImagePull``, the container waits as ``ErrImagePull``; until the back-off
  (10 s doubling to 300 s) has passed it waits as ``ImagePullBackOff`` with
  ``Back-off pulling image "x"``.
"""

from __future__ import annotations

import time
from typing import Any

from client.events import NORMAL, WARNING, EventRecorder
from kubelet.backoff import Backoff, go_duration
from kubelet.podconfig import pull_policy
from kubelet.ref import container_ref
from kubelet.runtime import interface as rt
from kubelet.runtime.image_policy import ImageNotPresentError
from kubelet.status import Waiting


class ImageManager:
    def __init__(self, images: rt.ImageService, events: EventRecorder, backoff: Backoff) -> None:
        self.images, self.events, self.backoff = images, events, backoff
        self._failed: dict[str, float] = {}  # "<pod uid>/<image>" -> when the last pull failed

    async def ensure(
        self,
        pod: dict[str, Any],
        c: dict[str, Any],
        sandbox: rt.PodSandboxConfig,
        waiting: Waiting,
        init: bool,
    ) -> str | None:
        """The image reference, or None with the container's waiting reason set."""
        name, image, policy = c["name"], c.get("image", ""), pull_policy(c)
        key = f"{pod['metadata']['uid']}/{image}"

        def event(type_: str, reason: str, message: str) -> None:
            self.events.event(container_ref(pod, name, init), type_, reason, message)

        if (failed := self._failed.get(key)) is not None and self.backoff.in_backoff_since(key, failed):
            if waiting.get(name, ("",))[0] != "ImagePullBackOff":
                event(NORMAL, "BackOff", f'Back-off pulling image "{image}"')
            waiting[name] = ("ImagePullBackOff", f'Back-off pulling image "{image}"')
            return None
        try:
            if policy != "Always" and (present := await self.images.image_status(image)) is not None:
                event(NORMAL, "Pulled", f'Container image "{image}" already present on machine')
                return present.id
            if policy == "Never":
                raise ImageNotPresentError(
                    f'Container image "{image}" is not present with pull policy of Never'
                )
            event(NORMAL, "Pulling", f'Pulling image "{image}"')
            began = time.monotonic()
            ref = await self.images.pull_image(image, sandbox)
            took = go_duration(time.monotonic() - began)
            pulled = await self.images.image_status(image)  # GetImageSize, by the image name
            size = pulled.size if pulled is not None else 0
            event(
                NORMAL,
                "Pulled",
                f'Successfully pulled image "{image}" in {took} ({took} including waiting). Image size: {size} bytes.',
            )
            self._failed.pop(key, None)
            return ref
        except ImageNotPresentError as err:
            event(WARNING, "ErrImageNeverPull", str(err))
            waiting[name] = ("ErrImageNeverPull", str(err))
            return None
        except rt.ImagePullError as err:
            event(WARNING, "Failed", f'Failed to pull image "{image}": {err}')
            event(WARNING, "Failed", "Error: ErrImagePull")
            now = self.backoff.wall()
            self.backoff.next(key, now)
            self._failed[key] = now
            waiting[name] = ("ErrImagePull", str(err))
            return None

    def remaining(self, uid: str) -> float:
        """Seconds until the first of this pod's image back-offs ends."""
        waits = [self.backoff.remaining(k, t) for k, t in self._failed.items() if k.startswith(f"{uid}/")]
        return min(waits, default=0.0)

    def forget(self, uid: str) -> None:
        for key in [k for k in self._failed if k.startswith(f"{uid}/")]:
            del self._failed[key]
        self.backoff.forget(f"{uid}/")
