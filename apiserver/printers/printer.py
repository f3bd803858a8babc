"""What a printer is: a fixed list of columns plus a pure function from one object to its cells.

Upstream registers each pair with ``h.TableHandler(columnDefinitions, printFoo)``
(``k8s.io/kubernetes/pkg/printers/tablegenerator.go``). The server always asks for the
wide form (``GenerateOptions{Wide: true}``, ``pkg/printers/storage/storage.go``), so a
row here always has one cell per column, priority-1 columns included; kubectl hides
those unless ``-o wide``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .columns import Column

Obj = dict[str, Any]
Cells = list[Any]


@dataclass(frozen=True)
class Printer:
    """The columns of one kind and how to fill them.

    ``cells(obj, now)`` returns exactly ``len(columns)`` values (strings, ints, bools).
    ``conditions(obj)`` optionally returns ``TableRowCondition`` dicts for the row.
    """

    columns: tuple[Column, ...]
    cells: Callable[[Obj, datetime], Cells]
    conditions: Callable[[Obj], list[Obj]] | None = None
