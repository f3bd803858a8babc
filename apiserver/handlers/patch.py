"""PATCH: the Content-Type picks the algorithm, then it is an update like any other.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/patch.go. The patch is applied
to the object *as read inside* the store's compare-and-swap loop, so two clients
patching at once do not conflict: each patch is re-applied to the fresh object on
retry. Only a patch that itself pins ``metadata.resourceVersion`` gets a 409.

================================================  =================================
Content-Type                                      algorithm
================================================  =================================
``application/json-patch+json``                   RFC 6902 operations (jsonpatch)
``application/merge-patch+json``                  RFC 7386 merge (``null`` deletes)
``application/strategic-merge-patch+json``        merge with list merge keys (``apiserver/patch``)
``application/apply-patch+yaml``                  server-side apply (``handlers/apply.py``)
================================================  =================================
"""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
from starlette.responses import Response

from apimachinery import errors, field_errors
from apiserver.serialization import decode_json, media_type, read_body

from .apply import apply_patch
from .common import Scope, check_fields, dry_run, field_manager, respond

Object = dict[str, Any]

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _invalid_patch(message: str) -> errors.StatusError:
    err = errors.new_generic_server_response(422)
    err.status["message"] = f"the server rejected our request due to an error in our request: {message}"
    err.status.setdefault("details", {})["causes"] = [
        {"reason": "FieldValueInvalid", "message": message, "field": "patch"}
    ]
    return err


def patcher(content_type: str, body: bytes, scope: Scope) -> Any:
    """Decode the patch once; return ``apply(current) -> patched`` for the retry loop."""
    if content_type == JSON_PATCH:
        ops = decode_json(body)
        try:
            patch = jsonpatch.JsonPatch(ops)
            if not isinstance(ops, list):
                raise jsonpatch.InvalidJsonPatch("a JSON patch must be a list of operations")
        except (jsonpatch.InvalidJsonPatch, TypeError, AttributeError) as e:
            raise errors.new_bad_request(str(e)) from None

        def apply_json(current: Object) -> Object:
            try:
                out = patch.apply(current)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as e:
                raise _invalid_patch(str(e)) from None
            if not isinstance(out, dict):
                raise _invalid_patch("the patched document is not an object")
            return out

        return apply_json
    if content_type == MERGE_PATCH:
        doc = decode_json(body)
        if not isinstance(doc, dict):
            raise errors.new_bad_request("a merge patch must be a JSON object")
        return lambda current: merge_patch(current, doc)
    if content_type == STRATEGIC_MERGE_PATCH:
        from apiserver.patch import strategic

        doc = decode_json(body)
        if not isinstance(doc, dict):
            raise errors.new_bad_request("a strategic merge patch must be a JSON object")
        gvk = (scope.entry.info.group, scope.entry.info.version, scope.entry.info.kind)
        return lambda current: strategic.apply(current, doc, gvk)
    if content_type == APPLY_PATCH:  # only the object and its status take an apply (see apply.py)
        raise errors.new_unsupported_media_type(PATCH_TYPES[:3])
    raise errors.new_unsupported_media_type(PATCH_TYPES)


async def patch(scope: Scope) -> Response:
    # Read the body before any refusal: an answer sent with the body unread leaves an
    # HTTP/1.1 keep-alive connection the client may reuse in a broken state.
    body = await read_body(scope.request)
    content_type = media_type(scope.request.headers.get("content-type"))
    if content_type not in PATCH_TYPES:
        raise errors.new_unsupported_media_type(PATCH_TYPES)
    if scope.query("force") and content_type != APPLY_PATCH:
        raise errors.new_invalid(
            errors.GroupKind("meta.k8s.io", "PatchOptions"),
            "",
            [field_errors.forbidden("force", "may not be specified for non-apply patch")],
        )
    if content_type == APPLY_PATCH:
        return await apply_patch(scope, body)
    apply = patcher(content_type, body, scope)
    dry = dry_run(scope)
    manager = field_manager(scope)
    subresource = "status" if scope.info.subresource == "status" else ""
    strategy = scope.entry.status_strategy if subresource else None
    info = scope.entry.info

    warnings: list[str] = []
    validate_fields = subresource != "scale"

    def compute(current: Object | None) -> Object:
        if current is None:
            raise errors.new_not_found(errors.GroupResource(info.group, info.resource), scope.info.name)
        patched = apply(current)
        if not isinstance(patched.get("metadata"), dict):
            raise _invalid_patch("metadata: the patch removed or replaced the object's metadata")
        if validate_fields:
            # Strict raises before anything is written; Warn keeps the last attempt's findings.
            warnings[:] = check_fields(scope, patched, body)
        return patched

    out, _ = await scope.store.update(
        scope.namespace,
        scope.info.name,
        compute,
        strategy=strategy,
        dry_run=dry,
        manager=manager,
        subresource=subresource,
    )
    return respond(out, 200, warnings)
