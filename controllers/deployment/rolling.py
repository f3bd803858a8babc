"""Rolling update and Recreate arithmetic, as pure functions over plain dicts.

RollingUpdate bounds a rollout with two numbers resolved against ``spec.replicas``:

* ``maxSurge``: how many pods *above* ``replicas`` may exist (percentages round **up**);
* ``maxUnavailable``: how many *below* ``replicas`` may be unavailable (round **down**);
  if both resolve to 0, maxUnavailable becomes 1, or nothing could ever move.

Each reconcile then either scales the new ReplicaSet *up* (:func:`new_rs_new_replicas`:
total pods may reach ``replicas + maxSurge``) or scales old ReplicaSets *down*
(:func:`old_rs_scale_down`: available pods may not drop below ``replicas -
maxUnavailable``; unhealthy old replicas go first, since removing them costs no
availability). Recreate scales all old ReplicaSets to 0, waits until their pods
are gone, then scales the new one up.

Mirrors: pkg/controller/deployment/rolling.go (reconcileNewReplicaSet,
reconcileOldReplicaSets, cleanupUnhealthyReplicas,
scaleDownOldReplicaSetsForRollingUpdate), recreate.go, and util/deployment_util.go
(ResolveFenceposts, MaxSurge, MaxUnavailable, NewRSNewReplicas), plus
apimachinery/pkg/util/intstr/intstr.go (GetScaledValueFromIntOrPercent).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from controllers.util import Obj, epoch, meta

DEFAULT_MAX_SURGE = "25%"
DEFAULT_MAX_UNAVAILABLE = "25%"


class IntOrStringError(ValueError):
    pass


def scaled_value(value: int | str | None, total: int, round_up: bool) -> int:
    """An intstr resolved against ``total``: ``3`` → 3, ``"25%"`` of 10 → 3 (up) or 2 (down)."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    if not value.endswith("%"):
        raise IntOrStringError(
            f"invalid value for IntOrString: invalid type: string is not a percentage: {value!r}"
        )
    try:
        percent = int(value[:-1])
    except ValueError as err:
        raise IntOrStringError(f"invalid value {value!r}: {err}") from None
    exact = percent * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def replicas(obj: Obj) -> int:
    """``spec.replicas`` (defaulted to 1 by the API server)."""
    return int((obj.get("spec") or {}).get("replicas", 1))


def strategy(d: Obj) -> dict[str, Any]:
    return (d.get("spec") or {}).get("strategy") or {}


def is_rolling(d: Obj) -> bool:
    return strategy(d).get("type", "RollingUpdate") == "RollingUpdate"


def resolve_fenceposts(
    max_surge: int | str | None, max_unavailable: int | str | None, desired: int
) -> tuple[int, int]:
    surge = scaled_value(max_surge, desired, round_up=True)
    unavailable = scaled_value(max_unavailable, desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1  # otherwise the rollout could never make progress
    return surge, unavailable


def _fenceposts(d: Obj) -> tuple[int, int]:
    ru = strategy(d).get("rollingUpdate") or {}
    return resolve_fenceposts(
        ru.get("maxSurge", DEFAULT_MAX_SURGE), ru.get("maxUnavailable", DEFAULT_MAX_UNAVAILABLE), replicas(d)
    )


def max_surge(d: Obj) -> int:
    return _fenceposts(d)[0] if is_rolling(d) else 0


def max_unavailable(d: Obj) -> int:
    if not is_rolling(d) or replicas(d) == 0:
        return 0
    return min(_fenceposts(d)[1], replicas(d))


def total_replicas(rss: Sequence[Obj]) -> int:
    """Sum of ``spec.replicas`` (``GetReplicaCountForReplicaSets``)."""
    return sum(replicas(rs) for rs in rss)


def total_available(rss: Sequence[Obj]) -> int:
    return sum(int((rs.get("status") or {}).get("availableReplicas", 0)) for rs in rss)


def by_creation(rss: Sequence[Obj]) -> list[Obj]:
    """Oldest first; ties broken by name (``ReplicaSetsByCreationTimestamp``)."""
    return sorted(rss, key=lambda rs: (epoch(meta(rs).get("creationTimestamp")), meta(rs).get("name", "")))


def new_rs_new_replicas(d: Obj, all_rss: Sequence[Obj], new_rs: Obj) -> int:
    """How many replicas the new ReplicaSet may have now (``NewRSNewReplicas``)."""
    if not is_rolling(d):
        return replicas(d)
    current = total_replicas(all_rss)
    max_total = replicas(d) + max_surge(d)
    if current >= max_total:
        return replicas(new_rs)
    scale_up = min(max_total - current, replicas(d) - replicas(new_rs))
    return replicas(new_rs) + scale_up


def reconcile_new_rs(d: Obj, all_rss: Sequence[Obj], new_rs: Obj) -> int | None:
    """The new ReplicaSet's target size, or ``None`` to leave it (``reconcileNewReplicaSet``)."""
    if replicas(new_rs) == replicas(d):
        return None
    if replicas(new_rs) > replicas(d):
        return replicas(d)
    target = new_rs_new_replicas(d, all_rss, new_rs)
    return target if target != replicas(new_rs) else None


def old_rs_scale_down(d: Obj, all_rss: Sequence[Obj], old_rss: Sequence[Obj], new_rs: Obj) -> dict[str, int]:
    """New sizes for old ReplicaSets (name → replicas) in this step (``reconcileOldReplicaSets``)."""
    if total_replicas(old_rss) == 0:
        return {}
    min_available = replicas(d) - max_unavailable(d)
    new_unavailable = replicas(new_rs) - int((new_rs.get("status") or {}).get("availableReplicas", 0))
    max_scaled_down = total_replicas(all_rss) - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}
    before = {meta(rs)["name"]: replicas(rs) for rs in old_rss}
    sizes = dict(before)
    ordered = by_creation(old_rss)

    # 1. Unhealthy old replicas first: removing them costs no availability.
    cleaned = 0
    for rs in ordered:
        if cleaned >= max_scaled_down:
            break
        name = meta(rs)["name"]
        available = int((rs.get("status") or {}).get("availableReplicas", 0))
        unhealthy = sizes[name] - available
        if sizes[name] == 0 or unhealthy <= 0:
            continue
        step = min(max_scaled_down - cleaned, unhealthy)
        sizes[name] -= step
        cleaned += step

    # 2. Then healthy ones, as far as availability allows.
    available_now = total_available([*old_rss, new_rs])
    if available_now > min_available:
        to_scale = available_now - min_available
        scaled = 0
        for rs in ordered:
            if scaled >= to_scale:
                break
            name = meta(rs)["name"]
            if sizes[name] == 0:
                continue
            step = min(sizes[name], to_scale - scaled)
            sizes[name] -= step
            scaled += step
    return {name: n for name, n in sizes.items() if n != before[name]}


def recreate_scale_down(old_rss: Sequence[Obj]) -> dict[str, int]:
    """Recreate step 1: every old ReplicaSet with replicas goes to 0."""
    return {meta(rs)["name"]: 0 for rs in old_rss if replicas(rs) != 0}


def old_pods_running(old_rss: Sequence[Obj], pods_by_rs: dict[str, list[Obj]]) -> bool:
    """Recreate step 2 waits while any old pod is not yet terminated (``oldPodsRunning``)."""
    if any(int((rs.get("status") or {}).get("replicas", 0)) > 0 for rs in old_rss):
        return True
    for rs in old_rss:
        for pod in pods_by_rs.get(meta(rs)["uid"], []):
            if (pod.get("status") or {}).get("phase") not in ("Failed", "Succeeded"):
                return True
    return False
