"""Stand-in components for launcher tests, and a launcher that runs them.

    python -m tests.cluster.fake_components launch SCENARIO up --data-dir D --port P
    python -m tests.cluster.fake_components stubborn   # ignores SIGTERM, has a grandchild
    python -m tests.cluster.fake_components crash      # exits with code 3 after a moment

``launch`` is ``python -m cluster`` with the component table replaced by one of
``SCENARIOS``; the API server is the stub (tests/apiserver/stub_apiserver.py): the real
TLS front end, kubeconfig and /readyz, without the REST API.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from cluster import launcher
from cluster.__main__ import main as cluster_main
from cluster.components import APISERVER, Component

STUB_APISERVER = Component("apiserver", "tests.apiserver.stub_apiserver", APISERVER.args, critical=True)
STUBBORN = Component("stubborn", "tests.cluster.fake_components", lambda c: ["stubborn"], stop_timeout=1.0)
CRASH = Component("crash", "tests.cluster.fake_components", lambda c: ["crash"])

#: scenario -> (the API server, the components started after it)
SCENARIOS: dict[str, tuple[Component, list[Component]]] = {
    "stub": (STUB_APISERVER, [STUBBORN]),
    "crashing-component": (STUB_APISERVER, [CRASH]),
    "crashing-apiserver": (
        Component("apiserver", "tests.cluster.fake_components", lambda c: ["crash"], critical=True),
        [],
    ),
}


def stubborn() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    subprocess.Popen(["sleep", "300"])  # a grandchild, in our process group
    print("stubborn: ignoring SIGTERM", flush=True)
    while True:
        time.sleep(1)


def crash() -> None:
    time.sleep(0.3)
    print("crash: something went wrong", flush=True)
    sys.exit(3)


def main(argv: list[str]) -> int:
    role = argv[0]
    if role == "launch":
        launcher.APISERVER, launcher.COMPONENTS = SCENARIOS[argv[1]]
        return cluster_main(argv[2:])
    {"stubborn": stubborn, "crash": crash}[role]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
