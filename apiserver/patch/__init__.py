"""PATCH algorithms beyond RFC 6902 / RFC 7386: how a patch body becomes the new object.

========================  ====================================================
module                    what it holds
========================  ====================================================
``strategic``             strategic merge patch: ``apply(current, patch, gvk)``
``lookup``                which lists merge by key, read from the OpenAPI schema
``order``                 element identity and the order of a merged list
``merge_errors``          the failures, their upstream messages and statuses
========================  ====================================================

JSON patch and JSON merge patch are small enough to live in the PATCH handler
(``apiserver/handlers/patch.py``), which picks the algorithm by Content-Type.
Mirrors k8s.io/apimachinery/pkg/util/strategicpatch and .../util/mergepatch.
"""
