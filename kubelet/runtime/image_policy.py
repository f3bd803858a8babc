"""``imagePullPolicy``: when the kubelet pulls an image, and what it reports when it can't.

Mirrors pkg/kubelet/images/image_manager.go ``EnsureImageExists``:

* ``Always``: pull every time (the registry is asked even if the image is here);
* ``IfNotPresent``: ``image_status`` first, pull only when it is missing;
* ``Never``: ``image_status`` only; missing is ``ErrImageNeverPull``.

The default policy (``Always`` for ``:latest`` or no tag, else ``IfNotPresent``) is
decided when the pod is created (pkg/apis/core/v1/defaults.go), not here. A failed
pull is ``ErrImagePull``; the pod worker turns repeated failures into
``ImagePullBackOff`` with its back-off. Asking ``ImageStatus`` first matters with
containerd, whose ``PullImage`` contacts the registry even for a local image.
"""

from __future__ import annotations

from kubelet.runtime.interface import ImagePullError, ImageService, PodSandboxConfig

ERR_IMAGE_PULL = "ErrImagePull"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"


class ImageNotPresentError(ImagePullError):
    """Policy ``Never`` and the image is not on the node."""

    reason = ERR_IMAGE_NEVER_PULL


async def ensure_image(
    images: ImageService, image: str, policy: str = "IfNotPresent", sandbox: PodSandboxConfig | None = None
) -> str:
    """The image reference (ID) to create the container from; raises ImagePullError."""
    if policy != "Always":
        present = await images.image_status(image)
        if present is not None:
            return present.id
        if policy == "Never":
            raise ImageNotPresentError(f'Container image "{image}" is not present with pull policy of Never')
    return await images.pull_image(image, sandbox)
