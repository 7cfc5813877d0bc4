"""Reads of the cells: now, and as of any seq."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import QuerySet

from ledger.models import Event
from projections.fold import Cells, CellState, Coord, non_empty
from projections.models import Cell
from projections.snapshots import (
    fold_with_checkpoints,
    nearest_snapshot,
    record_snapshots,
    snapshot_interval,
    snapshots_due,
)
from sheets.models import Sheet

T = TypeVar("T")


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


def _head_and_cells(sheet_id: int, read: Callable[[QuerySet[Cell]], T]) -> tuple[int, T]:
    """Return the head and ``read`` of the sheet's non-empty cells, both from one snapshot of the database."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        _repeatable_read(outermost)
        head = Sheet.objects.filter(pk=sheet_id).values_list("head", flat=True).get()
        return head, read(Cell.objects.filter(sheet_id=sheet_id).exclude(value=""))


def current_state(*, sheet_id: int) -> SheetState:
    """Return the head and the non-empty cells as of that head, read consistently."""
    head, cells = _head_and_cells(sheet_id, lambda queryset: {
        (row, col): CellState(value=value, last_seq=last_seq)
        for row, col, value, last_seq in queryset.values_list("row", "col", "value", "last_seq")
    })
    return SheetState(head=head, cells=cells)


def current_cells_json(*, sheet_id: int) -> tuple[int, list[dict[str, Any]]]:
    """Return the head and ``cells_to_json(current_state(...).cells)``, read consistently.

    The snapshot frame's read: the database sorts the rows (the unique
    index is in that order) and they become the protocol's dicts directly,
    without building a CellState each (half of the read's time) and
    sorting them.
    """
    return _head_and_cells(sheet_id, lambda queryset: [
        {"row": row, "col": col, "value": value, "last_seq": last_seq}
        for row, col, value, last_seq in queryset.order_by("row", "col").values_list("row", "col", "value", "last_seq")
    ])


def cells_at(*, sheet_id: int, seq: int) -> Cells:
    """Return the non-empty cells as they stood right after event ``seq``.

    Folds forward from the nearest snapshot at or before ``seq``, storing a
    few on the way (projections/snapshots.py says which, and why here).
    """
    start, cells = nearest_snapshot(sheet_id=sheet_id, seq=seq)
    events = (
        Event.objects.filter(sheet_id=sheet_id, seq__gt=start, seq__lte=seq)
        .order_by("seq")
        .values_list("seq", "row", "col", "new_value", named=True)
        .iterator(chunk_size=5000)
    )
    due = snapshots_due(start=start, seq=seq, every=snapshot_interval())

    def store(at: int, state: Cells) -> None:
        if at in due:
            record_snapshots(sheet_id=sheet_id, snapshots=[(at, state)])

    return non_empty(fold_with_checkpoints(events, cells, every=snapshot_interval(), checkpoint=store))


@dataclass(frozen=True, slots=True)
class CellDiff:
    row: int
    col: int
    from_value: str
    to_value: str


def diff_cells(*, sheet_id: int, from_seq: int, to_seq: int) -> list[CellDiff]:
    """List every cell whose value after ``to_seq`` differs from its value after ``from_seq``, row-major."""
    if from_seq > to_seq:
        raise ValueError(f"from_seq {from_seq} is after to_seq {to_seq}")
    before = cells_at(sheet_id=sheet_id, seq=from_seq)
    # Only cells touched in between can differ: one pass over that range,
    # keeping the last value of each, instead of a second full time travel.
    after: dict[Coord, str] = {}
    touched = (
        Event.objects.filter(sheet_id=sheet_id, seq__gt=from_seq, seq__lte=to_seq)
        .order_by("seq")
        .values_list("row", "col", "new_value")
        .iterator(chunk_size=5000)
    )
    for row, col, value in touched:
        after[(row, col)] = value
    diffs = []
    for (row, col), value in sorted(after.items()):
        old = before[(row, col)].value if (row, col) in before else ""
        if old != value:
            diffs.append(CellDiff(row=row, col=col, from_value=old, to_value=value))
    return diffs


def cells_to_json(cells: Cells) -> list[dict[str, Any]]:
    """Render cells as the protocol's ``{"row", "col", "value", "last_seq"}`` list, in row-major order."""
    return [
        {"row": row, "col": col, "value": state.value, "last_seq": state.last_seq}
        for (row, col), state in sorted(cells.items())
    ]
