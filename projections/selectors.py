"""Reads of the cells: now, and as of any seq."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from ledger.models import Event
from projections.fold import Cells, CellState, fold, non_empty
from projections.models import Cell
from sheets.models import Sheet


@dataclass(frozen=True, slots=True)
class SheetState:
    head: int
    cells: Cells


def _repeatable_read(outermost: bool) -> None:
    # On PostgreSQL the head and the cells must come from one snapshot, or a
    # commit between the two reads would show cells newer than the head.
    # SQLite's transaction is already a snapshot. Inside an outer transaction
    # (tests) the isolation level can no longer be set.
    if outermost and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")


def current_state(*, sheet_id: int) -> SheetState:
    """Return the head and the non-empty cells as of that head, read consistently."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        _repeatable_read(outermost)
        head = Sheet.objects.filter(pk=sheet_id).values_list("head", flat=True).get()
        cells = {
            (row, col): CellState(value=value, last_seq=last_seq)
            for row, col, value, last_seq in Cell.objects.filter(sheet_id=sheet_id)
            .exclude(value="")
            .values_list("row", "col", "value", "last_seq")
        }
    return SheetState(head=head, cells=cells)


def cells_at(*, sheet_id: int, seq: int) -> Cells:
    """Return the non-empty cells as they stood right after event ``seq``."""
    events = Event.objects.filter(sheet_id=sheet_id, seq__lte=seq).order_by("seq").only("seq", "row", "col", "new_value")
    return non_empty(fold(events.iterator(chunk_size=5000)))


def cells_to_json(cells: Cells) -> list[dict[str, Any]]:
    """Render cells as the protocol's ``{"row", "col", "value", "last_seq"}`` list, in row-major order."""
    return [
        {"row": row, "col": col, "value": state.value, "last_seq": state.last_seq}
        for (row, col), state in sorted(cells.items())
    ]
