"""Field ownership (``metadata.managedFields``) and server-side apply.

Every object remembers which *field manager* set which of its fields. A manager
is a name a client chooses (``kubectl``, ``kube-controller-manager``...) plus how
it wrote: by server-side **Apply** (it declares its full intent; fields it stops
declaring go away) or by any other **Update** (it just changed values). Apply
uses the record to refuse silently overwriting somebody else's field: that is a
*conflict*, resolved by ``--force-conflicts`` or by leaving the field out.

=====================  ============================================================
module                 upstream it mirrors
=====================  ============================================================
``fieldpath``          structured-merge-diff/fieldpath: paths, sets, fieldsV1
``typed``              structured-merge-diff/typed: tofieldset.go, compare.go
``merge``              structured-merge-diff/typed: merge.go, remove.go
``updater``            structured-merge-diff/merge/update.go (Update, Apply, prune)
``managers``           apimachinery/pkg/util/managedfields/internal/managedfields.go,
                       capmanagers.go
``fieldmanager``       .../internal/fieldmanager.go, stripmeta.go, skipnonapplied.go,
                       lastappliedmanager.go, lastappliedupdater.go, conflict.go
=====================  ============================================================
"""

from .fieldmanager import Target, apply, track_create, track_update

__all__ = ["Target", "apply", "track_create", "track_update"]
