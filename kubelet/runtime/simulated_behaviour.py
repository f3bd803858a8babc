"""How a simulated container behaves: read from pod annotations, like KWOK's stages.

KWOK (kubernetes-sigs/kwok, ``stages/pod-fast.yaml`` and friends) fakes nodes by
rewriting pod status from rules. Our simulated runtime instead sits *under* a real
kubelet, so every pod goes through the kubelet's own sync loop, restart policy and
back-off; only the processes are imaginary. What an imaginary process does is decided
here, from the pod's annotations (the kubelet passes them in the sandbox config, as
upstream does) and, failing those, from its command line.

Annotations (``sim.pykube.io/<key>``; ``sim.pykube.io/<key>.<container>`` applies to
one container and wins over the pod-wide key):

=====================  ==============================================================
``run-seconds``        the container exits this long after it starts (default: runs
                       until stopped; 0 if ``exit-code``, ``crash`` or ``oom`` is set)
``exit-code``          its exit code when it exits by itself (default 0)
``crash``              ``"true"``: every start exits with code 1 (reason Error);
                       ``"N"``: only the first N starts (attempts 0..N-1) do
``oom``                ``"true"``: it exits with 137, reason OOMKilled
``start-delay``        seconds ``start_container`` takes (default: the runtime's)
``ignore-sigterm``     ``"true"``: a stop waits out its whole timeout, then exit 137
``logs``               its log lines at start, separated by ``\\n``
``exec-output``        stdout of every ``exec_sync`` (default: see below)
``exec-exit-code``     exit code of every ``exec_sync`` (default 0)
=====================  ==============================================================

Without annotations the command line is read the way a shell would see its first
word: ``echo A B`` logs ``A B`` and exits 0; ``true`` exits 0; ``false`` exits 1;
``sleep N`` exits 0 after N seconds; anything else runs until stopped. ``exec_sync``
of ``echo ...``/``true``/``false``/``sleep N`` does the same (``sleep N`` takes N
seconds: a slow hook or probe); other commands print nothing, exit 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from kubelet.runtime.interface import ContainerConfig, ExecResult

PREFIX = "sim.pykube.io/"


@dataclass(frozen=True)
class Behaviour:
    run_seconds: float | None = None  # None: until stopped
    exit_code: int = 0
    reason: str = "Completed"
    start_delay: float | None = None  # None: the runtime's default
    ignore_sigterm: bool = False
    logs: list[str] = field(default_factory=list)
    exec_output: str | None = None
    exec_exit_code: int = 0


def _lookup(annotations: dict[str, str], key: str, container: str) -> str | None:
    return annotations.get(f"{PREFIX}{key}.{container}", annotations.get(f"{PREFIX}{key}"))


def _from_command(argv: list[str]) -> tuple[float | None, int, list[str]]:
    """(run_seconds, exit_code, log lines) implied by a plain command line."""
    if not argv:
        return None, 0, []
    word = os.path.basename(argv[0])
    if word == "echo":
        return 0.0, 0, [" ".join(argv[1:])]
    if word in ("true", "false"):
        return 0.0, int(word == "false"), []
    if word == "sleep" and len(argv) == 2:
        try:
            return float(argv[1]), 0, []
        except ValueError:
            return None, 0, []
    return None, 0, []


def behaviour_for(config: ContainerConfig, pod_annotations: dict[str, str]) -> Behaviour:
    """Merge pod and container annotations, then decide. Raises ValueError on a bad value."""
    annotations = {**pod_annotations, **config.annotations}
    name, attempt = config.metadata.name, config.metadata.attempt

    def get(key: str) -> str | None:
        return _lookup(annotations, key, name)

    run_seconds, exit_code, logs = _from_command([*config.command, *config.args])
    reason = ""
    if (value := get("exit-code")) is not None:
        exit_code, run_seconds = int(value), run_seconds if run_seconds is not None else 0.0
    crash = get("crash")
    if crash is not None and (crash.lower() == "true" or (crash.isdigit() and attempt < int(crash))):
        exit_code, run_seconds = exit_code or 1, run_seconds if run_seconds is not None else 0.0
    if (get("oom") or "").lower() == "true":
        exit_code, reason, run_seconds = 137, "OOMKilled", run_seconds if run_seconds is not None else 0.0
    if (value := get("run-seconds")) is not None:
        run_seconds = float(value)
    if (value := get("logs")) is not None:
        logs = value.split("\n")
    delay = get("start-delay")
    exec_code = get("exec-exit-code")
    return Behaviour(
        run_seconds=run_seconds,
        exit_code=exit_code,
        reason=reason or ("Completed" if exit_code == 0 else "Error"),
        start_delay=float(delay) if delay is not None else None,
        ignore_sigterm=(get("ignore-sigterm") or "").lower() == "true",
        logs=logs,
        exec_output=get("exec-output"),
        exec_exit_code=int(exec_code) if exec_code is not None else 0,
    )


def exec_seconds(cmd: list[str]) -> float:
    """How long ``exec_sync`` of ``cmd`` takes: N for ``sleep N``, else 0."""
    if len(cmd) == 2 and os.path.basename(cmd[0]) == "sleep":
        try:
            return max(float(cmd[1]), 0.0)
        except ValueError:
            return 0.0
    return 0.0


def simulate_exec(behaviour: Behaviour, cmd: list[str]) -> ExecResult:
    """What ``exec_sync`` of ``cmd`` returns in a container behaving so."""
    if behaviour.exec_output is not None:
        return ExecResult(behaviour.exec_exit_code, behaviour.exec_output.encode(), b"")
    word = os.path.basename(cmd[0]) if cmd else ""
    if word == "echo":
        return ExecResult(behaviour.exec_exit_code, (" ".join(cmd[1:]) + "\n").encode(), b"")
    if word == "false":
        return ExecResult(1, b"", b"")
    return ExecResult(behaviour.exec_exit_code, b"", b"")
