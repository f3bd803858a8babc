"""GET of one object and LIST of a collection.

Mirrors k8s.io/apiserver/pkg/endpoints/handlers/get.go (GetResource, ListResource)
and the resourceVersion semantics of a list (api-concepts "Resource versions";
the storage side is etcd3/store.go GetList and cacher.go GetList):

=================  =====================  ========================================
resourceVersion    resourceVersionMatch   served
=================  =====================  ========================================
unset              unset                  a consistent read, now: without ``limit``
                                          from the watch cache once it is at the
                                          store's current revision, else storage
"0"                unset                  the watch cache, whatever it holds (no paging)
"N"                unset / NotOlderThan   now, once storage is at least at N
"N"                Exact                  storage at revision N (410 if compacted)
=================  =====================  ========================================

A continue token carries the revision of the first page, so every page of one list
comes from the same snapshot.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from apimachinery import errors
from apiserver import printers
from apiserver.serialization import Accept, json_response, negotiate
from apiserver.storage import errors as serr
from apiserver.storage.store import InvalidContinueError, ListPage

from .common import Scope
from .listoptions import ListOptions, parse_list_options

Object = dict[str, Any]


async def get(scope: Scope) -> Response:
    accept = negotiate(scope.request)
    obj = await scope.store.get(scope.namespace, scope.info.name)
    if accept.table:
        return json_response(
            to_table(scope, accept, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")})
        )
    return json_response(obj)


async def list_(scope: Scope) -> Response:
    accept = negotiate(scope.request)
    opts = parse_list_options(scope, watch=False)
    page = await list_page(scope, opts)
    decode = scope.store.codec.from_storage
    page.items = [decode(item) for item in page.items]
    meta: dict[str, Any] = {"resourceVersion": str(page.resource_version)}
    if page.continue_token:
        meta["continue"] = page.continue_token
    if page.remaining_item_count is not None:
        meta["remainingItemCount"] = page.remaining_item_count
    if accept.table:
        return json_response(to_table(scope, accept, page.items, meta))
    info = scope.entry.info
    return json_response(
        {"kind": info.list_kind, "apiVersion": info.api_version, "metadata": meta, "items": page.items}
    )


async def list_page(scope: Scope, opts: ListOptions) -> ListPage:
    store = scope.store
    prefix = store.list_prefix(scope.namespace)
    predicate = opts.predicate
    if opts.name:
        # metadata.name=x: a single key, not a scan (what the real store does too).
        by_name, outer = opts.name, predicate

        def predicate(obj: Object) -> bool:
            return obj["metadata"].get("name") == by_name and (outer is None or outer(obj))

    rv, match = opts.resource_version, opts.resource_version_match
    try:
        if rv == "0" and not opts.continue_token and match != "Exact":
            return await scope.entry.cacher.list(None, predicate, prefix)
        if not rv and not opts.limit and not opts.continue_token:
            # A consistent full list: from the watch cache if it has every write so far.
            current = await store.storage.current_revision()
            cached = scope.entry.cacher.list_if_fresh(current, predicate, prefix)
            if cached is not None:
                return cached
        revision = 0
        if rv and rv != "0":
            wanted = int(rv)
            if match == "Exact":
                revision = wanted
            else:
                current = await store.storage.current_revision()
                if wanted > current:
                    raise errors.new_timeout_error(
                        f"Too large resource version: {wanted}, current: {current}", 1
                    )
        return await store.storage.list(
            prefix,
            limit=opts.limit,
            continue_token=opts.continue_token,
            revision=revision,
            predicate=predicate,
        )
    except InvalidContinueError as e:
        raise errors.new_bad_request(str(e)) from None
    except serr.CompactedError:
        if opts.continue_token:
            raise errors.new_resource_expired(
                "The provided continue parameter is too old to display a consistent list result. "
                "You can start a new list without the continue parameter."
            ) from None
        raise errors.new_resource_expired("The resourceVersion for the provided list is too old.") from None
    except serr.StorageError as e:
        raise store.translate(e) from None


def to_table(scope: Scope, accept: Accept, items: list[Object], list_meta: dict[str, Any]) -> dict[str, Any]:
    return printers.to_table(
        scope.entry.info.resource,
        items,
        include_object=accept.include_object,
        list_meta=list_meta,
        api_version=f"meta.k8s.io/{accept.table}",
    )
