"""Helpers shared by the benchmarks: test objects, percentiles, timing, the results table.

Every benchmark prints a markdown table of the same shape, ``operation | backend |
ours | raw engine | ratio``, so docs/benchmarks.md can take it as printed.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

#: Concurrent writers/readers for throughput measures (the issue's "8 concurrent writers").
CONCURRENCY = 8
#: Namespace every benchmark object lives in.
NAMESPACE = "bench"
PODS = "/registry/pods/"


def pod(i: int, gen: int = 0) -> dict[str, Any]:
    """A pod of about 1 KiB of JSON, as a small real pod is; odd ``i`` are labelled app=web."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"p{i}",
            "namespace": NAMESPACE,
            "uid": f"00000000-0000-4000-8000-{i:012d}",
            "labels": {"app": "web" if i % 2 else "db", "tier": "bench"},
            "annotations": {"bench/padding": "x" * 400},
        },
        "spec": {
            "containers": [{"name": "c", "image": "nginx:1.27", "resources": {"requests": {"cpu": "10m"}}}],
            "nodeName": "n1",
            "restartPolicy": "Always",
        },
        "status": {"phase": "Running", "observedGeneration": gen},
    }


def pod_key(i: int) -> str:
    return f"{PODS}{NAMESPACE}/p{i}"


def quantiles_ms(samples: Iterable[float]) -> tuple[float, float]:
    """(p50, p99) of samples in seconds, in milliseconds."""
    ordered = sorted(samples)
    if len(ordered) < 2:
        only = ordered[0] * 1e3 if ordered else float("nan")
        return only, only
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return q[49] * 1e3, q[98] * 1e3


async def rate(n: int, workers: int, op: Callable[[int], Awaitable[object]]) -> float:
    """Operations/s of ``op(0..n-1)`` run by ``workers`` tasks, each taking the next index."""
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await op(i)

    t = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return n / (time.perf_counter() - t)


async def rate_per_writer(n: int, workers: int, op: Callable[[int], Awaitable[object]]) -> float:
    """Operations/s of ``workers`` tasks each running ``op(its_number)`` ``n // workers`` times."""

    async def worker(w: int) -> None:
        for _ in range(n // workers):
            await op(w)

    t = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(workers)))
    return n // workers * workers / (time.perf_counter() - t)


@dataclass
class Row:
    """One line of a results table. ``higher_is_better`` is False for latencies."""

    operation: str
    backend: str
    ours: float
    raw: float | None
    unit: str
    higher_is_better: bool = True

    @property
    def ratio(self) -> float | None:
        """Ours as a fraction of the ceiling (for latencies: ceiling / ours), 1.0 = as fast."""
        if self.raw is None or not self.raw or not self.ours:
            return None
        return self.ours / self.raw if self.higher_is_better else self.raw / self.ours


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return "n/a"
    return f"{v:,.0f} {unit}" if v >= 100 else f"{v:.2f} {unit}"


def table(rows: list[Row], headers: tuple[str, str, str, str, str]) -> str:
    """The rows as a markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for r in rows:
        ratio = "n/a" if r.ratio is None else f"{r.ratio:.0%}"
        lines.append(
            f"| {r.operation} | {r.backend} | {_fmt(r.ours, r.unit)} | {_fmt(r.raw, r.unit)} | {ratio} |"
        )
    return "\n".join(lines)
