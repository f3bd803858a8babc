"""Scheduler throughput, end to end: pod created through the API → pod bound, seen on a watch.

Run: ``.venv/bin/python -m bench.scheduler [--quick] [--sizes 100x1000,1000x10000,...]``

Each size ``NODESxPODS`` starts a fresh API server (``python -m apiserver`` on the
embedded store, TLS, as the e2e tests start it), creates NODES simulated nodes through
the API (a Node, then its status: 32 cpu, 256Gi, 110 pods, as a kubelet would
report), starts ``python -m scheduler --leader-elect=false`` as its own process, and
then, from this process, creates PODS pods (100m cpu, 128Mi each) with 16 concurrent
clients while a watch records when each pod's ``spec.nodeName`` appears.

Reported per size: pods/s (PODS / (last bound - first created)) and the p50/p99 of
(bound seen - create sent) per pod. All three processes (API server, scheduler, this
client) share the machine's cores, as in a single-node cluster; the anchor is
kube-scheduler's scheduler_perf SchedulingBasic (5,000 nodes, 10,000 pods): at least
680 pods/s on upstream CI machines. Target here: 300 pods/s.

This is a benchmark, not a test: nothing asserts. ``--quick`` keeps it under a minute.

Mirrors: test/integration/scheduler_perf (SchedulingBasic) in kubernetes/kubernetes.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from client.rest import NODES, PODS, PatchType, RESTClient
from tests.apiserver.e2e.conftest import ROOT, start_server, stop_server

from ._common import quantiles_ms

NAMESPACE = "default"
CLIENTS = 16


def node(i: int) -> dict[str, Any]:
    name = f"node-{i:05}"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": f"z{i % 3}"},
        },
    }


NODE_STATUS = {
    "status": {
        "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
        "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
    }
}


def pod(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pod-{i:05}", "namespace": NAMESPACE, "labels": {"app": "bench"}},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                }
            ]
        },
    }


async def in_parallel(n: int, op: Any) -> None:
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await op(i)

    await asyncio.gather(*(worker() for _ in range(CLIENTS)))


async def create_nodes(rest: RESTClient, n: int) -> None:
    async def one(i: int) -> None:
        body = node(i)
        await rest.create(NODES, body)
        await rest.patch(
            NODES, body["metadata"]["name"], NODE_STATUS, patch_type=PatchType.MERGE, subresource="status"
        )

    await in_parallel(n, one)


async def measure(rest: RESTClient, n_pods: int) -> tuple[float, float, float]:
    created: dict[str, float] = {}
    bound: dict[str, float] = {}
    all_bound = asyncio.Event()
    listing = await rest.list(PODS, namespace=NAMESPACE, limit=1)
    rv = listing["metadata"]["resourceVersion"]

    async def watch() -> None:
        async with rest.watch(PODS, namespace=NAMESPACE, resource_version=rv, timeout_seconds=3600) as events:
            async for event in events:
                obj = event["object"]
                name = obj.get("metadata", {}).get("name", "")
                if obj.get("spec", {}).get("nodeName") and name not in bound:
                    bound[name] = time.monotonic()
                    if len(bound) >= n_pods:
                        all_bound.set()
                        return

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.2)

    async def one(i: int) -> None:
        body = pod(i)
        created[body["metadata"]["name"]] = time.monotonic()
        await rest.create(PODS, body, namespace=NAMESPACE)

    start = time.monotonic()
    await in_parallel(n_pods, one)
    create_done = time.monotonic()
    try:
        await asyncio.wait_for(all_bound.wait(), timeout=max(120, n_pods / 20))
    except TimeoutError:
        print(f"  only {len(bound)}/{n_pods} pods bound before the timeout", file=sys.stderr)
    watcher.cancel()
    end = max(bound.values(), default=time.monotonic())
    latencies = [bound[k] - created[k] for k in bound if k in created]
    p50, p99 = quantiles_ms(latencies)
    print(
        f"  created {n_pods} pods in {create_done - start:.1f}s ({n_pods / (create_done - start):.0f}/s)",
        file=sys.stderr,
    )
    return len(bound) / (end - start), p50, p99


def start_scheduler(kubeconfig: Path, tmp: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "scheduler", "--kubeconfig", str(kubeconfig), "--leader-elect=false"]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=open(tmp / "scheduler.log", "wb"), stderr=subprocess.STDOUT)


async def run_size(n_nodes: int, n_pods: int) -> tuple[float, float, float]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-scheduler-"))
    server = start_server(tmp, "sqlite")
    scheduler: subprocess.Popen[bytes] | None = None
    try:
        async with RESTClient.from_kubeconfig(server.kubeconfig) as rest:
            t = time.monotonic()
            await create_nodes(rest, n_nodes)
            print(f"  {n_nodes} nodes in {time.monotonic() - t:.1f}s", file=sys.stderr)
            scheduler = start_scheduler(server.kubeconfig, tmp)
            await asyncio.sleep(2.0)  # list + watch of the nodes
            return await measure(rest, n_pods)
    finally:
        if scheduler is not None:
            scheduler.terminate()
            scheduler.wait(10)
        stop_server(server)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.scheduler")
    p.add_argument("--quick", action="store_true", help="100x500 and 1000x1000 only (under a minute)")
    p.add_argument("--sizes", default="", help="comma-separated NODESxPODS, e.g. 100x1000,5000x10000")
    args = p.parse_args()
    if args.sizes:
        sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
    elif args.quick:
        sizes = [(100, 500), (1000, 1000)]
    else:
        sizes = [(100, 10_000), (1000, 10_000), (5000, 10_000)]
    rows = []
    for n_nodes, n_pods in sizes:
        print(f"{n_nodes} nodes, {n_pods} pods ...", file=sys.stderr)
        rate, p50, p99 = asyncio.run(run_size(n_nodes, n_pods))
        rows.append(f"| {n_nodes:,} | {n_pods:,} | {rate:,.0f} | {p50:,.0f} ms | {p99:,.0f} ms |")
    print("| nodes | pods | pods/s (created → bound) | p50 latency | p99 latency |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    print(
        "\nAnchor: kube-scheduler scheduler_perf SchedulingBasic, 5,000 nodes / 10,000 pods: >= 680 pods/s. Target here: >= 300 pods/s."
    )


if __name__ == "__main__":
    main()
