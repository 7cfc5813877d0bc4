"""A plain in-memory model of one sheet's ledger, written independently of the app's code.

It knows the rules of docs/protocol.md, section 7 (editing) and nothing about the ORM or
the fold: the state machine compares the real services against it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sheets.exceptions import Conflict, EditRejected, Forbidden, InvalidEdit, OutOfRange, TooManyChanges, ValueTooLong

EDIT_ROLES = {"editor", "owner"}

Coord = tuple[int, int]


def _has_lone_surrogate(value: str) -> bool:
    return any(0xD800 <= ord(char) <= 0xDFFF for char in value)


@dataclass(frozen=True)
class ModelChange:
    row: int
    col: int
    value: str
    base_seq: int | None


@dataclass(frozen=True)
class ModelEvent:
    seq: int
    row: int
    col: int
    old_value: str
    new_value: str
    broadcaster_id: int
    client_event_id: uuid.UUID


@dataclass(frozen=True)
class Expected:
    """What an edit must do: refuse with ``error``, or answer ``seqs`` (appending ``events`` unless a duplicate)."""

    error: type[EditRejected] | None = None
    conflict_cells: list[dict[str, object]] | None = None
    seqs: list[int] = field(default_factory=list)
    duplicate: bool = False
    events: list[ModelEvent] = field(default_factory=list)


@dataclass
class LedgerModel:
    rows: int
    cols: int
    roles: dict[int, str | None]
    events: list[ModelEvent] = field(default_factory=list)
    # Every cell ever written, cleared ones included: (value, last_seq).
    cells: dict[Coord, tuple[str, int]] = field(default_factory=dict)

    @property
    def head(self) -> int:
        return len(self.events)

    @property
    def client_event_ids(self) -> set[uuid.UUID]:
        return {event.client_event_id for event in self.events}

    def expect_edit(
        self, *, user_id: int, client_event_id: uuid.UUID, changes: list[ModelChange], max_changes: int, max_length: int
    ) -> Expected:
        """Predict the outcome of an edit, checking in the documented order."""
        if not changes:
            return Expected(error=InvalidEdit)
        if len(changes) > max_changes:
            return Expected(error=TooManyChanges)
        if any(len(change.value) > max_length for change in changes):
            return Expected(error=ValueTooLong)
        if any("\x00" in change.value or _has_lone_surrogate(change.value) for change in changes):
            return Expected(error=InvalidEdit)
        if self.roles.get(user_id) not in EDIT_ROLES:
            return Expected(error=Forbidden)
        earlier = [event for event in self.events if event.client_event_id == client_event_id]
        if earlier:
            if earlier[0].broadcaster_id != user_id:
                return Expected(error=InvalidEdit)
            return Expected(seqs=[event.seq for event in earlier], duplicate=True)
        if any(not (0 <= c.row < self.rows and 0 <= c.col < self.cols) for c in changes):
            return Expected(error=OutOfRange)
        stale = sorted(
            {
                (c.row, c.col)
                for c in changes
                if c.base_seq is not None and self.cells.get((c.row, c.col), ("", 0))[1] > c.base_seq
            }
        )
        if stale:
            cells = [
                {"row_id": f"r{row}", "col_id": f"c{col}", "row": row, "col": col,
                 "value": self.cells[(row, col)][0], "last_seq": self.cells[(row, col)][1]}
                for row, col in stale
            ]
            return Expected(error=Conflict, conflict_cells=cells)
        latest = {coord: value for coord, (value, _) in self.cells.items()}
        events = []
        for offset, change in enumerate(changes, start=1):
            coord = (change.row, change.col)
            events.append(
                ModelEvent(
                    seq=self.head + offset,
                    row=change.row,
                    col=change.col,
                    old_value=latest.get(coord, ""),
                    new_value=change.value,
                    broadcaster_id=user_id,
                    client_event_id=client_event_id,
                )
            )
            latest[coord] = change.value
        return Expected(seqs=[event.seq for event in events], events=events)

    def commit(self, events: list[ModelEvent]) -> None:
        """Record appended events and their effect on the cells."""
        for event in events:
            assert event.seq == self.head + 1
            self.events.append(event)
            self.cells[(event.row, event.col)] = (event.new_value, event.seq)

    def visible_at(self, seq: int) -> dict[Coord, tuple[str, int]]:
        """Return the non-empty cells right after ``seq``."""
        cells: dict[Coord, tuple[str, int]] = {}
        for event in self.events[:seq]:
            cells[(event.row, event.col)] = (event.new_value, event.seq)
        return {coord: state for coord, state in cells.items() if state[0] != ""}
