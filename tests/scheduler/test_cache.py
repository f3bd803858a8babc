"""The scheduler cache: assume, confirm, forget, expire (upstream: backend/cache/cache_test.go)."""

from __future__ import annotations

from scheduler.cache import Cache
from tests.scheduler.builders import node, on, pod


class Clock:
    t = 0.0

    def __call__(self) -> float:
        return self.t


def test_assumed_pod_counts_until_confirmed() -> None:
    cache = Cache()
    cache.add_node(node("n1", cpu="2"))
    cache.assume_pod(pod("p", cpu="1500m"), "n1")
    info = cache.get("n1")
    assert info is not None
    assert info.requested["cpu"] == 1500
    cache.finish_binding("default/p")
    cache.add_pod(on("n1", pod("p", cpu="1500m")))  # the watch confirms it
    assert not cache.is_assumed("default/p")
    assert info.requested["cpu"] == 1500
    assert len(info.pods) == 1


def test_forget_returns_resources() -> None:
    cache = Cache()
    cache.add_node(node("n1"))
    cache.assume_pod(pod("p", cpu="1"), "n1")
    cache.forget_pod("default/p")
    info = cache.get("n1")
    assert info is not None
    assert info.requested.get("cpu", 0) == 0
    assert not info.pods


def test_expired_assumption_is_dropped_only_after_binding_finished() -> None:
    clock = Clock()
    cache = Cache(ttl=30, now=clock)
    cache.add_node(node("n1"))
    cache.assume_pod(pod("p", cpu="1"), "n1")
    clock.t = 100
    assert cache.cleanup_expired() == []  # binding still in flight
    cache.finish_binding("default/p")
    clock.t = 131
    assert cache.cleanup_expired() == ["default/p"]
    assert cache.pod_count() == 0


def test_pod_before_its_node_waits_unlisted() -> None:
    cache = Cache()
    cache.add_pod(on("late", pod("p", cpu="1")))
    assert cache.get("late") is None
    assert list(cache.node_infos()) == []
    cache.add_node(node("late"))
    info = cache.get("late")
    assert info is not None
    assert info.requested["cpu"] == 1000


def test_images_are_counted_per_node() -> None:
    cache = Cache()
    images = [{"names": ["nginx:latest"], "sizeBytes": 100}]
    cache.add_node(node("n1", images=images))
    cache.add_node(node("n2", images=images))
    cache.add_node(node("n3"))
    assert cache.num_nodes_with_image("nginx:latest") == 2
    cache.remove_node("n2")
    assert cache.num_nodes_with_image("nginx:latest") == 1


def test_running_totals_for_plugin_skips() -> None:
    """The counters behind have_tainted_nodes / have_unschedulable_nodes / have_pods_with_*."""
    cache = Cache()
    cache.add_node(node("n1"))
    assert not cache.have_tainted_nodes([]) and not cache.have_unschedulable_nodes([])
    cache.update_node(node("n1", taints=[{"key": "k", "effect": "NoSchedule"}], unschedulable=True))
    assert cache.have_tainted_nodes([]) and cache.have_unschedulable_nodes([])
    cache.update_node(node("n1"))
    assert not cache.have_tainted_nodes([]) and not cache.have_unschedulable_nodes([])
    cache.update_node(node("n1", unschedulable=True))
    cache.remove_node("n1")
    assert not cache.have_unschedulable_nodes([])

    cache.add_node(node("n2"))
    anti = {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "kubernetes.io/hostname"}
            ]
        }
    }
    cache.add_pod(on("n2", pod("a", affinity=anti)))
    assert cache.have_pods_with_affinity([]) and cache.have_pods_with_required_anti_affinity([])
    cache.remove_pod(on("n2", pod("a", affinity=anti)))
    assert not cache.have_pods_with_affinity([]) and not cache.have_pods_with_required_anti_affinity([])


def test_node_info_keeps_integer_totals() -> None:
    cache = Cache()
    cache.add_node(node("n1", cpu="4", memory="8Gi", pods="10"))
    cache.add_pod(on("n1", pod("a", cpu="1500m", memory="1Gi")))
    info = cache.get("n1")
    assert info is not None
    assert (info.alloc_cpu, info.alloc_memory, info.alloc_pods) == (4000, 8 * 2**30, 10)
    assert (info.req_cpu, info.req_memory) == (1500, 2**30)
    cache.remove_pod(on("n1", pod("a")))
    assert (info.req_cpu, info.req_memory) == (0, 0)
