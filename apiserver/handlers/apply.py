"""Server-side apply: ``PATCH`` with ``Content-Type: application/apply-patch+yaml``.

The body is the client's *full intent* for the fields it manages (YAML, or JSON,
which kubectl sends), not a diff. The server merges it into the live object by
the schema's list and map types, removes what this manager applied before and
left out now, and records the manager's ownership in ``metadata.managedFields``
(see :mod:`apiserver.managedfields`). A field another manager owns with a
different value is a 409 Conflict unless ``force=true`` (``kubectl apply
--server-side --force-conflicts``). An object that does not exist is created
(201), which no other patch does.

Mirrors the applyPatcher of k8s.io/apiserver/pkg/endpoints/handlers/patch.go and
the option checks of ValidatePatchOptions (apimachinery/pkg/apis/meta/v1/
validation/validation.go): ``fieldManager`` is required.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from apimachinery import errors, field_errors
from apiserver import managedfields
from apiserver.serialization import decode_yaml

from .admission import admit_namespace
from .common import Scope, bool_param, check_fields, dry_run, field_manager, respond
from .write import check_type

Object = dict[str, Any]


def _decode(body: bytes) -> Object:
    try:
        config = orjson.loads(body)  # what kubectl and the Python client send
    except orjson.JSONDecodeError:
        config = decode_yaml(body)
    if not isinstance(config, dict):
        raise errors.new_bad_request("an apply patch must be an object")
    return config


async def apply_patch(scope: Scope, body: bytes) -> Response:
    if not scope.query("fieldManager"):
        raise errors.new_invalid(
            errors.GroupKind("meta.k8s.io", "PatchOptions"),
            "",
            [field_errors.required("fieldManager", "is required for apply patch")],
        )
    manager = field_manager(scope)
    config = _decode(body)
    check_type(scope, config)
    warnings = check_fields(scope, config, body)
    force, dry = bool_param(scope, "force"), dry_run(scope)
    info, name = scope.entry.info, scope.info.name
    subresource = "status" if scope.info.subresource == "status" else ""
    target = managedfields.Target(info.group, info.version, info.kind, subresource)

    async def compute(current: Object | None) -> Object:
        if current is None:
            if subresource:
                raise errors.new_not_found(errors.GroupResource(info.group, info.resource), name)
            if scope.entry.namespaced:
                await admit_namespace(scope, name)
            meta = {"name": name, "namespace": scope.namespace} if scope.entry.namespaced else {"name": name}
            current = {"apiVersion": info.api_version, "kind": info.kind, "metadata": meta}
        return managedfields.apply(current, config, manager, target, force=force)

    out, created = await scope.store.update(
        scope.namespace,
        name,
        compute,
        strategy=scope.entry.status_strategy if subresource else None,
        dry_run=dry,
        force_allow_create=not subresource,
    )
    return respond(out, 201 if created else 200, warnings)
