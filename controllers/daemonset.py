"""The DaemonSet controller: exactly one pod on every eligible node, updated node by node.

Which nodes are eligible, and the pod each gets, is daemonset_util.py; revisions and
the rolling update are daemonset_update.py. Pods carry the current revision's hash
and ``pod-template-generation`` (the API server's count of template changes).

**One pass** (``syncDaemonSet``): construct the history (create the current
revision, or renumber an old one: ``rollout undo``; merge duplicates); *manage*:
create a pod on each eligible node without one, delete failed pods, pods on
ineligible nodes and duplicates; then, only if manage had nothing to do, the
*rolling update*. ``OnDelete`` leaves updates to the user. Finally, old revisions
beyond ``revisionHistoryLimit`` that no pod uses are deleted, and status written.

Mirrors: pkg/controller/daemon/daemon_controller.go (syncDaemonSet, manage,
podsShouldBeOnNode, syncNodes, updateDaemonSetStatus) and daemon/update.go
(constructHistory, dedupCurHistories: the controller's API calls).
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from controllers import history
from controllers.base import DAEMONSETS, NODES, PODS, Context, Controller, Result, Watch
from controllers.daemonset_update import (
    history_to_clean,
    matches,
    rolling_update,
    rolling_values,
    snapshot,
    split_history,
)
from controllers.daemonset_util import (
    KIND,
    by_node,
    daemon_pod,
    is_pod_updated,
    node_should_run,
    oldest_first,
    should_run,
    template_generation,
)
from controllers.expectations import Expectations
from controllers.history import CONTROLLER_REVISIONS, REVISION_LABEL
from controllers.podcontrol import PodControl
from controllers.replicaset import pod_owner_keys
from controllers.util import (
    Obj,
    is_controlled_by,
    is_pod_available,
    is_pod_ready,
    is_pod_terminated,
    meta,
)


def manage(ds: Obj, nodes: list[Obj], pods: list[Obj], hash_: str, now: float) -> tuple[list[str], list[Obj]]:
    """(nodes needing a pod, pods to delete): ``manage`` + ``podsShouldBeOnNode``."""
    surge, _ = rolling_values(ds, 0)
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    create: list[str] = []
    delete: list[Obj] = []
    pods_by_node = by_node(pods)
    verdicts = {meta(n)["name"]: should_run(ds, n) for n in nodes}
    staying = {name for name, (_, stay) in verdicts.items() if stay}
    for node in sorted(staying):
        running = []
        for p in pods_by_node.get(node, []):
            if meta(p).get("deletionTimestamp"):
                continue
            if is_pod_terminated(p):
                delete.append(p)  # a failed daemon pod is replaced
            else:
                running.append(p)
        if not running and verdicts[node][0]:
            create.append(node)
        elif surge == 0:
            delete += oldest_first(running)[1:]  # duplicates: keep the oldest
        elif len(running) > 1:
            # Surging: keep the oldest new pod and the oldest old one while the new one
            # is not yet available (and the old one is ready).
            oldest_new = oldest_old = None
            for p in oldest_first(running):
                if (meta(p).get("labels") or {}).get(REVISION_LABEL) == hash_:
                    if oldest_new is None:
                        oldest_new = p
                        continue
                elif oldest_old is None:
                    oldest_old = p
                    continue
                delete.append(p)
            if oldest_new is not None and oldest_old is not None:
                if not is_pod_ready(oldest_old) or is_pod_available(oldest_new, min_ready, now):
                    delete.append(oldest_old)
    for node, mine in pods_by_node.items():
        if node not in staying:
            delete += [p for p in mine if not meta(p).get("deletionTimestamp")]
    return create, delete


def daemon_status(
    ds: Obj, nodes: list[Obj], pods: list[Obj], hash_: str, now: float, observed: bool
) -> dict[str, Any]:
    """``updateDaemonSetStatus``: counted per node, from the node's oldest pod."""
    generation = template_generation(ds)
    min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
    live = [p for p in pods if not (is_pod_terminated(p) and meta(p).get("deletionTimestamp"))]
    pods_by_node = by_node(live)
    desired = current = misscheduled = ready = available = updated = 0
    for node in nodes:
        mine = pods_by_node.get(meta(node)["name"], [])
        if not node_should_run(ds, node):
            misscheduled += 1 if mine else 0
            continue
        desired += 1
        if not mine:
            continue
        current += 1
        pod = oldest_first(mine)[0]
        if is_pod_ready(pod):
            ready += 1
            available += 1 if is_pod_available(pod, min_ready, now) else 0
        updated += 1 if is_pod_updated(pod, hash_, generation) else 0
    st = dict(ds.get("status") or {})
    st.update(
        desiredNumberScheduled=desired,
        currentNumberScheduled=current,
        numberMisscheduled=misscheduled,
        numberReady=ready,
        numberAvailable=available,
        numberUnavailable=desired - available,
        updatedNumberScheduled=updated,
    )
    if observed:
        st["observedGeneration"] = meta(ds).get("generation", 0)
    return st


# --- the controller ----------------------------------------------------------------------------------


class DaemonSetController(Controller):
    name = "daemonset"

    def __init__(self, ctx: Context, **options: Any) -> None:
        super().__init__(ctx, **options)
        self.expectations = Expectations(ctx.now)
        self.recorder = ctx.recorder("daemonset-controller")
        self.pod_control = PodControl(ctx.client, self.recorder)  # SuccessfulCreate/Delete events

    def _observe(self, event: str, old: Obj | None, pod: Obj) -> None:
        for key in pod_owner_keys(KIND)(pod):
            if event == "add":
                self.expectations.creation_observed(key)
            elif event == "delete" or meta(pod).get("deletionTimestamp"):
                self.expectations.deletion_observed(key, f"{meta(pod).get('namespace')}/{meta(pod)['name']}")

    def watches(self) -> list[Watch]:
        return [
            Watch(DAEMONSETS),
            Watch(PODS, keys=pod_owner_keys(KIND), observe=self._observe),
            Watch(CONTROLLER_REVISIONS, keys=pod_owner_keys(KIND)),
            Watch(
                NODES,
                keys=lambda _node: [
                    f"{meta(d).get('namespace')}/{meta(d)['name']}" for d in self.cache(DAEMONSETS).list()
                ],
            ),
        ]

    async def construct_history(self, ds: Obj) -> tuple[Obj, list[Obj]]:
        """``constructHistory``: (the current revision, created or renumbered; the old ones)."""
        hist = history.History(self.ctx.client)
        revisions, orphans = history.owned_revisions(ds, self.cache(CONTROLLER_REVISIONS).list())
        if orphans and not meta(ds).get("deletionTimestamp"):
            revisions += [await hist.adopt(ds, KIND, r) for r in orphans]
        current, old, number = split_history(ds, revisions)
        if not current:
            return await self._snapshot(ds, number), old
        keep, *dups = sorted(current, key=lambda r: -int(r.get("revision", 0)))  # dedupCurHistories
        for dup in dups:
            await self._relabel_pods(ds, dup, keep)
            await hist.delete(dup)
        if int(keep.get("revision", 0)) < number:
            keep = await hist.renumber(keep, number)
        return keep, old

    async def _snapshot(self, ds: Obj, number: int) -> Obj:
        ns = meta(ds).get("namespace", "")
        revision = snapshot(ds, number)
        try:
            created: Obj = await self.ctx.client.create(CONTROLLER_REVISIONS, revision, namespace=ns)
            return created
        except errors.StatusError as err:
            if not errors.is_already_exists(err):
                raise
        exists = await self.ctx.client.get(CONTROLLER_REVISIONS, meta(revision)["name"], namespace=ns)
        if matches(ds, exists):
            return dict(exists)
        # A hash collision: count it in status (from a fresh read), retry with the new count.
        fresh = await self.ctx.client.get(DAEMONSETS, meta(ds)["name"], namespace=ns)
        if (fresh.get("status") or {}).get("collisionCount") == (ds.get("status") or {}).get(
            "collisionCount"
        ):
            fresh.setdefault("status", {})["collisionCount"] = (
                int(fresh["status"].get("collisionCount") or 0) + 1
            )
            await self.ctx.client.update(DAEMONSETS, fresh, namespace=ns, subresource="status")
        raise RuntimeError(f"hash collision on ControllerRevision {meta(revision)['name']}; retrying")

    async def _relabel_pods(self, ds: Obj, dup: Obj, keep: Obj) -> None:
        dup_hash = (meta(dup).get("labels") or {}).get(REVISION_LABEL)
        keep_hash = (meta(keep).get("labels") or {}).get(REVISION_LABEL)
        for p in self.cache(PODS).by_index("owner", meta(ds)["uid"]):
            if (meta(p).get("labels") or {}).get(REVISION_LABEL) == dup_hash != keep_hash:
                patch = {"metadata": {"labels": {REVISION_LABEL: keep_hash}}}
                await self.ctx.client.patch(
                    PODS, meta(p)["name"], patch, namespace=meta(p).get("namespace", "")
                )

    async def reconcile(self, key: str) -> Result | None:
        ds = self.cache(DAEMONSETS).get(key)
        if ds is None:
            return None
        cur, old = await self.construct_history(ds)
        hash_ = str((meta(cur).get("labels") or {}).get(REVISION_LABEL) or "")
        pods = [p for p in self.cache(PODS).by_index("owner", meta(ds)["uid"]) if is_controlled_by(p, ds)]
        nodes = self.cache(NODES).list()
        now = self.ctx.now()
        acting = self.expectations.satisfied(key) and not meta(ds).get("deletionTimestamp")
        if acting:
            create, delete = manage(ds, nodes, pods, hash_, now)
            strategy = ((ds.get("spec") or {}).get("updateStrategy") or {}).get("type", "RollingUpdate")
            if not create and not delete and strategy == "RollingUpdate":
                create, delete = rolling_update(ds, nodes, pods, hash_, now)
            await self._sync_nodes(ds, key, create, delete, hash_)
            for revision in history_to_clean(ds, old, pods):
                await history.History(self.ctx.client).delete(revision)
        st = daemon_status(ds, nodes, pods, hash_, now, observed=acting)
        if st != (ds.get("status") or {}):
            await history.update_status(self.ctx.client, DAEMONSETS, ds, st)
        wait = history.next_available(pods, int((ds.get("spec") or {}).get("minReadySeconds") or 0), now)
        return Result(requeue_after=wait) if wait else None

    async def _sync_nodes(self, ds: Obj, key: str, create: list[str], delete: list[Obj], hash_: str) -> None:
        """``syncNodes``: the creations and deletions, each expected before the next pass."""
        ns = meta(ds).get("namespace", "")
        victims = list({meta(v)["uid"]: v for v in delete}.values())
        self.expectations.expect_creations(key, len(create))
        self.expectations.expect_deletions(key, [f"{ns}/{meta(v)['name']}" for v in victims])
        for node in create:
            try:
                await self.pod_control.create_pod(ns, daemon_pod(ds, node, hash_), ds)
            except errors.StatusError:
                self.expectations.creation_observed(key)
                raise
        for victim in victims:
            try:
                await self.pod_control.delete_pod(ns, meta(victim)["name"], ds)
            except errors.StatusError as err:
                self.expectations.deletion_observed(key, f"{ns}/{meta(victim)['name']}")
                if not errors.is_not_found(err):
                    raise
