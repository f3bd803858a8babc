"""The Deployment reconcile loop: pick the path (sync, Recreate, RollingUpdate), act, write status.

One reconcile of ``namespace/name``:

1. claim the ReplicaSets the Deployment controls (adopting orphans its selector
   matches), and mark ``Progressing`` paused/resumed if ``spec.paused`` flipped;
2. if paused, or the Deployment was resized (a *scaling event*), only resize the
   ReplicaSets proportionally (sync.py); otherwise
3. find or create the new ReplicaSet and take **one** rollout step (rolling.py): scale
   the new one up, or old ones down, or (Recreate) old ones to 0, wait, new one up;
4. once complete, delete ReplicaSets beyond ``revisionHistoryLimit``;
5. write status and conditions (progress.py), and ask to be called again when the
   progress deadline would pass.

The ReplicaSet updates that a step causes come back as watch events and trigger the
next step: the rollout is a sequence of level-triggered reconciles, not a loop.

Each resize is an event on the Deployment, from ``deployment-controller``, in
upstream's words (sync.go ``scaleReplicaSet``, ``getNewReplicaSet``)::

    Normal   ScalingReplicaSet       Scaled up replica set web-7dd4c748c7 from 0 to 3
    Normal   ScalingReplicaSet       Scaled down replica set web-6664f4cfd8 from 2 to 1
    Warning  ReplicaSetCreateError   Failed to create new replica set "web-7dd4c748c7": ...
    Warning  SelectingAll            This deployment is selecting all pods. A non-empty selector is required.

Mirrors: pkg/controller/deployment/deployment_controller.go (syncDeployment,
getReplicaSetsForDeployment, addReplicaSet/updateReplicaSet/deletePod handlers).
"""

from __future__ import annotations

import logging
from typing import Any

from apimachinery import errors
from apimachinery.meta import key as make_key
from apimachinery.meta import object_key, split_key
from apimachinery.selectors import from_label_selector
from client.cache import copy
from client.events import NORMAL, WARNING
from controllers.base import DEPLOYMENTS, PODS, REPLICASETS, Context, Controller, Result, Watch
from controllers.deployment import progress, rolling, sync
from controllers.podcontrol import namespace_terminating
from controllers.replicaset import claim_pods
from controllers.util import Obj, controller_of, controller_ref, find_condition, is_controlled_by, meta

log = logging.getLogger(__name__)


#: Upstream's deploymentutil.FailedRSCreateReason.
FAILED_RS_CREATE = "ReplicaSetCreateError"


class DeploymentController(Controller):
    name = "deployment"

    def __init__(self, ctx: Context, **options: Any) -> None:
        super().__init__(ctx, **options)
        self.recorder = ctx.recorder("deployment-controller")

    def watches(self) -> list[Watch]:
        return [
            Watch(DEPLOYMENTS),
            Watch(REPLICASETS, keys=self._rs_keys),
            Watch(PODS, keys=self._pod_keys),
        ]

    def _rs_keys(self, rs: Obj) -> list[str]:
        ns = meta(rs).get("namespace", "")
        ref = controller_of(rs)
        if ref is not None:
            return [make_key(ns, ref["name"])] if ref.get("kind") == "Deployment" else []
        labels = meta(rs).get("labels") or {}
        return [
            object_key(d)
            for d in self.cache(DEPLOYMENTS).by_index("namespace", ns)
            if from_label_selector((d.get("spec") or {}).get("selector"))(labels)
        ]

    def _pod_keys(self, pod: Obj) -> list[str]:
        """Only Recreate waits on pods (for the old ones to be gone)."""
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return []
        ns = meta(pod).get("namespace", "")
        rs = self.cache(REPLICASETS).get(make_key(ns, ref["name"]))
        owner = controller_of(rs) if rs is not None else None
        if owner is None or owner.get("kind") != "Deployment":
            return []
        d = self.cache(DEPLOYMENTS).get(make_key(ns, owner["name"]))
        return [object_key(d)] if d is not None and not rolling.is_rolling(d) else []

    # --- reconcile ---------------------------------------------------------------------

    async def reconcile(self, key: str) -> Result | None:
        cached = self.cache(DEPLOYMENTS).get(key)
        if cached is None:
            return None
        ns, _ = split_key(key)
        now = self.ctx.now()
        d = copy(cached)
        selector = from_label_selector((d.get("spec") or {}).get("selector"))
        if selector.empty():  # upstream refuses to act on a Deployment that selects everything
            self.recorder.event(
                d,
                WARNING,
                "SelectingAll",
                "This deployment is selecting all pods. A non-empty selector is required.",
            )
            return None
        claims = claim_pods(d, selector, self.cache(REPLICASETS).by_index("namespace", ns))
        for rs in claims.adopt:
            refs = [*(meta(rs).get("ownerReferences") or []), controller_ref(d, "apps/v1", "Deployment")]
            await self.ctx.client.patch(
                REPLICASETS, meta(rs)["name"], {"metadata": {"ownerReferences": refs}}, namespace=ns
            )
        rss = [copy(rs) for rs in [*claims.owned, *claims.adopt]]
        d["status"] = progress.paused_conditions(d, d.get("status") or {}, now)
        after: float | None = None

        if meta(d).get("deletionTimestamp"):
            status = progress.calculate_status(d, rss, sync.find_new_rs(d, rss), now)
        elif (d.get("spec") or {}).get("paused") or sync.is_scaling_event(d, rss):
            status = await self._sync(d, rss, now)
        else:
            status, after = await self._rollout(d, rss, now)

        if status != (cached.get("status") or {}):
            updated = copy(cached)
            updated["status"] = status
            await self.ctx.client.update(DEPLOYMENTS, updated, namespace=ns, subresource="status")
        return Result(requeue_after=after) if after else None

    async def _sync(self, d: Obj, rss: list[Obj], now: float) -> dict[str, Any]:
        """Paused or resized: proportional scaling only (``sync``)."""
        new_rs, old_rss = await self._new_rs(d, rss, create=False, now=now)
        await self._scale_all(
            d, [rs for rs in [new_rs, *old_rss] if rs], sync.proportional_sizes(d, new_rs, old_rss)
        )
        if (d.get("spec") or {}).get("paused"):
            await self._cleanup(d, old_rss)
        status = progress.calculate_status(d, [rs for rs in [new_rs, *old_rss] if rs], new_rs, now)
        return status

    async def _rollout(self, d: Obj, rss: list[Obj], now: float) -> tuple[dict[str, Any], float | None]:
        if rolling.is_rolling(d):
            new_rs, old_rss = await self._new_rs(d, rss, create=True, now=now)
            assert new_rs is not None
            all_rss = [*old_rss, new_rs]
            target = rolling.reconcile_new_rs(d, all_rss, new_rs)
            if target is not None:
                await self._scale_all(d, all_rss, {meta(new_rs)["name"]: target})
            else:
                sizes = rolling.old_rs_scale_down(d, all_rss, old_rss, new_rs)
                await self._scale_all(d, all_rss, sizes)
                if not sizes and progress.is_complete(d, d.get("status") or {}):
                    await self._cleanup(d, old_rss)
            return progress.rollout_status(d, all_rss, new_rs, now)

        # Recreate: old to zero, wait for their pods to go, then the new one up.
        new_rs, old_rss = await self._new_rs(d, rss, create=False, now=now)
        all_rss = [rs for rs in [*old_rss, new_rs] if rs is not None]
        down = rolling.recreate_scale_down(old_rss)
        if down:
            await self._scale_all(d, all_rss, down)
            return progress.rollout_status(d, all_rss, new_rs, now)
        pods_by_rs: dict[str, list[Obj]] = {}
        for rs in old_rss:
            pods_by_rs[meta(rs)["uid"]] = self.cache(PODS).by_index("owner", meta(rs)["uid"])
        if rolling.old_pods_running(old_rss, pods_by_rs):
            return progress.rollout_status(d, all_rss, new_rs, now)
        if new_rs is None:
            new_rs, old_rss = await self._new_rs(d, rss, create=True, now=now)
            assert new_rs is not None
            all_rss = [*old_rss, new_rs]
        if rolling.replicas(new_rs) != rolling.replicas(d):
            await self._scale_all(d, all_rss, {meta(new_rs)["name"]: rolling.replicas(d)})
        elif progress.is_complete(d, d.get("status") or {}):
            await self._cleanup(d, old_rss)
        return progress.rollout_status(d, all_rss, new_rs, now)

    # --- steps ----------------------------------------------------------------------------

    async def _new_rs(
        self, d: Obj, rss: list[Obj], *, create: bool, now: float
    ) -> tuple[Obj | None, list[Obj]]:
        """Find (updating its revision) or create the new ReplicaSet (``getNewReplicaSet``)."""
        ns = meta(d).get("namespace", "")
        new_rs = sync.find_new_rs(d, rss)
        old_rss = [rs for rs in rss if rs is not new_rs]
        next_revision = sync.max_revision(old_rss) + 1
        status = d["status"]
        if new_rs is not None:
            patch = sync.annotations_patch(new_rs, sync.new_rs_annotations(d, new_rs, next_revision))
            if patch is not None:
                new_rs.update(
                    await self.ctx.client.patch(REPLICASETS, meta(new_rs)["name"], patch, namespace=ns)
                )
            if find_condition(
                status.get("conditions"), progress.PROGRESSING
            ) is None and progress.has_progress_deadline(d):
                msg = f'Found new replica set "{meta(new_rs)["name"]}"'
                d["status"] = progress.set_progressing(status, progress.FOUND_NEW_RS, msg, now)
        elif create:
            obj = sync.new_rs_object(d, old_rss, rss)
            created = False
            try:
                new_rs = await self.ctx.client.create(REPLICASETS, obj, namespace=ns)
                created = True
            except errors.StatusError as err:
                if not errors.is_already_exists(err):
                    if not namespace_terminating(err):
                        msg = f'Failed to create new replica set "{meta(obj)["name"]}": {err}'
                        self.recorder.event(d, WARNING, FAILED_RS_CREATE, msg)
                    raise
                existing = await self.ctx.client.get(REPLICASETS, meta(obj)["name"], namespace=ns)
                if not (
                    is_controlled_by(existing, d)
                    and sync.equal_ignore_hash(existing["spec"]["template"], d["spec"]["template"])
                ):
                    await self._bump_collision_count(d)
                    raise
                new_rs = existing
            assert new_rs is not None
            count = rolling.replicas(new_rs)
            if created and count > 0:
                self.recorder.eventf(
                    d,
                    NORMAL,
                    "ScalingReplicaSet",
                    "Scaled up replica set %s from 0 to %d",
                    meta(new_rs)["name"],
                    count,
                )
            if progress.has_progress_deadline(d):
                msg = f'Created new replica set "{meta(new_rs)["name"]}"'
                d["status"] = progress.set_progressing(d["status"], progress.NEW_RS_CREATED, msg, now)
        if new_rs is not None:
            await self._set_deployment_revision(d, sync.revision(new_rs))
        return new_rs, old_rss

    async def _set_deployment_revision(self, d: Obj, revision: int) -> None:
        annotations = meta(d).get("annotations") or {}
        if revision and annotations.get(sync.REVISION) != str(revision):
            patch = {"metadata": {"annotations": {sync.REVISION: str(revision)}}}
            await self.ctx.client.patch(
                DEPLOYMENTS, meta(d)["name"], patch, namespace=meta(d).get("namespace", "")
            )

    async def _bump_collision_count(self, d: Obj) -> None:
        cached = self.cache(DEPLOYMENTS).get(object_key(d))
        if cached is None:
            return
        updated = copy(cached)
        updated.setdefault("status", {})["collisionCount"] = (
            int(updated["status"].get("collisionCount", 0)) + 1
        )
        await self.ctx.client.update(
            DEPLOYMENTS, updated, namespace=meta(d).get("namespace", ""), subresource="status"
        )

    async def _scale_all(self, d: Obj, rss: list[Obj], sizes: dict[str, int]) -> None:
        ns = meta(d).get("namespace", "")
        for rs in rss:
            name = meta(rs)["name"]
            if name not in sizes:
                continue
            old, new = rolling.replicas(rs), sizes[name]
            patch = {
                "metadata": {"annotations": sync.replicas_annotations(d)},
                "spec": {"replicas": new},
            }
            rs.update(await self.ctx.client.patch(REPLICASETS, name, patch, namespace=ns))
            if old != new:
                direction = "up" if old < new else "down"
                self.recorder.eventf(
                    d,
                    NORMAL,
                    "ScalingReplicaSet",
                    "Scaled %s replica set %s from %d to %d",
                    direction,
                    name,
                    old,
                    new,
                )

    async def _cleanup(self, d: Obj, old_rss: list[Obj]) -> None:
        ns = meta(d).get("namespace", "")
        for rs in sync.history_to_delete(d, old_rss):
            try:
                await self.ctx.client.delete(REPLICASETS, meta(rs)["name"], namespace=ns)
            except errors.StatusError as err:
                if not errors.is_not_found(err):
                    raise
