"""Table tests: namespace deletion conditions and the garbage collector's decisions."""

from __future__ import annotations

import pytest

from controllers import garbagecollector as gc
from controllers.namespace import remaining_conditions
from controllers.util import find_condition
from tests.controllers._objects import T0


def test_remaining_conditions_messages() -> None:
    conds = remaining_conditions([], {"pods": 2, "deployments.apps": 1}, {"example.com/hold": 1}, [], T0)
    remaining = find_condition(conds, "NamespaceContentRemaining")
    assert remaining is not None
    assert (remaining["status"], remaining["reason"]) == ("True", "SomeResourcesRemain")
    assert remaining["message"] == (
        "Some resources are remaining: deployments.apps has 1 resource instances, pods has 2 resource instances"
    )
    fins = find_condition(conds, "NamespaceFinalizersRemaining")
    assert fins is not None
    assert (
        fins["message"]
        == "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
    )
    ok = find_condition(conds, "NamespaceDeletionDiscoveryFailure")
    assert ok is not None and (ok["status"], ok["reason"]) == ("False", "ResourcesDiscovered")
    conds = remaining_conditions(conds, {}, {}, [], T0 + 5)
    done = find_condition(conds, "NamespaceContentRemaining")
    assert done is not None and (done["status"], done["reason"]) == ("False", "ContentRemoved")


@pytest.mark.parametrize(
    ("states", "action"),
    [
        ([], "keep"),
        ([gc.SOLID], "keep"),
        ([gc.SOLID, gc.DANGLING], "remove-refs"),
        ([gc.SOLID, gc.WAITING], "remove-refs"),
        ([gc.DANGLING], "delete"),
        ([gc.DANGLING, gc.DANGLING], "delete"),
        ([gc.WAITING], "delete-foreground"),
    ],
    ids=[
        "no-owners",
        "solid",
        "solid+dangling",
        "solid+waiting",
        "dangling",
        "all-dangling",
        "owner-foreground",
    ],
)
def test_classify(states: list[str], action: str) -> None:
    assert gc.classify(states) == action


@pytest.mark.parametrize(
    ("finalizers", "policy"),
    [([], "Background"), (["orphan"], "Orphan"), (["foregroundDeletion"], "Foreground")],
    ids=["none", "orphan", "foreground"],
)
def test_deletion_policy(finalizers: list[str], policy: str) -> None:
    assert gc.deletion_policy({"metadata": {"finalizers": finalizers}}) == policy


def test_gc_key_round_trip() -> None:
    from client.rest import GVR

    key = gc.gc_key(GVR("apps", "v1", "replicasets"), {"metadata": {"namespace": "ns", "name": "web"}})
    assert gc.parse_key(key) == (GVR("apps", "v1", "replicasets"), "ns", "web")
