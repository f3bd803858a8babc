"""Child processes: start each component, notice when one dies, stop them all cleanly.

Each component runs in its own process group (``process_group=0``). A Ctrl-C in the
terminal goes to the terminal's foreground process group - the launcher alone - so the
children are not signalled twice (once by the terminal, once by us) and stop in the
order we choose. Stopping one is what kubelet does to a container
(pkg/kubelet/kuberuntime/kuberuntime_container.go ``killContainer``): SIGTERM, a grace
period, then SIGKILL. Signals go to the whole process group, so whatever a component
started itself goes down with it.

Nothing is restarted behind your back: a component that exits is reported, with the
end of its log, and stays down.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cluster.components import ClusterConfig, Component

#: The directory holding the project's packages, so ``python -m apiserver`` finds them
#: whatever the launcher's working directory is.
_PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Child:
    component: Component
    process: subprocess.Popen[bytes]
    log_path: Path
    #: Set once its exit has been reported, so it is reported once.
    reported: bool = field(default=False)

    @property
    def name(self) -> str:
        return self.component.name

    @property
    def pid(self) -> int:
        return self.process.pid


def start(component: Component, config: ClusterConfig) -> Child:
    """Start ``component`` in its own process group, its output appended to its log file."""
    config.log_dir.mkdir(parents=True, exist_ok=True)
    log_path = config.log_dir / f"{component.name}.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", component.module, *component.args(config)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            process_group=0,
        )
    return Child(component, process, log_path)


def _signal_group(child: Child, sig: signal.Signals) -> None:
    try:
        os.killpg(child.pid, sig)  # the group id is the child's pid (process_group=0)
    except ProcessLookupError:
        pass


def stop(child: Child) -> int:
    """SIGTERM, wait up to the component's ``stop_timeout``, then SIGKILL; the exit code."""
    timeout = child.component.stop_timeout
    if child.process.poll() is None:
        _signal_group(child, signal.SIGTERM)
        try:
            child.process.wait(timeout)
        except subprocess.TimeoutExpired:
            print(f"[cluster] {child.name} did not stop within {timeout:g}s; killing it", flush=True)
    # Whatever is left in the group (the child, or something it started) is killed.
    _signal_group(child, signal.SIGKILL)
    return child.process.wait()


def stop_all(children: list[Child]) -> None:
    """Stop in reverse start order: nothing loses the API server while it shuts down."""
    for child in reversed(children):
        code = stop(child)
        print(f"[cluster] {child.name} stopped (exit code {code})", flush=True)


def log_tail(child: Child, lines: int = 20) -> str:
    try:
        text = child.log_path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
