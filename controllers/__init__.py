"""The controller manager: level-triggered reconcile loops that move actual state toward desired state.

Every controller here follows one shape (../shared/STYLE.md): it declares which
resources it watches and how a change maps to the *key* of the object it manages,
and defines ``async def reconcile(key)``, which reads the current state from shared
informer caches, compares it with the desired state, and issues the API calls that
close the gap. It never receives the event itself, only the key: that is what makes
it level-triggered, and why a missed event is harmless (the next one, or a resync,
brings the same key back).

Each controller module keeps its decision logic as pure functions over plain dicts
(table-tested in tests/controllers/) and a thin ``Controller`` subclass that reads
caches and writes through the REST client.

Layering: ``apimachinery ← client ← controllers``; nothing here imports ``apiserver``
(checked by import-linter, see pyproject.toml).

Mirrors: k8s.io/kubernetes/cmd/kube-controller-manager and pkg/controller/.
"""
