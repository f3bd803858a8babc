"""Pod cgroups: where a pod's processes are accounted and limited, and their cleanup.

A cgroup is a directory in a kernel filesystem; a process written into its
``cgroup.procs`` is counted, and limited, by the files beside it
(``memory.limit_in_bytes``, ``cpu.cfs_quota_us`` ...). With cgroup v1 each controller
(memory, cpu, pids ...) is its own hierarchy under ``/sys/fs/cgroup/<controller>``; v2
has one unified tree. The kubelet arranges pods as upstream's
pkg/kubelet/cm/pod_container_manager_linux.go does (cgroupfs driver)::

    /kubepods/<qos>/pod<uid>/<container id>     qos: besteffort | burstable ("" for guaranteed)

and passes ``/kubepods/<qos>/pod<uid>`` as the sandbox's ``cgroup_parent``; containerd
creates each container's cgroup below it. Nobody removes the pod's directory when
the sandbox goes: that is the kubelet's job, here :func:`remove_pod_cgroup`.
"""

from __future__ import annotations

import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def pod_cgroup_parent(uid: str, qos: str = "besteffort", root: str = "/kubepods") -> str:
    return f"{root}/{qos}/pod{uid}" if qos else f"{root}/pod{uid}"


def cgroup_dirs(cgroup: str, root: Path = CGROUP_ROOT) -> list[Path]:
    """The directories of ``cgroup`` in every mounted hierarchy (v1) or the unified one (v2)."""
    relative = cgroup.strip("/")
    if (root / "cgroup.controllers").exists():  # v2
        return [root / relative] if (root / relative).is_dir() else []
    return [h / relative for h in sorted(root.iterdir()) if h.is_dir() and (h / relative).is_dir()]


def remove_pod_cgroup(cgroup: str, root: Path = CGROUP_ROOT) -> None:
    """rmdir the pod cgroup and any empty children, deepest first, in every hierarchy.
    (A cgroup directory can be removed only when no process is left in it.)"""
    for top in cgroup_dirs(cgroup, root):
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda w: -len(w[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass
