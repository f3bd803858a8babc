"""Server-side printing: the Tables behind ``kubectl get`` (upstream ``pkg/printers``).

Module map, one concept each:

* ``table``     -- the Table envelope, ``includeObject``, watch events, printer lookup;
* ``printer``   -- what a printer is (columns + a cells function);
* ``columns``   -- column definitions and the Go doc strings they quote;
* ``format``    -- ages (``HumanDuration``), label/selector strings, "+ N more";
* ``pods``      -- ``printPod``: READY / STATUS / RESTARTS;
* ``core``      -- the other core/v1 kinds;
* ``workloads`` -- apps, batch, policy, coordination and discovery kinds.
"""

from .format import human_duration, translate_timestamp_since
from .table import (
    DEFAULT_PRINTER,
    PRINTERS,
    check_include_object,
    column_definitions,
    partial_object_metadata,
    printer_for,
    table_row_event,
    to_table,
)

__all__ = [
    "DEFAULT_PRINTER",
    "PRINTERS",
    "check_include_object",
    "column_definitions",
    "human_duration",
    "partial_object_metadata",
    "printer_for",
    "table_row_event",
    "to_table",
    "translate_timestamp_since",
]
