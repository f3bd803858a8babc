"""The client library every component uses to talk to the API server, only over HTTP.

* ``rest`` and ``kubeconfig``: an asyncio REST client built from a kubeconfig
  (client-go ``rest``/``dynamic``, ``tools/clientcmd``);
* ``transport`` and ``http11``: the HTTP/1.1 keep-alive connection pool under it
  (the role of Go's ``net/http`` Transport);
* ``reflector``, ``informer`` and ``cache``: list+watch into a local indexed cache
  with event handlers (client-go ``tools/cache``);
* ``workqueue`` and ``clock``: the rate-limited, deduplicating controller queue
  (client-go ``util/workqueue``);
* ``reconcile``: the level-triggered reconcile loop (controller-runtime);
* ``leaderelection``: one active replica at a time, over a Lease (client-go
  ``tools/leaderelection``).

Layering: this package imports ``apimachinery`` and never ``apiserver`` or ``cluster``
(checked by import-linter; see pyproject.toml).
"""
