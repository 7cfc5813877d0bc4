"""Reads of the cells: now, and as of any seq."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from django.db.models import QuerySet

from ledger.db import one_snapshot
from ledger.hashing import CELL_CHANGED
from ledger.models import Event
from ledger.selectors import stream_head
from projections.fold import Cells, CellState, Coord, non_empty
from projections.models import Cell
from projections.snapshots import fold_with_checkpoints, nearest_snapshot, snapshot_interval

T = TypeVar("T")


def cell_events(*, stream_id: int) -> QuerySet[Event]:
    """The stream's cell edits: what the fold of positions reads (structure events are not folded yet)."""
    return Event.objects.filter(stream_id=stream_id, type=CELL_CHANGED)


@dataclass(frozen=True, slots=True)
class SheetState:
    head: int
    cells: Cells


def _head_and_cells(stream_id: int, read: Callable[[QuerySet[Cell]], T]) -> tuple[int, T]:
    """Return the head and ``read`` of the stream's non-empty cells, both from one snapshot of the database."""
    with one_snapshot():
        head = stream_head(stream_id=stream_id)
        return head, read(Cell.objects.filter(stream_id=stream_id).exclude(value=""))


def current_state(*, stream_id: int) -> SheetState:
    """Return the head and the non-empty cells as of that head, read consistently."""
    head, cells = _head_and_cells(stream_id, lambda queryset: {
        (row, col): CellState(value=value, last_seq=last_seq)
        for row, col, value, last_seq in queryset.values_list("row", "col", "value", "last_seq")
    })
    return SheetState(head=head, cells=cells)


def current_cells_json(*, stream_id: int) -> tuple[int, list[dict[str, Any]]]:
    """Return the head and ``cells_to_json(current_state(...).cells)``, read consistently.

    The snapshot frame's read: the database sorts the rows (the unique
    index is in that order) and they become the protocol's dicts directly,
    without building a CellState each and sorting them in Python.
    """
    return _head_and_cells(stream_id, lambda queryset: [
        {"row": row, "col": col, "value": value, "last_seq": last_seq}
        for row, col, value, last_seq in queryset.order_by("row", "col").values_list("row", "col", "value", "last_seq")
    ])


def cells_at(*, stream_id: int, seq: int, checkpoint: Callable[[int, Cells], None] | None = None) -> Cells:
    """Return the non-empty cells as they stood right after event ``seq``.

    Folds forward from the nearest snapshot at or before ``seq``, calling
    ``checkpoint(seq, cells)`` at each multiple of the snapshot interval it
    passes (services.cells_at_filling_cache stores some there).
    """
    start, cells = nearest_snapshot(stream_id=stream_id, seq=seq)
    events = (
        cell_events(stream_id=stream_id)
        .filter(seq__gt=start, seq__lte=seq)
        .order_by("seq")
        .values_list("seq", "row", "col", "new_value", named=True)
        .iterator(chunk_size=5000)
    )
    return non_empty(fold_with_checkpoints(events, cells, every=snapshot_interval(), checkpoint=checkpoint))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class CellDiff:
    row: int
    col: int
    from_value: str
    to_value: str


def diff_cells(*, stream_id: int, from_seq: int, to_seq: int) -> list[CellDiff]:
    """List every cell whose value after ``to_seq`` differs from its value after ``from_seq``, row-major."""
    if from_seq > to_seq:
        raise ValueError(f"from_seq {from_seq} is after to_seq {to_seq}")
    before = cells_at(stream_id=stream_id, seq=from_seq)
    # Only cells touched in between can differ: one pass over that range,
    # keeping the last value of each, instead of a second full time travel.
    after: dict[Coord, str] = {}
    touched = (
        cell_events(stream_id=stream_id)
        .filter(seq__gt=from_seq, seq__lte=to_seq)
        .order_by("seq")
        .values_list("row", "col", "new_value")
        .iterator(chunk_size=5000)
    )
    for row, col, value in touched:
        after[(cast(int, row), cast(int, col))] = value
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
