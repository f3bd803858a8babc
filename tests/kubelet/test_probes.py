"""kubelet/probes.py: a probe's port is resolved against its container, as ResolveContainerPort."""

from __future__ import annotations

from typing import Any

import pytest

from kubelet.probes import ProbeSpec, run_probe
from kubelet.runtime.simulated import SimulatedRuntime

CONTAINER: dict[str, Any] = {"name": "web", "ports": [{"name": "http", "containerPort": 8080}]}


@pytest.mark.parametrize(
    ("probe", "resolved"),
    [
        ({"httpGet": {"path": "/healthz", "port": "http"}}, {"httpGet": {"path": "/healthz", "port": 8080}}),
        ({"tcpSocket": {"port": "http"}}, {"tcpSocket": {"port": 8080}}),
        ({"httpGet": {"port": "9090"}}, {"httpGet": {"port": 9090}}),
        ({"tcpSocket": {"port": 81}}, {"tcpSocket": {"port": 81}}),
        ({"exec": {"command": ["true"]}}, {"exec": {"command": ["true"]}}),
    ],
    ids=["http-named", "tcp-named", "numeric-string", "int", "exec"],
)
def test_named_and_numeric_ports_resolve(probe: dict[str, Any], resolved: dict[str, Any]) -> None:
    spec = ProbeSpec.from_probe({**probe, "periodSeconds": 2}, CONTAINER)
    assert spec.handler == {**resolved, "periodSeconds": 2} and spec.error == "" and spec.period == 2


async def test_an_unknown_port_name_fails_every_try_with_upstreams_message() -> None:
    spec = ProbeSpec.from_probe({"tcpSocket": {"port": "metrics"}}, CONTAINER)
    assert await run_probe(SimulatedRuntime("n1"), "any", spec, "10.0.0.1", real_network=False) == (
        False,
        "couldn't find port: metrics in web",
    )
