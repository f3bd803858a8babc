"""Strategic merge patch, case by case.

Cases come from the Kubernetes documentation ("Update API Objects in Place Using
kubectl patch"), the strategic merge patch design doc (kubernetes/community
contributors/devel/sig-api-machinery/strategic-merge-patch.md), bodies kubectl
really sends (shared/reference/kubernetes-api.md §4.4) and
k8s.io/apimachinery/pkg/util/strategicpatch/patch_test.go. Each case is
(live object, patch, expected result), using real kinds so that the merge keys
come from the served OpenAPI schema.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from apimachinery.errors import StatusError
from apiserver.patch import strategic

POD = ("", "v1", "Pod")
NODE = ("", "v1", "Node")
DEPLOYMENT = ("apps", "v1", "Deployment")

Obj = dict[str, Any]


def pod_spec(**spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def deployment(template_spec: Obj, **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "patch-demo"},
        "spec": {"template": {"spec": template_spec}, **spec},
    }


def template(**spec: Any) -> Obj:
    """A patch body that touches only ``spec.template.spec``."""
    return {"spec": {"template": {"spec": spec}}}


def c(name: str, image: str, **more: Any) -> Obj:
    return {"name": name, "image": image, **more}


MERGE_CASES = [
    # --- "Update API Objects in Place Using kubectl patch" -----------------------------
    pytest.param(
        DEPLOYMENT,
        deployment({"containers": [c("patch-demo-ctr", "nginx")]}),
        template(containers=[c("patch-demo-ctr-2", "redis")]),
        deployment({"containers": [c("patch-demo-ctr-2", "redis"), c("patch-demo-ctr", "nginx")]}),
        id="docs-containers-merged-by-name-new-one-first",
    ),
    pytest.param(
        DEPLOYMENT,
        deployment({"tolerations": [{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}]}),
        template(tolerations=[{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]),
        deployment({"tolerations": [{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}]}),
        id="docs-tolerations-have-no-strategy-so-replaced",
    ),
    pytest.param(
        DEPLOYMENT,
        deployment({}, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "30%"}}),
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        deployment({}, strategy={"type": "Recreate"}),
        id="docs-retainKeys-drops-rollingUpdate",
    ),
    pytest.param(
        DEPLOYMENT,
        deployment({}, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "30%"}}),
        {"spec": {"strategy": {"type": "Recreate"}}},
        deployment({}, strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": "30%"}}),
        id="docs-without-retainKeys-the-old-key-stays",
    ),
    # --- what kubectl sends ------------------------------------------------------------
    pytest.param(
        DEPLOYMENT,
        deployment({"containers": [c("c", "nginx:2", ports=[{"containerPort": 80}])]}),
        {
            "spec": {
                "template": {
                    "spec": {
                        "$setElementOrder/containers": [{"name": "c"}],
                        "containers": [c("c", "nginx:3")],
                    }
                }
            }
        },
        deployment({"containers": [c("c", "nginx:3", ports=[{"containerPort": 80}])]}),
        id="kubectl-set-image",
    ),
    pytest.param(
        DEPLOYMENT,
        deployment({"containers": [c("a", "x"), c("b", "y")]}),
        template(
            **{"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}], "containers": [c("a", "z")]}
        ),
        deployment({"containers": [c("b", "y"), c("a", "z")]}),
        id="setElementOrder-reorders-and-merges",
    ),
    pytest.param(
        DEPLOYMENT,
        deployment({"containers": [c("a", "x"), c("b", "y")]}),
        template(
            **{"$setElementOrder/containers": [{"name": "a"}, {"name": "n"}, {"name": "b"}]},
            containers=[c("n", "z")],
        ),
        deployment({"containers": [c("a", "x"), c("n", "z"), c("b", "y")]}),
        id="setElementOrder-places-a-new-container",
    ),
    pytest.param(
        DEPLOYMENT,
        deployment({}, template={"metadata": {}, "spec": {}}),
        {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "T"}}}}},
        deployment(
            {}, template={"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "T"}}, "spec": {}}
        ),
        id="kubectl-rollout-restart",
    ),
    pytest.param(
        POD,
        pod_spec(containers=[c("c", "i", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])]),
        {"spec": {"containers": [{"name": "c", "env": [{"name": "B", "value": "3"}]}]}},
        pod_spec(containers=[c("c", "i", env=[{"name": "A", "value": "1"}, {"name": "B", "value": "3"}])]),
        id="env-merged-by-name",
    ),
    pytest.param(
        POD,
        pod_spec(containers=[c("c", "i", ports=[{"containerPort": 80, "protocol": "TCP"}])]),
        {
            "spec": {
                "containers": [
                    {"name": "c", "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}]}
                ]
            }
        },
        pod_spec(
            containers=[
                c(
                    "c",
                    "i",
                    ports=[{"containerPort": 80, "protocol": "TCP", "name": "http"}, {"containerPort": 443}],
                )
            ]
        ),
        id="ports-merged-by-containerPort",
    ),
    pytest.param(
        POD,
        pod_spec(containers=[c("c", "i", ports=[{"containerPort": 80}])]),
        {"spec": {"containers": [{"name": "c", "ports": [{"containerPort": "80", "name": "http"}]}]}},
        pod_spec(
            containers=[c("c", "i", ports=[{"containerPort": "80", "name": "http"}, {"containerPort": 80}])]
        ),
        id="merge-key-of-another-type-matches-nothing",
    ),
    pytest.param(
        NODE,
        {"kind": "Node", "spec": {"taints": [{"key": "a", "effect": "NoSchedule"}]}},
        {"spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}},
        {"kind": "Node", "spec": {"taints": [{"key": "b", "effect": "NoExecute"}]}},
        id="node-taints-are-atomic-kubectl-taint-sends-the-whole-list",
    ),
    pytest.param(
        NODE,
        {"kind": "Node", "spec": {"unschedulable": False}},
        {"spec": {"unschedulable": True}},
        {"kind": "Node", "spec": {"unschedulable": True}},
        id="kubectl-cordon",
    ),
    pytest.param(
        NODE,
        {
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "MemoryPressure", "status": "False"},
                ]
            }
        },
        {"status": {"conditions": [{"type": "Ready", "status": "False", "reason": "KubeletNotReady"}]}},
        {
            "status": {
                "conditions": [
                    {"type": "Ready", "status": "False", "reason": "KubeletNotReady"},
                    {"type": "MemoryPressure", "status": "False"},
                ]
            }
        },
        id="node-status-conditions-merged-by-type",
    ),
    # --- the directives (design doc) ---------------------------------------------------
    pytest.param(
        POD,
        pod_spec(containers=[c("nginx", "nginx"), c("log-tailer", "tail")]),
        {"spec": {"containers": [c("nginx", "nginx-1.0"), {"$patch": "delete", "name": "log-tailer"}]}},
        pod_spec(containers=[c("nginx", "nginx-1.0")]),
        id="patch-delete-a-container",
    ),
    pytest.param(
        POD,
        pod_spec(containers=[c("nginx", "nginx"), c("log-tailer", "tail")]),
        {"spec": {"containers": [c("nginx", "nginx-1.0"), {"$patch": "replace"}]}},
        pod_spec(containers=[c("nginx", "nginx-1.0")]),
        id="patch-replace-a-list",
    ),
    pytest.param(
        POD,
        {"metadata": {"labels": {"a": "1", "b": "2"}}},
        {"metadata": {"labels": {"$patch": "replace", "c": "3"}}},
        {"metadata": {"labels": {"c": "3"}}},
        id="patch-replace-a-map",
    ),
    pytest.param(
        DEPLOYMENT,
        deployment({}, strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}),
        {"spec": {"strategy": {"rollingUpdate": {"$patch": "delete"}}}},
        deployment({}, strategy={"type": "RollingUpdate", "rollingUpdate": {}}),
        id="patch-delete-a-map-leaves-it-empty",
    ),
    pytest.param(
        POD,
        pod_spec(),
        {"spec": {"nodeSelector": {"$patch": "replace", "disk": "ssd"}}},
        pod_spec(),
        id="directive-map-for-a-missing-field-is-dropped",
    ),
    pytest.param(
        POD,
        pod_spec(),
        {"spec": {"containers": [c("a", "x"), {"name": "b", "$patch": "delete"}]}},
        pod_spec(containers=[c("a", "x")]),
        id="directive-items-dropped-from-a-new-list",
    ),
    pytest.param(
        POD,
        {"metadata": {"finalizers": ["a", "b", "c"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b", "c"]}},
        {"metadata": {"finalizers": ["a"]}},
        id="deleteFromPrimitiveList-finalizers",
    ),
    pytest.param(
        POD,
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"finalizers": ["b", "c"]}},
        {"metadata": {"finalizers": ["a", "b", "c"]}},
        id="finalizers-merge-as-a-set",
    ),
    pytest.param(
        POD,
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"finalizers": ["c"]}},
        {"metadata": {"finalizers": ["c", "a", "b"]}},
        id="finalizers-new-value-goes-first-without-setElementOrder",
    ),
    pytest.param(
        POD,
        {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"$setElementOrder/finalizers": ["a", "b", "c"], "finalizers": ["c"]}},
        {"metadata": {"finalizers": ["a", "b", "c"]}},
        id="finalizers-setElementOrder-of-primitives",
    ),
    pytest.param(
        POD,
        pod_spec(volumes=[{"name": "v", "emptyDir": {}}]),
        {
            "spec": {
                "volumes": [{"name": "v", "hostPath": {"path": "/d"}, "$retainKeys": ["hostPath", "name"]}]
            }
        },
        pod_spec(volumes=[{"name": "v", "hostPath": {"path": "/d"}}]),
        id="volumes-retainKeys-switches-the-volume-source",
    ),
    # --- null ----------------------------------------------------------------------------
    pytest.param(
        POD,
        {"metadata": {"labels": {"a": "1", "b": "2"}}},
        {"metadata": {"labels": {"a": None, "zzz": None}}},
        {"metadata": {"labels": {"b": "2"}}},
        id="null-deletes-a-key-and-is-ignored-for-a-missing-one",
    ),
    pytest.param(
        POD,
        pod_spec(),
        {"spec": {"nodeSelector": {"disk": "ssd", "zone": None}}},
        pod_spec(nodeSelector={"disk": "ssd"}),
        id="nulls-inside-a-new-map-are-discarded",
    ),
    # --- metadata the schema gives, or does not give -------------------------------------
    pytest.param(
        POD,
        pod_spec(containers=[c("c", "i", resources={"claims": [{"name": "a"}, {"name": "b"}]})]),
        {"spec": {"containers": [{"name": "c", "resources": {"claims": [{"name": "z"}]}}]}},
        pod_spec(containers=[c("c", "i", resources={"claims": [{"name": "z"}]})]),
        id="list-type-map-without-patch-strategy-is-replaced",
    ),
    pytest.param(
        ("example.com", "v1", "Widget"),
        {"spec": {"items": [{"name": "a"}], "m": {"x": 1, "y": 2}}},
        {"spec": {"items": [{"name": "b"}], "m": {"x": None, "z": 3}}},
        {"spec": {"items": [{"name": "b"}], "m": {"y": 2, "z": 3}}},
        id="unknown-kind-falls-back-to-json-merge-patch",
    ),
    pytest.param(
        POD,
        pod_spec(containers=[c("c", "i")]),
        {"spec": {"containers": [{"name": "c", "args": ["a", "b"]}]}},
        pod_spec(containers=[c("c", "i", args=["a", "b"])]),
        id="args-without-strategy-are-taken",
    ),
]


@pytest.mark.parametrize(("gvk", "live", "patch", "expected"), MERGE_CASES)
def test_apply(gvk: tuple[str, str, str], live: Obj, patch: Obj, expected: Obj) -> None:
    live_before, patch_before = copy.deepcopy(live), copy.deepcopy(patch)
    assert strategic.apply(live, patch, gvk) == expected
    assert live == live_before, "apply must not modify the live object"
    assert patch == patch_before, "apply must not modify the patch"


ERROR_CASES = [
    pytest.param(
        pod_spec(containers=[c("c", "i")]),
        {"spec": {"containers": [{"image": "nginx"}]}},
        400,
        "map: map[image:nginx] does not contain declared merge key: name",
        "spec.containers[0]",
        id="list-item-without-its-merge-key",
    ),
    pytest.param(
        pod_spec(containers=[c("c", "i")]),
        {"spec": {"containers": [{"$patch": "delete"}]}},
        400,
        "map: map[$patch:delete] does not contain declared merge key: name",
        "spec.containers[0]",
        id="delete-directive-without-its-merge-key",
    ),
    pytest.param(
        pod_spec(containers=[c("c", "i")]),
        {"spec": {"containers": [{"name": "c", "$patch": "remove"}]}},
        400,
        "unknown patch type: remove in map: map[$patch:remove name:c]",
        "spec.containers[0]",
        id="unknown-patch-directive-in-a-list",
    ),
    pytest.param(
        pod_spec(containers=[c("c", "i")]),
        {"spec": {"$patch": "merge"}},
        400,
        "unknown patch type: merge in map: map[$patch:merge]",
        "spec",
        id="patch-merge-on-a-map-is-not-implemented-upstream",
    ),
    pytest.param(
        pod_spec(containers=[c("c", "i")]),
        {"spec": {"containers": [{"$patch": "merge"}]}},
        400,
        "merging lists cannot yet be specified in the patch",
        "spec.containers[0]",
        id="patch-merge-in-a-list",
    ),
    pytest.param(
        pod_spec(containers=[c("c", "i")]),
        {"spec": {"$setElementOrder/containers": {"name": "c"}}},
        400,
        "expected a []interface {}, but received a map[string]interface {}",
        "spec.$setElementOrder/containers",
        id="setElementOrder-not-a-list",
    ),
    pytest.param(
        pod_spec(containers=[c("a", "i"), c("b", "i")]),
        {"spec": {"$setElementOrder/containers": [{"name": "a"}], "containers": [c("b", "z")]}},
        400,
        "the order in patch list:\n[map[image:z name:b]]\n doesn't match $setElementOrder list:\n[map[name:a]]",
        "spec.$setElementOrder/containers",
        id="setElementOrder-missing-a-patched-item",
    ),
    pytest.param(
        pod_spec(containers=[c("a", "i")]),
        {"spec": {"$setElementOrder/containers": [{"image": "a"}], "containers": [c("a", "z")]}},
        400,
        "map: map[image:a] does not contain declared merge key: name",
        "spec.$setElementOrder/containers",
        id="setElementOrder-entry-without-merge-key",
    ),
    pytest.param(
        pod_spec(containers=[c("a", "i")]),
        {"spec": {"$setElementOrder": [{"name": "a"}]}},
        400,
        "invalid patch format of setElementOrder list",
        "spec.$setElementOrder",
        id="setElementOrder-without-a-list-name",
    ),
    pytest.param(
        {"metadata": {"finalizers": ["a"]}},
        {"metadata": {"$deleteFromPrimitiveList": ["a"]}},
        400,
        "invalid patch format of primitive list",
        "metadata.$deleteFromPrimitiveList",
        id="deleteFromPrimitiveList-without-a-list-name",
    ),
    pytest.param(
        {"spec": {"strategy": {"type": "RollingUpdate"}}},
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": {}}}},
        400,
        "invalid patch format of retainKeys",
        "spec.strategy.$retainKeys",
        id="retainKeys-must-list-every-patched-key",
    ),
    pytest.param(
        {"spec": {"strategy": {"type": "RollingUpdate"}}},
        {"spec": {"strategy": {"$retainKeys": "type"}}},
        400,
        "invalid patch format of retainKeys",
        "spec.strategy.$retainKeys",
        id="retainKeys-not-a-list",
    ),
    pytest.param(
        {"metadata": {"finalizers": []}},
        {"metadata": {"finalizers": [["a"]]}},
        422,
        "the server rejected our request due to an error in our request",
        "metadata.finalizers",
        id="lists-of-lists",
    ),
    pytest.param(
        {"metadata": {"finalizers": ["a"]}},
        {"metadata": {"finalizers": [1]}},
        400,
        "list element types are not identical: [[a] [1]]",
        "metadata.finalizers",
        id="list-element-types-differ",
    ),
]


@pytest.mark.parametrize(("live", "patch", "code", "message", "field"), ERROR_CASES)
def test_apply_errors(live: Obj, patch: Obj, code: int, message: str, field: str) -> None:
    gvk = DEPLOYMENT if "strategy" in str(patch) else POD
    with pytest.raises(StatusError) as info:
        strategic.apply(live, patch, gvk)
    err = info.value
    assert (err.code, err.message) == (code, message)
    assert err.status["details"]["causes"][0]["field"] == field


def test_lists_of_lists_status_carries_the_upstream_text() -> None:
    with pytest.raises(StatusError) as info:
        strategic.apply({"metadata": {"finalizers": []}}, {"metadata": {"finalizers": [["a"]]}}, POD)
    assert info.value.reason == "Invalid"
    assert info.value.status["details"]["causes"][0]["message"] == "lists of lists are not supported"
