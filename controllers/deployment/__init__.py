"""The Deployment controller: declarative rollouts over ReplicaSets.

A Deployment never manages pods itself. It owns ReplicaSets, one per pod template
it has ever had (``hash.py``), and a rollout is the gradual shift of replicas from
the old ReplicaSets to the new one:

* ``rolling.py``: RollingUpdate (maxSurge / maxUnavailable arithmetic) and Recreate;
* ``sync.py``: finding or creating the new ReplicaSet, revisions, scaling during a
  rollout (proportional scaling), history cleanup (``revisionHistoryLimit``);
* ``progress.py``: the status and the ``Progressing`` / ``Available`` conditions that
  ``kubectl rollout status`` reads;
* ``controller.py``: the reconcile loop that ties them to the caches.

Mirrors: pkg/controller/deployment/ (deployment_controller.go, rolling.go,
recreate.go, sync.go, progress.go, util/deployment_util.go).
"""

from controllers.deployment.controller import DeploymentController

__all__ = ["DeploymentController"]
