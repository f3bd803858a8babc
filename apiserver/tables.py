"""Table output for ``kubectl get`` (server-side printing).

The implementation lives in the ``apiserver.printers`` package, split by concept; this
module is the stable entry point handlers import. See ``apiserver/printers/table.py``.
"""

from .printers import (
    check_include_object,
    column_definitions,
    human_duration,
    partial_object_metadata,
    printer_for,
    table_row_event,
    to_table,
    translate_timestamp_since,
)

__all__ = [
    "check_include_object",
    "column_definitions",
    "human_duration",
    "partial_object_metadata",
    "printer_for",
    "table_row_event",
    "to_table",
    "translate_timestamp_since",
]
