"""The fold of a sheet with rows and columns of its own: order, tombstones and cells by id. Pure.

The state a sheet's events fold into once rows have identity
(docs/architecture.md, decisions 10-12): the order of rows and of columns
(projections.axis) and the cells keyed by (row id, column id). A cell
event written before rows had ids names positions only; no structure
event can precede it in its stream, so its row and column are the
implicit ids of those positions (``r{row}``, ``c{col}``).

``apply`` trusts its events: the write path judges an operation (ids,
rights, limits) before it appends the event, and records in it the
positions this fold computes, so that replaying the ledger always lands
every event where it was committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.hashing import (
    CELL_CHANGED,
    COL_PREFIX,
    COLUMNS_DELETED,
    COLUMNS_INSERTED,
    ROW_PREFIX,
    ROWS_DELETED,
    ROWS_INSERTED,
)
from projections.axis import Axis
from projections.fold import CellState

IdCoord = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Shaped:
    """A sheet as of some seq: its rows and columns in order (tombstones kept) and its cells by id."""

    rows: Axis
    cols: Axis
    cells: Mapping[IdCoord, CellState] = field(default_factory=dict)

    @classmethod
    def created(cls, *, rows: int, cols: int) -> Shaped:
        return cls(rows=Axis.created(ROW_PREFIX, rows), cols=Axis.created(COL_PREFIX, cols))

    def visible_cells(self) -> dict[tuple[int, int], tuple[str, str, CellState]]:
        """Every non-empty cell by its position now: (row, col) → (row id, col id, state)."""
        row_at = self.rows.positions(self.rows.ids())
        col_at = self.cols.positions(self.cols.ids())
        return {
            (row_at[row_id], col_at[col_id]): (row_id, col_id, state)
            for (row_id, col_id), state in self.cells.items()
            if state.value != "" and row_id in row_at and col_id in col_at
        }


def cell_ids(event: Mapping[str, Any]) -> IdCoord:
    """The (row id, col id) of a cell event; an event without ids (written before them) by its positions."""
    row_id, col_id = event.get("row_id"), event.get("col_id")
    if row_id is None or col_id is None:
        return f"{ROW_PREFIX}{event['row']}", f"{COL_PREFIX}{event['col']}"
    return row_id, col_id


def apply(state: Shaped, event: Mapping[str, Any]) -> Shaped:
    """Return the sheet after one event (a dict with the protocol's fields), leaving ``state`` untouched."""
    return fold([event], state)


def fold(events: Iterable[Mapping[str, Any]], state: Shaped) -> Shaped:
    """Return ``state`` after every event, in the given order (one copy of the cells, changed in place)."""
    rows, cols, cells = state.rows, state.cols, dict(state.cells)
    for event in events:
        kind = event.get("type", CELL_CHANGED)
        if kind == CELL_CHANGED:
            cells[cell_ids(event)] = CellState(value=event["new_value"], last_seq=event["seq"])
        elif kind == ROWS_INSERTED:
            rows, _ = rows.insert(after=event["after"], ids=event["row_ids"])
        elif kind == COLUMNS_INSERTED:
            cols, _ = cols.insert(after=event["after"], ids=event["col_ids"])
        elif kind == ROWS_DELETED:
            rows, _ = rows.delete(event["row_ids"])
            gone = set(event["row_ids"])
            cells = {coord: cell for coord, cell in cells.items() if coord[0] not in gone}
        elif kind == COLUMNS_DELETED:
            cols, _ = cols.delete(event["col_ids"])
            gone = set(event["col_ids"])
            cells = {coord: cell for coord, cell in cells.items() if coord[1] not in gone}
        else:
            raise ValueError(f"unknown event type {kind!r}")
    return Shaped(rows=rows, cols=cols, cells=cells)
