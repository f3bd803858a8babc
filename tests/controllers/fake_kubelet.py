"""A fake kubelet for controller tests and the benchmark: simulated nodes, no containers.

``python -m tests.controllers.fake_kubelet --kubeconfig K --nodes n1,n2``

* registers each node (a Node object whose ``Ready`` condition is True) and keeps its
  Lease in ``kube-node-lease`` renewed every ``--lease-renew`` seconds, as a kubelet's
  heartbeat does (stop the process and the leases expire: node lifecycle tests);
* plays the scheduler too when there is none: an unbound pod is bound round-robin
  to one of its nodes through ``pods/binding``;
* marks every pod bound to its nodes ``Running`` with ``Ready=True`` through
  ``pods/status`` (``--fail-image X``: containers with image X exit 1 instead, so the
  pod is ``Failed``; ``--succeed-image X``: exit 0, ``Succeeded``, for Jobs;
  ``--pending-image X``: the pod stays ``Pending``, as if the pull never finished;
  an image tagged ``exit-N``, e.g. ``busybox:exit-42``: that container terminates
  with exit code N, the others with 0, and the pod is ``Failed`` if any N is not 0:
  what a Job's ``podFailurePolicy`` ``onExitCodes`` rules look at); an image tagged
  ``fail-index-N``, e.g. ``busybox:fail-index-1``: the pod of an Indexed Job whose
  completion index is N fails (exit 1), the others succeed (``backoffLimitPerIndex``);
* finishes graceful deletion: a pod with a ``deletionTimestamp`` is deleted with
  grace period 0, as a kubelet does once its containers are stopped;
* ``--not-ready-file F``: at each heartbeat the lease is still renewed, but while file F
  exists the nodes report ``Ready=False`` (reason ``KubeletNotReady``), and ``Ready=True``
  again once it is gone, compared with what the API server holds (as a kubelet's
  ``tryUpdateNodeStatus`` does): a live kubelet on a sick node (node lifecycle tests);
* ``--no-bind``: leave unbound pods to the scheduler or to other fake kubelets.

It reacts to a pod informer (no polling), with a few concurrent workers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import logging
import os
import re
from typing import Any

from apimachinery import errors
from apimachinery.meta import now, now_micro, object_key
from client.cache import final_state
from client.informer import SharedInformer
from client.rest import GVR, RESTClient

PODS = GVR("", "v1", "pods")
NODES = GVR("", "v1", "nodes")
LEASES = GVR("coordination.k8s.io", "v1", "leases")
log = logging.getLogger("fake-kubelet")


def node_object(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "type": "fake"}},
        "spec": {},
    }


def ready_condition(ready: bool) -> dict[str, Any]:
    t = now()
    if ready:
        return {
            "type": "Ready",
            "status": "True",
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
            "lastHeartbeatTime": t,
            "lastTransitionTime": t,
        }
    return {
        "type": "Ready",
        "status": "False",
        "reason": "KubeletNotReady",
        "message": "container runtime is down",
        "lastHeartbeatTime": t,
        "lastTransitionTime": t,
    }


def node_status() -> dict[str, Any]:
    info = dict.fromkeys(
        [
            "architecture",
            "bootID",
            "containerRuntimeVersion",
            "kernelVersion",
            "kubeProxyVersion",
            "machineID",
            "operatingSystem",
            "osImage",
            "systemUUID",
        ],
        "",
    )
    info["kubeletVersion"] = "v1.32.0-fake"
    return {
        "conditions": [ready_condition(True)],
        "capacity": {"cpu": "1000", "memory": "1000Gi", "pods": "10000"},
        "allocatable": {"cpu": "1000", "memory": "1000Gi", "pods": "10000"},
        "nodeInfo": info,
        "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
    }


def file_exists(path: str) -> bool:
    """A stat on a local file: too quick to be worth a thread."""
    return os.path.exists(path)


def image_exit_code(image: str) -> int | None:
    """``busybox:exit-42`` → 42: the exit code an image asks the fake kubelet for."""
    m = re.search(r":exit-(\d+)$", image)
    return int(m.group(1)) if m else None


def image_failing_index(image: str) -> str | None:
    """``busybox:fail-index-1`` → "1": the completion index whose pods an image fails."""
    m = re.search(r":fail-index-(\d+)$", image)
    return m.group(1) if m else None


def pod_status(
    pod: dict[str, Any], phase: str, exit_code: int | None, exit_codes: dict[str, int] | None = None
) -> dict[str, Any]:
    t = now()
    ready = "True" if phase == "Running" else "False"
    statuses = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        state: dict[str, Any] = {"running": {"startedAt": t}}
        if exit_codes is not None:
            exit_code = exit_codes.get(c["name"], 0)
        if exit_code is not None:
            reason = "Completed" if exit_code == 0 else "Error"
            state = {"terminated": {"exitCode": exit_code, "reason": reason, "startedAt": t, "finishedAt": t}}
        statuses.append(
            {
                "name": c["name"],
                "image": c.get("image", ""),
                "imageID": "",
                "ready": ready == "True",
                "restartCount": 0,
                "started": exit_code is None,
                "state": state,
            }
        )
    return {
        "phase": phase,
        "hostIP": "10.0.0.1",
        "podIP": "10.244.0.1",
        "startTime": t,
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": t},
            {"type": "Initialized", "status": "True", "lastTransitionTime": t},
            {"type": "ContainersReady", "status": ready, "lastTransitionTime": t},
            {"type": "Ready", "status": ready, "lastTransitionTime": t},
        ],
        "containerStatuses": statuses,
    }


def required_node(pod: dict[str, Any]) -> str:
    """The node a pod's required node affinity names by ``metadata.name`` (DaemonSet pods)."""
    affinity = ((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}
    required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    for term in required.get("nodeSelectorTerms") or []:
        for f in term.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("operator") == "In" and f.get("values"):
                return str(f["values"][0])
    return ""


class FakeKubelet:
    def __init__(
        self,
        rest: RESTClient,
        nodes: list[str],
        *,
        lease_renew: float = 10.0,
        fail_image: str = "",
        succeed_image: str = "",
        pending_image: str = "",
        workers: int = 16,
        bind: bool = True,
        not_ready_file: str = "",
    ) -> None:
        self.rest = rest
        self.nodes = nodes
        self.lease_renew = lease_renew
        self.fail_image = fail_image
        self.succeed_image = succeed_image
        self.pending_image = pending_image
        self.workers = workers
        self.bind = bind
        self.not_ready_file = not_ready_file
        self._next_node = itertools.cycle(nodes)
        self.pods = SharedInformer.for_resource(rest, PODS)
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()

    def _enqueue(self, obj: Any) -> None:
        key = object_key(final_state(obj))
        if key not in self._queued:
            self._queued.add(key)
            self.queue.put_nowait(key)

    async def register(self) -> None:
        for name in self.nodes:
            try:
                await self.rest.create(NODES, node_object(name))
            except errors.StatusError as err:
                if not errors.is_already_exists(err):
                    raise
            await self.rest.patch(NODES, name, {"status": node_status()}, subresource="status")
            await self._renew(name)

    async def _renew(self, name: str) -> None:
        spec = {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": now_micro()}
        try:
            await self.rest.patch(LEASES, name, {"spec": spec}, namespace="kube-node-lease")
        except errors.StatusError as err:
            if not errors.is_not_found(err):
                raise
            lease = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": name},
                "spec": spec,
            }
            await self.rest.create(LEASES, lease, namespace="kube-node-lease")

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_renew)
            for name in self.nodes:
                try:
                    await self._renew(name)
                    if self.not_ready_file:
                        await self._report_ready(name, not file_exists(self.not_ready_file))
                except Exception:
                    log.exception("lease renew %s", name)

    async def _report_ready(self, name: str, ready: bool) -> None:
        """PATCH the Ready condition when the API server's differs from ours."""
        node = await self.rest.get(NODES, name)
        current = next(
            (c for c in (node.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {}
        )
        if current.get("status") != ("True" if ready else "False"):
            patch = {"status": {"conditions": [ready_condition(ready)]}}
            await self.rest.patch(NODES, name, patch, subresource="status")

    async def _work(self) -> None:
        while True:
            key = await self.queue.get()
            self._queued.discard(key)
            pod = self.pods.indexer.get(key)
            if pod is None:
                continue
            try:
                await self._sync(pod)
            except errors.StatusError as err:
                if not (errors.is_not_found(err) or errors.is_conflict(err)):
                    log.warning("%s: %s", key, err)
            except Exception:
                log.exception("%s", key)

    async def _sync(self, pod: dict[str, Any]) -> None:
        meta, spec, status = pod["metadata"], pod.get("spec") or {}, pod.get("status") or {}
        ns, name = meta.get("namespace", ""), meta["name"]
        node = spec.get("nodeName", "")
        if meta.get("deletionTimestamp"):
            if not node or node in self.nodes:
                await self.rest.delete(PODS, name, namespace=ns, grace_period_seconds=0)
            return
        if not node:
            wanted = required_node(pod)
            if wanted and wanted not in self.nodes:
                return  # a DaemonSet pod for another kubelet's node
            if self.bind and not spec.get("schedulerName", "default-scheduler").startswith("none"):
                target = wanted or next(self._next_node)
                binding = {
                    "apiVersion": "v1",
                    "kind": "Binding",
                    "metadata": {"name": name},
                    "target": {"kind": "Node", "name": target},
                }
                await self.rest.create(PODS, binding, namespace=ns, name=name, subresource="binding")
            return
        if node not in self.nodes or status.get("phase") in ("Running", "Succeeded", "Failed"):
            return
        images = {c.get("image", "") for c in spec.get("containers") or []}
        if self.pending_image and self.pending_image in images:
            return  # an image that never finishes pulling: the pod stays Pending
        codes = {
            c["name"]: code
            for c in spec.get("containers") or []
            if (code := image_exit_code(c.get("image", ""))) is not None
        }
        failing = {i for c in spec.get("containers") or [] if (i := image_failing_index(c.get("image", "")))}
        if failing:
            index = (pod["metadata"].get("labels") or {}).get("batch.kubernetes.io/job-completion-index")
            codes = {c["name"]: 1 if index in failing else 0 for c in spec.get("containers") or []}
        if codes:
            phase = "Failed" if any(codes.values()) else "Succeeded"
            new = pod_status(pod, phase, None, codes)
        elif self.fail_image and self.fail_image in images:
            new = pod_status(pod, "Failed", 1)
        elif self.succeed_image and self.succeed_image in images:
            new = pod_status(pod, "Succeeded", 0)
        else:
            new = pod_status(pod, "Running", None)
        await self.rest.patch(PODS, name, {"status": new}, namespace=ns, subresource="status")

    async def run(self) -> None:
        await self.register()
        self.pods.add_event_handler(self._enqueue, lambda _old, new: self._enqueue(new), None)
        tasks = [asyncio.create_task(self.pods.run()), asyncio.create_task(self._heartbeat())]
        tasks += [asyncio.create_task(self._work()) for _ in range(self.workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def main(args: argparse.Namespace) -> None:
    async with RESTClient.from_kubeconfig(args.kubeconfig, user_agent="fake-kubelet") as rest:
        kubelet = FakeKubelet(
            rest,
            args.nodes.split(","),
            lease_renew=args.lease_renew,
            fail_image=args.fail_image,
            succeed_image=args.succeed_image,
            pending_image=args.pending_image,
            bind=not args.no_bind,
            not_ready_file=args.not_ready_file,
        )
        await kubelet.run()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--nodes", default="node1")
    p.add_argument("--lease-renew", type=float, default=10.0)
    p.add_argument("--fail-image", default="")
    p.add_argument("--succeed-image", default="")
    p.add_argument("--pending-image", default="")
    p.add_argument("--not-ready-file", default="")
    p.add_argument("--no-bind", action="store_true")
    logging.basicConfig(level=logging.INFO)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main(p.parse_args()))
