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

Beside each figure, the API server's own ceiling in the same run, before the
scheduler starts: CEILING pods created by the same 16 clients (creates/s), then bound
by them directly with ``POST pods/{name}/binding`` (bindings/s), no scheduler involved.
Every scheduled pod costs the server one create and one binding, so
``1 / (1/creates + 1/bindings)`` is the most any scheduler could reach on this server
and machine (the ``API ceiling`` column). Those pods live in namespace ``ceiling``
with ``schedulerName: none``; they stay bound (100m each) while the scheduler runs.

The sizes: ``--quick`` runs 100 nodes x 300 pods and 1,000 x 500 (ceiling from 200
pods) in under a minute; the default runs 100 x 10,000, 1,000 x 10,000 and 5,000 x
5,000: the 5,000-node row uses 5,000 pods, not the anchor's 10,000, because creating
5,000 nodes (a create and a status patch each) already takes minutes here.

Last, the scheduling cycle alone (``cycle_only``): the same nodes and pods scheduled
in this process on a Cache, no API server, no HTTP: what the scheduler could do if
the server and the wire cost nothing.

This is a benchmark, not a test: nothing asserts.

Mirrors: test/integration/scheduler_perf (SchedulingBasic) in kubernetes/kubernetes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.rest import NAMESPACES, NODES, PODS, PatchType, RESTClient
from scheduler.algorithm import Algorithm
from scheduler.cache import Cache
from scheduler.framework import CycleState
from scheduler.profile import default_profile
from tests.apiserver.e2e.conftest import ROOT, start_server, stop_server

from ._common import quantiles_ms

NAMESPACE = "default"
CEILING_NAMESPACE = "ceiling"
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


def pod(i: int, namespace: str = NAMESPACE, scheduler_name: str = "default-scheduler") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"pod-{i:05}", "namespace": namespace, "labels": {"app": "bench"}},
        "spec": {
            "schedulerName": scheduler_name,
            "containers": [
                {
                    "name": "c",
                    "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
                }
            ],
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


async def ceiling(rest: RESTClient, n_pods: int, n_nodes: int) -> tuple[float, float]:
    """The API server alone: creates/s, then bindings/s, from 16 clients, no scheduler."""
    await rest.create(
        NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": CEILING_NAMESPACE}}
    )

    async def create(i: int) -> None:
        await rest.create(PODS, pod(i, CEILING_NAMESPACE, "none"), namespace=CEILING_NAMESPACE)

    async def bind(i: int) -> None:
        name = f"pod-{i:05}"
        binding = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": CEILING_NAMESPACE},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node(i % n_nodes)["metadata"]["name"]},
        }
        await rest.create(PODS, binding, namespace=CEILING_NAMESPACE, name=name, subresource="binding")

    t = time.monotonic()
    await in_parallel(n_pods, create)
    creates = n_pods / (time.monotonic() - t)
    t = time.monotonic()
    await in_parallel(n_pods, bind)
    bindings = n_pods / (time.monotonic() - t)
    return creates, bindings


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


SCHEDULER_ARGS: list[str] = []


def start_scheduler(kubeconfig: Path, tmp: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "scheduler", "--kubeconfig", str(kubeconfig), "--leader-elect=false"]
    cmd += SCHEDULER_ARGS
    return subprocess.Popen(cmd, cwd=ROOT, stdout=open(tmp / "scheduler.log", "wb"), stderr=subprocess.STDOUT)


@dataclass
class Row:
    nodes: int
    pods: int
    rate: float
    p50: float
    p99: float
    creates: float
    bindings: float
    load: float
    dropped_events: int
    #: CPU milliseconds per pod while the pods were created and scheduled
    scheduler_cpu: float
    apiserver_cpu: float

    @property
    def api_ceiling(self) -> float:
        return 1 / (1 / self.creates + 1 / self.bindings)

    def markdown(self) -> str:
        return (
            f"| {self.nodes:,} | {self.pods:,} | {self.rate:,.0f} | {self.p50:,.0f} ms | {self.p99:,.0f} ms "
            f"| {self.creates:,.0f} / {self.bindings:,.0f} | {self.api_ceiling:,.0f} | {self.load:.1f} "
            f"| {self.scheduler_cpu:.1f} / {self.apiserver_cpu:.1f} ms | {self.dropped_events:,} |"
        )


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (``/proc/PID/stat``; 0 where there is none)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def dropped_events(log: Path) -> int:
    """The scheduler's own count of ``Scheduled`` events dropped under pressure (events.py)."""
    matches = re.findall(r"dropped \d+ events \((\d+) in total\)", log.read_text(errors="replace"))
    return int(matches[-1]) if matches else 0


async def run_size(n_nodes: int, n_pods: int, n_ceiling: int) -> Row:
    tmp = Path(tempfile.mkdtemp(prefix="bench-scheduler-"))
    server = start_server(tmp, "sqlite")
    scheduler: subprocess.Popen[bytes] | None = None
    try:
        async with RESTClient.from_kubeconfig(server.kubeconfig) as rest:
            t = time.monotonic()
            await create_nodes(rest, n_nodes)
            print(f"  {n_nodes} nodes in {time.monotonic() - t:.1f}s", file=sys.stderr)
            creates, bindings = await ceiling(rest, n_ceiling, n_nodes)
            print(f"  API server alone: {creates:.0f} creates/s, {bindings:.0f} bindings/s", file=sys.stderr)
            scheduler = start_scheduler(server.kubeconfig, tmp)
            await asyncio.sleep(2.0)  # list + watch of the nodes
            cpu_start = cpu_seconds(scheduler.pid), cpu_seconds(server.process.pid)
            rate, p50, p99 = await measure(rest, n_pods)
            sched_cpu = (cpu_seconds(scheduler.pid) - cpu_start[0]) * 1000 / n_pods
            api_cpu = (cpu_seconds(server.process.pid) - cpu_start[1]) * 1000 / n_pods
            load = os.getloadavg()[0]
    finally:
        if scheduler is not None:
            scheduler.terminate()
            scheduler.wait(10)
        stop_server(server)
    dropped = dropped_events(tmp / "scheduler.log")
    shutil.rmtree(tmp, ignore_errors=True)
    return Row(n_nodes, n_pods, rate, p50, p99, creates, bindings, load, dropped, sched_cpu, api_cpu)


def cycle_only(n_nodes: int, n_pods: int) -> float:
    """Pods/s of the scheduling cycle alone, in this process: no API server, no HTTP.

    The same nodes and pods as the end-to-end run, scheduled and assumed one after the
    other on a Cache (filter, score, select, assume): the scheduler's own ceiling.
    """
    cache = Cache()
    for i in range(n_nodes):
        cache.add_node({**node(i), **NODE_STATUS})
    algorithm = Algorithm(default_profile())
    pods = [pod(i) for i in range(n_pods)]
    t = time.perf_counter()
    for p in pods:
        result = algorithm.schedule(CycleState(cache), p, cache.node_infos())
        if result.node is not None:
            cache.assume_pod(p, result.node)
    return n_pods / (time.perf_counter() - t)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.scheduler")
    p.add_argument("--quick", action="store_true", help="100x300 and 1000x500 only (under a minute)")
    p.add_argument("--sizes", default="", help="comma-separated NODESxPODS, e.g. 100x1000,5000x10000")
    p.add_argument(
        "--ceiling-pods",
        type=int,
        default=0,
        help="pods for the API server ceiling (default 500; --quick 200)",
    )
    p.add_argument("--scheduler-args", default="", help="extra flags for python -m scheduler, e.g. --verbose")
    args = p.parse_args()
    SCHEDULER_ARGS.extend(args.scheduler_args.split())
    if args.sizes:
        sizes = [(int(a), int(b)) for a, b in (s.split("x") for s in args.sizes.split(","))]
    elif args.quick:
        sizes = [(100, 300), (1000, 500)]
    else:
        sizes = [(100, 10_000), (1000, 10_000), (5000, 5_000)]
    n_ceiling = args.ceiling_pods or (200 if args.quick else 500)
    started = time.monotonic()
    rows = []
    for n_nodes, n_pods in sizes:
        print(f"{n_nodes} nodes, {n_pods} pods ...", file=sys.stderr)
        rows.append(asyncio.run(run_size(n_nodes, n_pods, n_ceiling)).markdown())
    print(
        "| nodes | pods | pods/s (created → bound) | p50 latency | p99 latency "
        "| API server alone: creates/s / bindings/s | API ceiling (pods/s) | load avg (1 min) "
        "| CPU per pod: scheduler / API server | Scheduled events dropped |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    cycle_pods = 1000 if args.quick else 3000
    print(f"\nScheduling cycle alone (in process, no API server), {cycle_pods:,} pods:\n")
    print("| nodes | pods/s | ms per pod |")
    print("|---|---|---|")
    for n_nodes in sorted({n for n, _ in sizes}):
        rate = cycle_only(n_nodes, cycle_pods)
        print(f"| {n_nodes:,} | {rate:,.0f} | {1000 / rate:.2f} |")
    print(f"\n({time.monotonic() - started:.0f} s in all; API server ceiling from {n_ceiling} pods per size)")
    print(
        "\nAnchor: kube-scheduler scheduler_perf SchedulingBasic, 5,000 nodes / 10,000 pods: >= 680 pods/s. Target here: >= 300 pods/s."
    )


if __name__ == "__main__":
    main()
