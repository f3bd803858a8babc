"""Controllers at scale: a 1,000-replica Deployment from ``kubectl create`` to Available.

Run: ``.venv/bin/python -m bench.controllers [--replicas 1000] [--nodes 10] [--quick]``

Measured against the real API server process (``start_server``, as the e2e tests
start it, embedded store), with every controller running in this process (the
:class:`~controllers.manager.Manager`, as ``python -m controllers`` runs it, so its
reconcile counters can be read) and simulated nodes in another process
(``tests/controllers/fake_kubelet.py``: it binds each pod to a node and marks it
Running and Ready through ``pods/status``, as a kubelet would). The clock starts when
``kubectl create deployment --replicas=N`` is run and reports:

* the time until N pods exist, and until the Deployment is Available with N
  available replicas (what ``kubectl rollout status`` waits for);
* per controller: reconciles, failures (mostly 409 conflicts, retried), and keys/s
  over the window.

Not a test: numbers go to docs/controllers.md. ``--quick`` (300 replicas) stays well
under a minute. Anchor from the issue: KWOK's CI brings 10,000 pods to Running in
<= 60 s; target here: 1,000 replicas available in <= 15 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from client.rest import RESTClient
from controllers.base import DEPLOYMENTS, PODS
from controllers.manager import Manager
from tests.apiserver.e2e.conftest import ROOT, Server, start_server, stop_server


def start_kubelet(server: Server, nodes: int, tmp: Path) -> subprocess.Popen[bytes]:
    log = open(tmp / "kubelet.log", "wb")
    node_names = ",".join(f"node{i}" for i in range(nodes))
    cmd = [sys.executable, "-m", "tests.controllers.fake_kubelet", "--kubeconfig", str(server.kubeconfig)]
    return subprocess.Popen([*cmd, "--nodes", node_names], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


async def run(
    server: Server, replicas: int, kubelet: subprocess.Popen[bytes], controllers: str = "*"
) -> dict[str, Any]:
    try:
        async with RESTClient.from_kubeconfig(server.kubeconfig, user_agent="bench-controllers") as rest:
            manager = Manager(rest, controllers.split(","))
            task = asyncio.create_task(manager.run_controllers())
            pods, deployments = manager.informer(PODS), manager.informer(DEPLOYMENTS)
            await asyncio.sleep(2.0)  # caches synced, the kubelet registered its nodes
            before = {n: dict(r.totals) for n, r in manager.runners.items()}
            start = time.monotonic()
            await asyncio.to_thread(
                server.kubectl, "create", "deployment", "big", "--image=nginx", f"--replicas={replicas}"
            )
            t_exist = t_available = None
            while time.monotonic() - start < 300:
                if t_exist is None and len(pods.indexer.by_index("namespace", "default")) >= replicas:
                    t_exist = time.monotonic() - start
                d = deployments.indexer.get("default/big") or {}
                status = d.get("status") or {}
                available = any(
                    c.get("type") == "Available" and c.get("status") == "True"
                    for c in status.get("conditions") or []
                )
                if (
                    available
                    and status.get("availableReplicas") == replicas
                    and status.get("updatedReplicas") == replicas
                ):
                    t_available = time.monotonic() - start
                    break
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - start
            per_controller = {}
            for name, runner in manager.runners.items():
                done = {k: runner.totals[k] - before[name].get(k, 0) for k in runner.totals}
                total = sum(done.values())
                if total:
                    per_controller[name] = (total, done["error"], total / elapsed)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return {
                "exist": t_exist,
                "available": t_available,
                "elapsed": elapsed,
                "controllers": per_controller,
            }
    finally:
        kubelet.terminate()
        kubelet.wait(10)


def report(replicas: int, nodes: int, r: dict[str, Any]) -> str:
    def s(v: float | None) -> str:
        return f"{v:.1f} s" if v is not None else "not reached"

    lines = [
        f"Deployment of {replicas} replicas on {nodes} simulated nodes (embedded store):",
        "",
        "| measure | time |",
        "|---|---|",
        f"| `kubectl create deployment` → {replicas} pods exist | {s(r['exist'])} |",
        f"| → Deployment Available, {replicas}/{replicas} available | {s(r['available'])} |",
        "",
        f"| controller | reconciles | failed (retried) | keys/s over {r['elapsed']:.1f} s |",
        "|---|---|---|---|",
    ]
    for name, (total, errors, rate) in sorted(r["controllers"].items(), key=lambda kv: -kv[1][0]):
        lines.append(f"| {name} | {total} | {errors} | {rate:.0f} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicas", type=int, default=1000)
    p.add_argument("--nodes", type=int, default=10)
    p.add_argument("--controllers", default="*", help="as python -m controllers --controllers")
    p.add_argument("--quick", action="store_true", help="300 replicas: a smoke run well under a minute")
    a = p.parse_args()
    replicas = 300 if a.quick else a.replicas
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="bench-controllers-") as d:
        tmp = Path(d)
        (tmp / "server").mkdir()
        server = start_server(tmp / "server", "sqlite")
        try:
            result = asyncio.run(run(server, replicas, start_kubelet(server, a.nodes, tmp), a.controllers))
        finally:
            stop_server(server)
    print(report(replicas, a.nodes, result))


if __name__ == "__main__":
    main()
