"""Kubernetes protobuf request bodies, decoded into the JSON objects the server works with.

kubectl 1.32 sends ``application/vnd.kubernetes.protobuf`` bodies from its typed
clients, with no JSON fallback. The modules, bottom up:

* :mod:`.wire` -- the protobuf wire format (varints, fixed widths, lengths);
* :mod:`.table` -- what each field number of each message means, from
  ``messages.json``, which :mod:`.generate` derives from the ``generated.proto``
  descriptors compiled into kubectl;
* :mod:`.wellknown` -- the messages with custom JSON (Time, IntOrString, Quantity, ...);
* :mod:`.decode` -- the ``k8s\\0`` envelope and the message → JSON conversion.

Responses stay JSON: every client that sends protobuf also accepts JSON.
"""

from .decode import decode

__all__ = ["decode"]
