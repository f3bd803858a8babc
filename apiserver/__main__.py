"""``python -m apiserver``: the API server process.

Mirrors cmd/kube-apiserver/apiserver.go and app/server.go (``Run``): parse the flags,
make sure the certificates exist, build the handler chain around the REST API, serve::

    python -m apiserver --data-dir .data --port 6443 [--storage sqlite|etcd://HOST:PORT,...]
                        [--admin-kubeconfig .data/kubeconfig] [--insecure-http]

``--admin-kubeconfig`` writes, before serving, the kubeconfig kubeadm would write as
admin.conf, so a launcher (cluster/) can hand it to kubectl without reading our PKI.
"""

from __future__ import annotations

import asyncio
import logging

from apiserver.app import create_app
from apiserver.kubeconfig import write_admin_kubeconfig
from apiserver.options import parse_args
from apiserver.server import serve


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = parse_args(argv)
    write_admin_kubeconfig(options)
    # serve() handles SIGINT and SIGTERM: stop accepting, drain, run lifespan shutdown.
    asyncio.run(serve(options, create_app(options)))


if __name__ == "__main__":
    main()
