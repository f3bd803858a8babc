"""``python -m tests.apiserver.stub_apiserver``: ``python -m apiserver`` with a stub app.

Same flags, same certificates, same kubeconfig, same TLS front end and signal handling;
only the REST API behind it is replaced by tls_server.whoami_app (/version, /readyz,
/whoami). Lets process-level tests (SIGTERM, the launcher) run without the real app.
"""

from __future__ import annotations

import asyncio
import sys

from apiserver.kubeconfig import write_admin_kubeconfig
from apiserver.options import parse_args
from apiserver.server import serve
from tests.apiserver.tls_server import whoami_app


def main(argv: list[str] | None = None) -> None:
    options = parse_args(argv)
    write_admin_kubeconfig(options)
    asyncio.run(serve(options, whoami_app()))


if __name__ == "__main__":
    main(sys.argv[1:])
