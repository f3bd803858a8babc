"""A kubelet running in a thread of the test process, against a real API server.

The tests drive the cluster with blocking ``kubectl`` calls, so the kubelet gets its
own event loop in a thread. Keeping it in-process lets a test *restart* the kubelet
while the (simulated or containerd) runtime keeps its containers, as a real node does.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from client.rest import RESTClient
from kubelet.kubelet import Kubelet, KubeletConfig
from kubelet.node import NodeConfig
from kubelet.runtime import interface as rt

T = TypeVar("T")


class KubeletThread:
    def __init__(
        self,
        kubeconfig: Path,
        node_name: str,
        root_dir: Path,
        make_runtime: Callable[[], Any],
        prefix: str,
        *,
        host_ip: str = "192.0.2.10",
        pod_cidr: str = "10.244.0.0/24",
        backoff: tuple[float, float] = (1.0, 4.0),
        lease_renew: float = 1.0,
        real_network: bool = False,
    ) -> None:
        self.kubeconfig, self.node_name, self.root_dir, self.prefix = kubeconfig, node_name, root_dir, prefix
        self.host_ip, self.pod_cidr, self.backoff = host_ip, pod_cidr, backoff
        self.lease_renew, self.real_network = lease_renew, real_network
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name=f"kubelet {node_name}")
        self.thread.start()
        self.runtime: Any = self.call(self._make(make_runtime))
        self.kubelet: Kubelet | None = None
        self.rest: RESTClient | None = None

    @staticmethod
    async def _make(factory: Callable[[], T]) -> T:
        return factory()

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        async def go() -> None:
            self.rest = RESTClient.from_kubeconfig(self.kubeconfig)
            node = NodeConfig(
                self.node_name, self.host_ip, self.pod_cidr, {"cpu": "4", "memory": "8Gi", "pods": "110"},
                simulated=self.prefix == "simulated", lease_renew=self.lease_renew,
            )  # fmt: skip
            config = KubeletConfig(
                node, self.root_dir, sync_period=0.5, backoff_initial=self.backoff[0], backoff_max=self.backoff[1],
                real_network=self.real_network, manage_cgroups=self.prefix == "containerd",
            )  # fmt: skip
            runtime: rt.RuntimeService = self.runtime
            self.kubelet = Kubelet(self.rest, config, runtime, self.runtime, self.prefix)
            await self.kubelet.start()

        self.call(go())

    def stop(self) -> None:
        async def go() -> None:
            if self.kubelet is not None:
                await self.kubelet.stop()
            if self.rest is not None:
                await self.rest.aclose()

        self.call(go())
        self.kubelet = None

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def wait_for(what: str, check: Callable[[], T | None], timeout: float = 30, interval: float = 0.2) -> T:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except (
            subprocess.CalledProcessError,
            AssertionError,
            KeyError,
            IndexError,
            json.JSONDecodeError,
        ) as err:
            last = err
        else:
            if last:
                return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")
