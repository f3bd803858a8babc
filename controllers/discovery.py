"""Which resources the API server serves: what the namespace deleter and the GC iterate over.

Both controllers work on *every* kind, including ones added later, so neither has a
list of kinds: they ask the server, as ``kubectl api-resources`` does::

    GET /api        → {"versions": ["v1"]}
    GET /api/v1     → {"resources": [{"name": "pods", "namespaced": true, "kind": "Pod",
                                      "verbs": ["create", "delete", "deletecollection", ...]}, ...]}
    GET /apis       → {"groups": [{"name": "apps", "preferredVersion": {"groupVersion": "apps/v1"}}, ...]}
    GET /apis/apps/v1 → {"resources": [...]}

Subresources (``pods/status``) are skipped; only the preferred version of each group
is used, so an object served under two versions is visited once.

Mirrors: k8s.io/client-go/discovery/discovery_client.go (ServerPreferredResources,
ServerPreferredNamespacedResources) and discovery/helper.go (FilteredBy, SupportsAllVerbs).
"""

from __future__ import annotations

from dataclasses import dataclass

from client.rest import GVR, RESTClient


@dataclass(frozen=True)
class APIResource:
    gvr: GVR
    kind: str
    namespaced: bool
    verbs: frozenset[str]

    @property
    def api_version(self) -> str:
        return f"{self.gvr.group}/{self.gvr.version}" if self.gvr.group else self.gvr.version


async def server_preferred_resources(rest: RESTClient) -> list[APIResource]:
    versions = [("", v) for v in (await rest.get_path("/api")).get("versions", [])[:1]]
    for group in (await rest.get_path("/apis")).get("groups", []):
        preferred = (group.get("preferredVersion") or {}).get("version") or group["versions"][0]["version"]
        versions.append((group["name"], preferred))
    out: list[APIResource] = []
    for group, version in versions:
        path = f"/api/{version}" if not group else f"/apis/{group}/{version}"
        for r in (await rest.get_path(path)).get("resources", []):
            if "/" in r["name"]:
                continue
            out.append(
                APIResource(
                    GVR(group, version, r["name"]),
                    r["kind"],
                    bool(r.get("namespaced")),
                    frozenset(r.get("verbs") or []),
                )
            )
    return out


def supports(resource: APIResource, *verbs: str) -> bool:
    return all(v in resource.verbs for v in verbs)
