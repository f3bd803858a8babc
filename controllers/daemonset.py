"""The DaemonSet controller: exactly one pod on every eligible node, updated node by node.

A node is eligible when the pod template would be allowed there: its
``nodeSelector`` matches the node's labels, its required node affinity matches, and
it tolerates the node's ``NoSchedule``/``NoExecute`` taints. DaemonSet pods get the
tolerations upstream adds (``node.kubernetes.io/not-ready`` and ``unreachable``
NoExecute with no time limit, the pressure and ``unschedulable`` NoSchedule ones),
so they stay on nodes that are merely unhealthy. A pod already on a node may stay
there as long as it tolerates the node's ``NoExecute`` taints (``shouldContinueRunning``);
a node with an untolerated ``NoSchedule`` taint only gets no *new* pod.

As upstream since 1.12, pods are not created with ``nodeName``: each gets a required
node affinity on ``metadata.name`` naming its node, and the scheduler (or, in the
tests, the fake kubelet) binds it there.

**Revisions.** Each template the DaemonSet has had is a ControllerRevision named
``<ds>-<hash>`` (``ComputeHash`` of the template and ``status.collisionCount``,
controllers/deployment/hash.py), labelled ``controller-revision-hash: <hash>``, whose
``data`` is the ``$patch: replace`` patch of the template (controllers/history.py).
The revision whose data equals the current template is the current one (renumbered
to ``max + 1`` if it was an old one: ``rollout undo``); pods carry its hash and
``pod-template-generation`` (the API server's count of template changes). A pod is
*updated* if either label matches.

**One pass** (``syncDaemonSet``): construct the history; *manage*: create a pod on each
eligible node without one, delete failed pods, pods on ineligible nodes and
duplicates; then, only if manage had nothing to do, the *rolling update*
(``updateStrategy.type: RollingUpdate``, the default):

* ``maxSurge: 0`` (default): delete old pods while at most ``maxUnavailable``
  (default 1) nodes are without an available pod; manage recreates them;
* ``maxSurge > 0``: start a new pod beside an old one on up to ``maxSurge`` nodes;
  delete the old pod once the new one is available.

``OnDelete`` leaves updates to the user. Finally, old revisions beyond
``revisionHistoryLimit`` that no pod uses are deleted, and status written.

Mirrors: pkg/controller/daemon/daemon_controller.go (syncDaemonSet, manage,
podsShouldBeOnNode, syncNodes, updateDaemonSetStatus), daemon/update.go
(rollingUpdate, findUpdatedPodsOnNode, constructHistory, snapshot, dedupCurHistories,
cleanupHistory, getPatch, updatedDesiredNodeCounts),
daemon/util/daemonset_util.go (CreatePodTemplate, IsPodUpdated,
AddOrUpdateDaemonPodTolerations, ReplaceDaemonSetPodNodeNameNodeAffinity),
component-helpers/scheduling/corev1/nodeaffinity.
"""

from __future__ import annotations

from typing import Any

from apimachinery import errors
from apimachinery.selectors import new_requirement, selector_from_set
from controllers import history
from controllers.base import DAEMONSETS, NODES, PODS, Context, Controller, Result, Watch
from controllers.deployment.hash import compute_hash
from controllers.deployment.rolling import scaled_value
from controllers.deployment.sync import drop_nulls
from controllers.expectations import Expectations
from controllers.history import CONTROLLER_REVISIONS, REVISION_LABEL
from controllers.podcontrol import PodControl
from controllers.replicaset import pod_from_template, pod_owner_keys
from controllers.util import (
    Obj,
    controller_ref,
    is_controlled_by,
    is_pod_available,
    is_pod_ready,
    is_pod_terminated,
    meta,
)

KIND = "DaemonSet"
#: extensions.DaemonSetTemplateGenerationKey (deprecated, still set upstream).
TEMPLATE_GENERATION_LABEL = "pod-template-generation"
#: Where apps/v1 keeps spec.templateGeneration (set by the API server).
TEMPLATE_GENERATION_ANNOTATION = "deprecated.daemonset.template.generation"
_EXPR_OPS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!", "Gt": "gt", "Lt": "lt"}

DAEMON_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    for tol in tolerations:
        if tol.get("effect") not in (None, "", taint.get("effect")):
            continue
        if tol.get("operator", "Equal") == "Exists":
            if tol.get("key") in (None, "", taint.get("key")):
                return True
        elif tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def _term_matches(term: dict[str, Any], node: Obj) -> bool:
    labels = meta(node).get("labels") or {}
    for expr in term.get("matchExpressions") or []:
        req = new_requirement(expr["key"], _EXPR_OPS[expr["operator"]], expr.get("values") or [])
        if not req.matches(labels):
            return False
    for expr in term.get("matchFields") or []:
        req = new_requirement(expr["key"], _EXPR_OPS[expr["operator"]], expr.get("values") or [])
        if expr["key"] == "metadata.name" and not req.matches({"metadata.name": meta(node)["name"]}):
            return False
    return True


def should_run(ds: Obj, node: Obj) -> tuple[bool, bool]:
    """``NodeShouldRunDaemonPod``: (should a pod be created here, may an existing one stay).

    A pod may stay on a node whose ``NoSchedule`` taints it does not tolerate, as long as
    it tolerates the ``NoExecute`` ones (a node that is merely not ready keeps its daemons).
    """
    pod_spec = ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}
    if pod_spec.get("nodeName") not in (None, "", meta(node)["name"]):
        return False, False
    if not selector_from_set(pod_spec.get("nodeSelector"))(meta(node).get("labels")):
        return False, False
    required = ((pod_spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if required and not any(_term_matches(t, node) for t in required.get("nodeSelectorTerms") or []):
        return False, False
    tolerations = [*(pod_spec.get("tolerations") or []), *DAEMON_TOLERATIONS]
    taints = (node.get("spec") or {}).get("taints") or []
    if all(tolerates(tolerations, t) for t in taints if t.get("effect") in ("NoSchedule", "NoExecute")):
        return True, True
    return False, all(tolerates(tolerations, t) for t in taints if t.get("effect") == "NoExecute")


def node_should_run(ds: Obj, node: Obj) -> bool:
    """Would a new pod of the DaemonSet be allowed on this node?"""
    return should_run(ds, node)[0]


def target_node(pod: Obj) -> str:
    """The node a daemon pod is for: its nodeName, or the name in its node affinity."""
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        return str(node)
    required = (((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    for term in required.get("nodeSelectorTerms") or []:
        for f in term.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("operator") == "In" and f.get("values"):
                return str(f["values"][0])
    return ""


# --- revisions (update.go: constructHistory, snapshot, dedupCurHistories, cleanupHistory) --------


def template_generation(ds: Obj) -> str | None:
    """``GetTemplateGeneration``: the API server's count of template changes."""
    value = (meta(ds).get("annotations") or {}).get(TEMPLATE_GENERATION_ANNOTATION)
    return str(value) if value else None


def matches(ds: Obj, revision: Obj) -> bool:
    """``Match``: the revision's data is this DaemonSet's ``getPatch``, byte for byte."""
    return history.go_json(history.template_patch(ds)) == history.go_json(revision.get("data"))


def snapshot(ds: Obj, number: int) -> Obj:
    """``snapshot``: a revision named ``<ds>-<ComputeHash(template, collisionCount)>``."""
    template = (ds.get("spec") or {}).get("template") or {}
    hash_ = compute_hash(drop_nulls(template), (ds.get("status") or {}).get("collisionCount"))
    labels = {**((template.get("metadata") or {}).get("labels") or {}), REVISION_LABEL: hash_}
    m: dict[str, Any] = {
        "name": f"{meta(ds)['name']}-{hash_}",
        "namespace": meta(ds).get("namespace", ""),
        "labels": labels,
        "ownerReferences": [controller_ref(ds, "apps/v1", KIND)],
    }
    if meta(ds).get("annotations"):
        m["annotations"] = dict(meta(ds)["annotations"])
    data = history.template_patch(ds)
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": m,
        "data": data,
        "revision": number,
    }


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


# --- pods ------------------------------------------------------------------------------------------


def daemon_pod(ds: Obj, node: str, hash_: str) -> Obj:
    """``CreatePodTemplate`` + the node affinity: a pod of this DaemonSet for ``node``."""
    pod = pod_from_template(ds, (ds.get("spec") or {}).get("template") or {}, "apps/v1", KIND)
    generation = template_generation(ds)
    if generation is not None:
        pod["metadata"]["labels"][TEMPLATE_GENERATION_LABEL] = generation
    if hash_:
        pod["metadata"]["labels"][REVISION_LABEL] = hash_
    spec = pod["spec"]
    affinity = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
    affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
        "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]
    }
    existing = spec.get("tolerations") or []
    spec["tolerations"] = existing + [t for t in DAEMON_TOLERATIONS if t not in existing]
    return pod


def is_pod_updated(pod: Obj, hash_: str, generation: str | None) -> bool:
    """``IsPodUpdated``: the pod carries the current hash (or template generation)."""
    labels = meta(pod).get("labels") or {}
    template_matches = generation is not None and labels.get(TEMPLATE_GENERATION_LABEL) == generation
    return (bool(hash_) and labels.get(REVISION_LABEL) == hash_) or template_matches


def _oldest_first(pods: list[Obj]) -> list[Obj]:
    """``podByCreationTimestampAndPhase``: scheduled first, then by creation time and name."""
    return sorted(
        pods,
        key=lambda p: (
            not (p.get("spec") or {}).get("nodeName"),
            meta(p).get("creationTimestamp") or "",
            meta(p)["name"],
        ),
    )


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


def by_node(pods: list[Obj]) -> dict[str, list[Obj]]:
    out: dict[str, list[Obj]] = {}
    for p in pods:
        out.setdefault(target_node(p), []).append(p)
    return out


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
            delete += _oldest_first(running)[1:]  # duplicates: keep the oldest
        elif len(running) > 1:
            # Surging: keep the oldest new pod and the oldest old one while the new one
            # is not yet available (and the old one is ready).
            oldest_new = oldest_old = None
            for p in _oldest_first(running):
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
        pod = _oldest_first(mine)[0]
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
