"""Request info: what a URL and an HTTP method ask for, before anything else runs.

Mirrors k8s.io/apiserver/pkg/endpoints/request/requestinfo.go, which opens by listing
every URL shape it understands. So does this module:

    /api/{version}/{resource}
    /api/{version}/{resource}/{name}
    /api/{version}/{resource}/{name}/{subresource}
    /api/{version}/namespaces/{namespace}/{resource}
    /api/{version}/namespaces/{namespace}/{resource}/{name}
    /api/{version}/namespaces/{namespace}/{resource}/{name}/{subresource}
    /apis/{group}/{version}/...   (the same shapes, for every other group)
    /api/{version}/watch/...      (the deprecated watch prefix: verb "watch")

``namespaces`` is itself a resource, so ``/api/v1/namespaces/foo`` is the namespace
"foo" and ``/api/v1/namespaces/foo/status`` its status subresource; the parser tells
them apart the way the real one does (a 4th segment after ``namespaces/{ns}`` is a
resource only when the first segment after the namespace is not a subresource of
the namespace itself - here: status, finalize).

The verb comes from the method: GET is ``get`` with a name, ``list`` without (or
``watch`` with ``?watch=true``); POST ``create``; PUT ``update``; PATCH ``patch``;
DELETE ``delete`` with a name and ``deletecollection`` without.
"""

from __future__ import annotations

from dataclasses import dataclass

_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True, slots=True)
class RequestInfo:
    verb: str
    api_prefix: str  # "api" or "apis"
    group: str
    version: str
    resource: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version


_METHOD_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete", "GET": "get"}


def parse(method: str, path: str, watch_param: bool) -> RequestInfo | None:
    """Parse a resource request; ``None`` for any path that is not one (discovery, health...)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) < 3:
        return None
    if parts[0] == "api":
        api_prefix, group, version, rest = "api", "", parts[1], parts[2:]
    elif parts[0] == "apis":
        if len(parts) < 4:
            return None
        api_prefix, group, version, rest = "apis", parts[1], parts[2], parts[3:]
    else:
        return None

    verb = _METHOD_VERBS.get(method.upper(), method.lower())
    if method.upper() == "HEAD":
        verb = "get"
    if rest[0] == "watch":
        verb, rest = "watch", rest[1:]
        if not rest:
            return None

    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in _NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    elif rest[0] == "namespaces" and len(rest) >= 2:
        namespace = rest[1]  # the namespace object itself: its "namespace" is its name

    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = "/".join(rest[2:]) if len(rest) > 2 else ""

    if verb in ("get", "delete") and not name:
        verb = "list" if verb == "get" else "deletecollection"
    if verb == "list" and watch_param:
        verb = "watch"
    if verb == "get" and watch_param and not subresource:
        verb = "watch"
    return RequestInfo(verb, api_prefix, group, version, resource, namespace, name, subresource)
