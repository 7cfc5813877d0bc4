"""The pure fold from ledger events to cells: no ORM, no clock, no I/O.

The same functions serve the inline projection in ``append_edit``, the
rebuild command, time travel and the property tests, so that "the cells
table equals the fold of the ledger" is a statement about one piece of code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol


class FoldableEvent(Protocol):
    """What the fold reads of an event (a model instance or a plain record)."""

    @property
    def seq(self) -> int: ...
    @property
    def row(self) -> int: ...
    @property
    def col(self) -> int: ...
    @property
    def new_value(self) -> str: ...


@dataclass(frozen=True, slots=True)
class CellState:
    value: str
    last_seq: int


Coord = tuple[int, int]
Cells = dict[Coord, CellState]


class OutOfOrderEvent(ValueError):
    """An event was folded onto a cell that already saw a later seq."""


def _apply_in_place(cells: Cells, event: FoldableEvent) -> None:
    coord = (event.row, event.col)
    current = cells.get(coord)
    if current is not None and current.last_seq >= event.seq:
        raise OutOfOrderEvent(f"seq {event.seq} folded onto cell {coord} at seq {current.last_seq}")
    cells[coord] = CellState(value=event.new_value, last_seq=event.seq)


def apply(cells: Mapping[Coord, CellState], event: FoldableEvent) -> Cells:
    """Return the cells after ``event``, leaving ``cells`` untouched."""
    result = dict(cells)
    _apply_in_place(result, event)
    return result


def fold(events: Iterable[FoldableEvent], cells: Mapping[Coord, CellState] | None = None) -> Cells:
    """Return ``cells`` (default: an empty sheet) after every event, in the given order."""
    result: Cells = dict(cells) if cells is not None else {}
    for event in events:
        _apply_in_place(result, event)
    return result


def non_empty(cells: Mapping[Coord, CellState]) -> Cells:
    """Drop cleared cells: what a reader of the sheet sees."""
    return {coord: state for coord, state in cells.items() if state.value != ""}
