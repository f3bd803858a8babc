"""The API server's CPU per write, in process: field validation, defaults, managedFields.

Run: ``.venv/bin/python -m bench.writepath [--quick]``

Every write the server takes (create, update, patch, status update, binding) pays
for the same few pure-Python steps besides HTTP and storage: field validation
(unknown and duplicate fields), the registry's ``BeforeCreate``/``BeforeUpdate``
(system fields, the strategy's defaults and validation) and the managedFields
bookkeeping of server-side apply. This benchmark times them one by one on
realistic pods, with no network and no other process involved:

* ``kubectl run``: the body ``kubectl run web --image=nginx`` sends;
* ``scheduler bench``: the pod ``bench/scheduler.py`` creates (one container, requests);
* ``deployment``: a pod as the ReplicaSet controller makes it (generateName,
  ownerReferences, labels, three containers with ports, env, probes, mounts).

Rows, per pod shape, in microseconds of this process's CPU per operation (the
best of several rounds, so another process's burst of activity does not count):

==========================  ================================================================
row                         what runs
==========================  ================================================================
field validation            ``fieldvalidation.problems`` on the decoded body and its bytes
before create               ``RegistryStore._before_create`` without a manager (defaults, validation)
managedFields (create)      ``track_create`` of the defaulted pod
status: managedFields       ``track_update`` through ``pods/status`` (the kubelet's first status)
handler: create             the real ``POST`` handler, SQLite storage in a temporary directory
handler: binding            the real ``pods/binding`` handler
handler: status patch       the real merge ``PATCH`` of ``pods/status``, as the kubelet sends it
==========================  ================================================================

The handler rows include storage (SQLite, one commit per write), so they show how
much of a write the pure-Python rows above are.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request

from apimachinery import errors
from apiserver import fieldvalidation, resources
from apiserver.handlers import patch as patch_handlers
from apiserver.handlers import subresources, write
from apiserver.handlers.common import Scope
from apiserver.managedfields import Target, track_create, track_update
from apiserver.registry.kinds import strategy_for
from apiserver.registry.registry import Registry
from apiserver.registry.store import RegistryStore
from apiserver.requestinfo import parse
from apiserver.storage import open_backend
from apiserver.storage.store import ObjectStore

Object = dict[str, Any]
NAMESPACE = "default"


def kubectl_run_pod(name: str = "web") -> Object:
    """What ``kubectl run web --image=nginx`` (1.32) sends."""
    return {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": {"name": name, "creationTimestamp": None, "labels": {"run": name}},
        "spec": {
            "containers": [{"name": name, "image": "nginx", "resources": {}}],
            "restartPolicy": "Always",
            "dnsPolicy": "ClusterFirst",
        },
        "status": {},
    }


def scheduler_bench_pod(name: str = "pod-00001") -> Object:
    """bench/scheduler.py's pod."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"app": "bench"}},
        "spec": {
            "schedulerName": "default-scheduler",
            "containers": [
                {
                    "name": "c",
                    "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                }
            ],
        },
    }


def deployment_pod(name: str = "web-7d9c8b6f5-x2k4p") -> Object:
    """A pod as the ReplicaSet controller creates it from a three-container Deployment."""

    def container(n: str, image: str, port: int) -> Object:
        return {
            "name": n,
            "image": image,
            "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
            "env": [{"name": "MODE", "value": "production"}, {"name": "PORT", "value": str(port)}],
            "resources": {
                "requests": {"cpu": "100m", "memory": "64Mi"},
                "limits": {"cpu": "500m", "memory": "256Mi"},
            },
            "readinessProbe": {"httpGet": {"path": "/healthz", "port": port}, "periodSeconds": 5},
            "volumeMounts": [{"name": "config", "mountPath": "/etc/app", "readOnly": True}],
            "imagePullPolicy": "IfNotPresent",
        }

    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "generateName": "web-7d9c8b6f5-",
            "namespace": NAMESPACE,
            "labels": {"app": "web", "tier": "frontend", "pod-template-hash": "7d9c8b6f5"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-02T03:04:05Z"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": "web-7d9c8b6f5",
                    "uid": "4f6c1a52-9a0e-4d8e-9c51-3b1f7d2e8a10",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "containers": [
                container("web", "nginx:1.27", 8080),
                container("sidecar", "envoyproxy/envoy:v1.31", 9901),
                container("metrics", "prom/statsd-exporter:v0.27", 9102),
            ],
            "volumes": [{"name": "config", "configMap": {"name": "web-config"}}],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "securityContext": {"runAsNonRoot": True},
            "schedulerName": "default-scheduler",
        },
    }


SHAPES: dict[str, Callable[[str], Object]] = {
    "kubectl run": kubectl_run_pod,
    "scheduler bench": scheduler_bench_pod,
    "deployment": deployment_pod,
}


def running_status(pod: Object) -> Object:
    """The kubelet's first status of a started pod (kubelet/status.py's shape)."""
    at = "2026-01-02T03:04:06Z"
    return {
        "phase": "Running",
        "conditions": [
            {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": at}
            for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
        ],
        "hostIP": "10.0.0.5",
        "hostIPs": [{"ip": "10.0.0.5"}],
        "podIP": "10.244.0.17",
        "podIPs": [{"ip": "10.244.0.17"}],
        "startTime": at,
        "containerStatuses": [
            {
                "name": c["name"],
                "image": c["image"],
                "imageID": "sha256:" + "ab" * 32,
                "containerID": "containerd://" + "cd" * 32,
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": at}},
                "lastState": {},
            }
            for c in pod["spec"]["containers"]
        ],
    }


# --- timing --------------------------------------------------------------------------


def per_op_us(fn: Callable[[int], object], n: int, rounds: int) -> float:
    """CPU microseconds per call of ``fn(i)``: the best of ``rounds`` rounds of ``n`` calls.

    ``i`` runs on across rounds (0 .. n * rounds - 1), so each call can have its own
    object, as each request does: a cache that only a repeated object would hit
    does not flatter the figures.
    """
    best = float("inf")
    i = 0
    for _ in range(rounds):
        t = time.process_time()
        for _ in range(n):
            fn(i)
            i += 1
        best = min(best, (time.process_time() - t) / n)
    return best * 1e6


async def per_op_us_async(fn: Callable[[int], Awaitable[object]], n: int, rounds: int) -> float:
    best = float("inf")
    i = 0
    for _ in range(rounds):
        t = time.process_time()
        for _ in range(n):
            await fn(i)
            i += 1
        best = min(best, (time.process_time() - t) / n)
    return best * 1e6


# --- the pure-Python pieces ----------------------------------------------------------


def pieces(shape: Callable[[str], Object], n: int, rounds: int) -> dict[str, float]:
    registry_store = RegistryStore(
        group="",
        resource="pods",
        kind="Pod",
        api_version="v1",
        namespaced=True,
        prefix="/registry/pods/",
        strategy=_pod_strategy(),
        storage=None,  # type: ignore[arg-type]  # _before_create and _before_update never touch it
    )
    count = n * rounds
    bodies = [orjson.dumps(shape(f"p{i}")) for i in range(count)]
    out: dict[str, float] = {}
    out["field validation"] = per_op_us(
        lambda i: fieldvalidation.problems(orjson.loads(bodies[i]), bodies[i], "", "v1", "Pod"), n, rounds
    )
    out["before create"] = per_op_us(
        lambda i: registry_store._before_create(orjson.loads(bodies[i]), NAMESPACE), n, rounds
    )
    defaulted = [orjson.loads(body) for body in bodies]
    for obj in defaulted:
        registry_store._before_create(obj, NAMESPACE)
    raws = [orjson.dumps(obj) for obj in defaulted]
    pod_target = Target("", "v1", "Pod")
    out["managedFields (create)"] = per_op_us(
        lambda i: track_create(orjson.loads(raws[i]), "kubectl-run", pod_target), n, rounds
    )

    olds, news = [], []
    for raw in raws:
        stored = orjson.loads(raw)
        track_create(stored, "kubectl-run", pod_target)
        stored["spec"]["nodeName"] = "node-1"
        stored["metadata"]["resourceVersion"] = "42"
        with_status = copy.deepcopy(stored)
        with_status["status"] = running_status(stored)
        olds.append(orjson.dumps(stored))
        news.append(orjson.dumps(with_status))
    status_target = Target("", "v1", "Pod", "status")
    out["status: managedFields"] = per_op_us(
        lambda i: track_update(orjson.loads(olds[i]), orjson.loads(news[i]), "kubelet", status_target),
        n,
        rounds,
    )
    return out


def _pod_strategy() -> Any:
    [info] = [r for r in resources.RESOURCES if r.group == "" and r.resource == "pods"]
    return strategy_for(info)


# --- the real handlers, over SQLite --------------------------------------------------


def _request(method: str, path: str, body: bytes, content_type: str, query: str = "") -> Request:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"user-agent", b"bench/v0.0.0"),
    ]
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": headers,
    }
    return Request(scope, receive)


def _scope(registry: Registry, request: Request) -> Scope:
    info = parse(request.method, request.url.path, False)
    assert info is not None
    entry = registry.get(info.group, info.version, info.resource)
    assert entry is not None
    return Scope(request, info, entry, registry)


async def handlers(
    label: str, shape: Callable[[str], Object], n: int, rounds: int, data_dir: Path
) -> dict[str, float]:
    backend = open_backend("sqlite", data_dir)
    await backend.start()
    registry = Registry(ObjectStore(backend))
    try:
        namespaces = registry.get("", "v1", "namespaces")
        assert namespaces is not None
        try:
            await namespaces.store.create({"metadata": {"name": NAMESPACE}}, "")
        except errors.StatusError:
            pass  # already there from the previous shape
        prefix = label.replace(" ", "-") + "-"
        pods_path = f"/api/v1/namespaces/{NAMESPACE}/pods"

        async def create(i: int) -> object:
            pod = shape(f"{prefix}{i}")
            pod["metadata"].pop("generateName", None)
            body = orjson.dumps(pod)
            request = _request(
                "POST", pods_path, body, "application/json", "fieldManager=bench&fieldValidation=Strict"
            )
            return await write.create(_scope(registry, request))

        async def bind(i: int) -> object:
            body = orjson.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Binding",
                    "metadata": {"name": f"{prefix}{i}"},
                    "target": {"name": "node-1"},
                }
            )
            request = _request("POST", f"{pods_path}/{prefix}{i}/binding", body, "application/json")
            return await subresources.binding(_scope(registry, request))

        async def status(i: int) -> object:
            pod = shape(f"{prefix}{i}")
            body = orjson.dumps({"metadata": {}, "status": running_status(pod)})
            request = _request(
                "PATCH",
                f"{pods_path}/{prefix}{i}/status",
                body,
                "application/merge-patch+json",
                "fieldManager=kubelet",
            )
            return await patch_handlers.patch(_scope(registry, request))

        return {
            "handler: create": await per_op_us_async(create, n, rounds),
            "handler: binding": await per_op_us_async(bind, n, rounds),
            "handler: status patch": await per_op_us_async(status, n, rounds),
        }
    finally:
        await backend.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (about 15 s)")
    args = parser.parse_args()
    n, rounds = (100, 3) if args.quick else (300, 5)
    columns = list(SHAPES)
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-writepath-") as tmp:
        for name, shape in SHAPES.items():
            figures = pieces(shape, n, rounds)
            figures |= asyncio.run(handlers(name, shape, n // 2, rounds, Path(tmp)))
            for row, us in figures.items():
                rows.setdefault(row, {})[name] = us
    print("| µs per operation | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for row, by_shape in rows.items():
        print(f"| {row} | " + " | ".join(f"{by_shape[c]:,.0f}" for c in columns) + " |")


if __name__ == "__main__":
    main()
