"""DaemonSet revisions and the rolling update, node by node.

**Revisions.** Each template the DaemonSet has had is a ControllerRevision named
``<ds>-<hash>`` (``ComputeHash`` of the template and ``status.collisionCount``,
controllers/deployment/hash.py), labelled ``controller-revision-hash: <hash>``, whose
``data`` is the ``$patch: replace`` patch of the template (controllers/history.py).
The revision whose data equals the current template is the current one (renumbered
to ``max + 1`` if it was an old one: ``rollout undo``); old revisions beyond
``revisionHistoryLimit`` that no pod uses are deleted.

**Rolling update** (``updateStrategy.type: RollingUpdate``, the default), run only
when manage had nothing to do:

* ``maxSurge: 0`` (default): delete old pods while at most ``maxUnavailable``
  (default 1) nodes are without an available pod; manage recreates them;
* ``maxSurge > 0``: start a new pod beside an old one on up to ``maxSurge`` nodes;
  delete the old pod once the new one is available.

The functions here are pure; the controller (daemonset.py) does the API calls.

Mirrors: pkg/controller/daemon/update.go (rollingUpdate, findUpdatedPodsOnNode,
snapshot, Match, getPatch, cleanupHistory, updatedDesiredNodeCounts; constructHistory
and dedupCurHistories are the controller's, in daemonset.py).
"""

from __future__ import annotations

from controllers import history
from controllers.daemonset_util import KIND, by_node, is_pod_updated, node_should_run, template_generation
from controllers.deployment.hash import compute_hash
from controllers.deployment.rolling import scaled_value
from controllers.deployment.sync import drop_nulls
from controllers.history import REVISION_LABEL
from controllers.util import Obj, is_pod_available, is_pod_terminated, meta


def matches(ds: Obj, revision: Obj) -> bool:
    """``Match``: the revision's data is this DaemonSet's ``getPatch``, byte for byte."""
    return history.go_json(history.template_patch(ds)) == history.go_json(revision.get("data"))


def snapshot(ds: Obj, number: int) -> Obj:
    """``snapshot``: a revision named ``<ds>-<ComputeHash(template, collisionCount)>``."""
    template = (ds.get("spec") or {}).get("template") or {}
    hash_ = compute_hash(drop_nulls(template), (ds.get("status") or {}).get("collisionCount"))
    return history.revision_object(
        ds,
        KIND,
        history.template_patch(ds),
        number,
        f"{meta(ds)['name']}-{hash_}",
        {REVISION_LABEL: hash_},
        True,
    )


def split_history(ds: Obj, revisions: list[Obj]) -> tuple[list[Obj], list[Obj], int]:
    """(revisions of the current template, old ones, the number the current one should have)."""
    current = [r for r in revisions if matches(ds, r)]
    old = [r for r in revisions if not matches(ds, r)]
    return current, old, max((int(r.get("revision", 0)) for r in old), default=0) + 1


def history_to_clean(ds: Obj, old: list[Obj], pods: list[Obj]) -> list[Obj]:
    """``cleanupHistory``: the oldest old revisions beyond the limit that no pod uses."""
    to_kill = len(old) - int((ds.get("spec") or {}).get("revisionHistoryLimit", 10))
    live = {h for p in pods if (h := (meta(p).get("labels") or {}).get(REVISION_LABEL))}
    out = []
    for r in history.sort_revisions(old):
        if to_kill <= 0:
            break
        if (meta(r).get("labels") or {}).get(REVISION_LABEL) in live:
            continue
        out.append(r)
        to_kill -= 1
    return out


def rolling_values(ds: Obj, desired: int) -> tuple[int, int]:
    """``updatedDesiredNodeCounts``: (maxSurge, maxUnavailable), both rounded up."""
    strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
    rolling = strategy.get("rollingUpdate") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return 0, 1
    surge = scaled_value(rolling.get("maxSurge", 0), desired, True)
    unavailable = scaled_value(rolling.get("maxUnavailable", 1), desired, True)
    if desired > 0 and surge == 0 and unavailable == 0:
        unavailable = 1  # an impossible configuration: obey the default
    return surge, unavailable


def _updated_and_old(
    pods: list[Obj], hash_: str, generation: str | None
) -> tuple[Obj | None, Obj | None, bool]:
    """``findUpdatedPodsOnNode``: (new pod, old pod, ok); not ok when either is duplicated."""
    new = old = None
    for p in pods:
        if meta(p).get("deletionTimestamp"):
            continue
        if is_pod_updated(p, hash_, generation):
            if new is not None:
                return None, None, False
            new = p
        else:
            if old is not None:
                return None, None, False
            old = p
    return new, old, True


def rolling_update(
    ds: Obj, nodes: list[Obj], pods: list[Obj], hash_: str, now: float
) -> tuple[list[str], list[Obj]]:
    """(nodes to surge onto, old pods to delete): update.go's ``rollingUpdate``."""
    generation = template_generation(ds)
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    eligible = [n for n in nodes if node_should_run(ds, n)]
    max_surge, max_unavailable = rolling_values(ds, len(eligible))
    # getNodesToDaemonPods without deleted terminal pods, as upstream
    live = [p for p in pods if not (is_pod_terminated(p) and meta(p).get("deletionTimestamp"))]
    pods_by_node = by_node(live)

    def available(p: Obj) -> bool:
        return is_pod_available(p, min_ready, now)

    if max_surge == 0:
        # Delete just enough old pods to stay within maxUnavailable; manage() recreates them.
        unavailable = 0
        replace: list[Obj] = []
        candidates: list[Obj] = []
        for node in sorted(pods_by_node):
            new, old, ok = _updated_and_old(pods_by_node[node], hash_, generation)
            if not ok or (new is None) == (old is None):
                unavailable += 1  # manage() is still creating or pruning here
            elif new is not None:
                unavailable += 0 if available(new) else 1
            elif old is not None and not available(old):
                replace.append(old)  # costs nothing: it is not serving anyway
            elif old is not None and unavailable < max_unavailable:
                candidates.append(old)
        budget = min(max(0, max_unavailable - unavailable), len(candidates))
        return [], replace + candidates[:budget]

    # Surge: start a new pod beside an old one (at most maxSurge at a time); delete the
    # old one once the new one is available.
    to_delete: list[Obj] = []
    allowed: list[str] = []
    candidate_nodes: list[str] = []
    surging = 0
    eligible_names = {meta(n)["name"] for n in eligible}
    for node in sorted(pods_by_node):
        new, old, ok = _updated_and_old(pods_by_node[node], hash_, generation)
        if not ok:
            surging += 1
            continue
        if old is None:
            continue
        if new is None:
            if not available(old):
                if node not in eligible_names:
                    to_delete.append(old)
                else:
                    allowed.append(node)
            elif surging < max_surge:
                candidate_nodes.append(node)
        elif not available(new):
            surging += 1  # waiting for the new pod
        else:
            to_delete.append(old)
    budget = min(max(0, max_surge - surging), len(candidate_nodes))
    return allowed + candidate_nodes[:budget], to_delete
