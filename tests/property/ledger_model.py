"""A plain in-memory model of one sheet's ledger, written independently of the app's code.

It knows the rules of docs/protocol.md (editing by position or by id,
inserting and deleting rows and columns) and nothing about the ORM, the
fold or projections.axis: the order of rows is a plain list of
``[id, deleted]`` pairs, tombstones kept in place, and the cells a dict by
(row id, col id). The state machine compares the real services against it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sheets.exceptions import (
    Conflict,
    EditRejected,
    Forbidden,
    IdTaken,
    InvalidEdit,
    NoSuchCol,
    NoSuchRow,
    OutOfRange,
    TooLarge,
    TooManyChanges,
    ValueTooLong,
)

EDIT_ROLES = {"editor", "owner"}
INSERTS = {"RowsInserted", "ColumnsInserted"}
ON_ROWS = {"RowsInserted", "RowsDeleted"}

IdCoord = tuple[str, str]


def _has_lone_surrogate(value: str) -> bool:
    return any(0xD800 <= ord(char) <= 0xDFFF for char in value)


@dataclass(frozen=True)
class ModelChange:
    """A change by position (row, col) or by id (row_id, col_id)."""

    row: int | None
    col: int | None
    value: str
    base_seq: int | None
    row_id: str | None = None
    col_id: str | None = None


@dataclass(frozen=True)
class ModelStructure:
    type: str  # RowsInserted, RowsDeleted, ColumnsInserted, ColumnsDeleted
    ids: tuple[str, ...]
    after: str | None = None


@dataclass(frozen=True)
class ModelEvent:
    seq: int
    type: str
    broadcaster_id: int
    client_event_id: uuid.UUID
    row: int | None = None
    col: int | None = None
    row_id: str | None = None
    col_id: str | None = None
    old_value: str = ""
    new_value: str = ""
    ids: tuple[str, ...] = ()
    after: str | None = None
    positions: tuple[int, ...] = ()


@dataclass(frozen=True)
class Expected:
    """What an operation must do: refuse with ``error``, or answer ``seqs`` (appending ``events`` unless a duplicate)."""

    error: type[EditRejected] | None = None
    details: dict[str, object] | None = None
    seqs: list[int] = field(default_factory=list)
    duplicate: bool = False
    events: list[ModelEvent] = field(default_factory=list)


def _live(axis: list[list[object]]) -> list[str]:
    return [str(id_) for id_, deleted in axis if not deleted]


@dataclass
class Sheet:
    """The order of rows and columns (tombstones kept) and every cell of a live row and column, cleared included."""

    rows: list[list[object]]
    cols: list[list[object]]
    cells: dict[IdCoord, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def created(cls, rows: int, cols: int) -> Sheet:
        return cls(rows=[[f"r{i}", False] for i in range(rows)], cols=[[f"c{i}", False] for i in range(cols)])

    def copy(self) -> Sheet:
        return Sheet(rows=[list(pair) for pair in self.rows], cols=[list(pair) for pair in self.cols], cells=dict(self.cells))

    def apply(self, event: ModelEvent) -> None:
        if event.type == "CellChanged":
            assert event.row_id is not None and event.col_id is not None
            self.cells[(event.row_id, event.col_id)] = (event.new_value, event.seq)
            return
        axis = self.rows if event.type in ON_ROWS else self.cols
        if event.type in INSERTS:
            at = 0 if event.after is None else [pair[0] for pair in axis].index(event.after) + 1
            axis[at:at] = [[id_, False] for id_ in event.ids]
            return
        for pair in axis:
            if pair[0] in event.ids:
                pair[1] = True
        index = 0 if event.type in ON_ROWS else 1
        self.cells = {coord: cell for coord, cell in self.cells.items() if coord[index] not in event.ids}

    def visible(self) -> dict[tuple[int, int], tuple[str, int]]:
        """The non-empty cells by their positions."""
        row_at = {id_: at for at, id_ in enumerate(_live(self.rows))}
        col_at = {id_: at for at, id_ in enumerate(_live(self.cols))}
        return {(row_at[r], col_at[c]): cell for (r, c), cell in self.cells.items() if cell[0] != ""}


@dataclass
class LedgerModel:
    created_rows: int
    created_cols: int
    max_rows: int
    max_cols: int
    roles: dict[int, str | None]
    events: list[ModelEvent] = field(default_factory=list)
    sheet: Sheet = field(init=False)

    def __post_init__(self) -> None:
        self.sheet = Sheet.created(self.created_rows, self.created_cols)

    @property
    def head(self) -> int:
        return len(self.events)

    @property
    def cells(self) -> dict[IdCoord, tuple[str, int]]:
        return self.sheet.cells

    @property
    def client_event_ids(self) -> set[uuid.UUID]:
        return {event.client_event_id for event in self.events}

    def ever(self, on_rows: bool) -> list[str]:
        return [str(pair[0]) for pair in (self.sheet.rows if on_rows else self.sheet.cols)]

    def live(self, on_rows: bool) -> list[str]:
        return _live(self.sheet.rows if on_rows else self.sheet.cols)

    def _common(self, user_id: int, client_event_id: uuid.UUID) -> Expected | None:
        """The checks every operation passes after its own shape: rights, then retries."""
        if self.roles.get(user_id) not in EDIT_ROLES:
            return Expected(error=Forbidden)
        earlier = [event for event in self.events if event.client_event_id == client_event_id]
        if earlier:
            if earlier[0].broadcaster_id != user_id:
                return Expected(error=InvalidEdit)
            return Expected(seqs=[event.seq for event in earlier], duplicate=True)
        return None

    def expect_edit(
        self, *, user_id: int, client_event_id: uuid.UUID, changes: list[ModelChange], max_changes: int, max_length: int
    ) -> Expected:
        """Predict the outcome of an edit, checking in the documented order."""
        if not changes:
            return Expected(error=InvalidEdit)
        if len(changes) > max_changes:
            return Expected(error=TooManyChanges)
        if any((c.row is None) == (c.row_id is None) for c in changes):
            return Expected(error=InvalidEdit)
        if any(len(change.value) > max_length for change in changes):
            return Expected(error=ValueTooLong)
        if any("\x00" in change.value or _has_lone_surrogate(change.value) for change in changes):
            return Expected(error=InvalidEdit)
        common = self._common(user_id, client_event_id)
        if common is not None:
            return common
        rows, cols = self.live(True), self.live(False)
        missing_rows = sorted({c.row_id for c in changes if c.row_id is not None and c.row_id not in rows})
        if missing_rows:
            return Expected(error=NoSuchRow, details={"row_ids": missing_rows})
        missing_cols = sorted({c.col_id for c in changes if c.col_id is not None and c.col_id not in cols})
        if missing_cols:
            return Expected(error=NoSuchCol, details={"col_ids": missing_cols})
        named = []
        for c in changes:
            if c.row_id is not None and c.col_id is not None:
                named.append((c, c.row_id, c.col_id, rows.index(c.row_id), cols.index(c.col_id)))
                continue
            assert c.row is not None and c.col is not None
            if not (0 <= c.row < len(rows) and 0 <= c.col < len(cols)):
                return Expected(error=OutOfRange)
            named.append((c, rows[c.row], cols[c.col], c.row, c.col))
        stale = sorted(
            {
                (row, col, row_id, col_id)
                for c, row_id, col_id, row, col in named
                if c.base_seq is not None and self.cells.get((row_id, col_id), ("", 0))[1] > c.base_seq
            }
        )
        if stale:
            cells = [
                {"row_id": row_id, "col_id": col_id, "row": row, "col": col,
                 "value": self.cells[(row_id, col_id)][0], "last_seq": self.cells[(row_id, col_id)][1]}
                for row, col, row_id, col_id in stale
            ]
            return Expected(error=Conflict, details={"cells": cells})
        latest = {coord: value for coord, (value, _) in self.cells.items()}
        events = []
        for offset, (change, row_id, col_id, row, col) in enumerate(named, start=1):
            events.append(
                ModelEvent(
                    seq=self.head + offset, type="CellChanged", broadcaster_id=user_id, client_event_id=client_event_id,
                    row=row, col=col, row_id=row_id, col_id=col_id,
                    old_value=latest.get((row_id, col_id), ""), new_value=change.value,
                )
            )
            latest[(row_id, col_id)] = change.value
        return Expected(seqs=[event.seq for event in events], events=events)

    def expect_structure(
        self, *, user_id: int, client_event_id: uuid.UUID, op: ModelStructure, max_ids: int
    ) -> Expected:
        """Predict the outcome of an insert or delete of rows or columns."""
        if not op.ids:
            return Expected(error=InvalidEdit)
        if len(op.ids) > max_ids:
            return Expected(error=TooManyChanges)
        common = self._common(user_id, client_event_id)
        if common is not None:
            return common
        on_rows = op.type in ON_ROWS
        missing_error, key = (NoSuchRow, "row_ids") if on_rows else (NoSuchCol, "col_ids")
        ever, live = self.ever(on_rows), self.live(on_rows)
        base = {"seq": self.head + 1, "type": op.type, "broadcaster_id": user_id, "client_event_id": client_event_id}
        if op.type in INSERTS:
            if op.after is not None and op.after not in ever:
                return Expected(error=missing_error, details={key: [op.after]})
            taken = sorted({id_ for id_ in op.ids if id_ in ever or op.ids.count(id_) > 1})
            if taken:
                return Expected(error=IdTaken, details={"ids": taken})
            if len(live) + len(op.ids) > (self.max_rows if on_rows else self.max_cols):
                return Expected(error=TooLarge)
            # The first new one lands after every live row standing before (or being) ``after``.
            before = 0 if op.after is None else ever.index(op.after) + 1
            first = len([id_ for id_ in ever[:before] if id_ in live])
            position = {"row": first} if on_rows else {"col": first}
            event = ModelEvent(**base, ids=op.ids, after=op.after, **position)
        else:
            if len(set(op.ids)) != len(op.ids):
                return Expected(error=InvalidEdit)
            missing = sorted({id_ for id_ in op.ids if id_ not in live})
            if missing:
                return Expected(error=missing_error, details={key: missing})
            doomed = sorted(op.ids, key=live.index)
            event = ModelEvent(**base, ids=tuple(doomed), positions=tuple(live.index(id_) for id_ in doomed))
        return Expected(seqs=[event.seq], events=[event])

    def commit(self, events: list[ModelEvent]) -> None:
        """Record appended events and their effect on the sheet."""
        for event in events:
            assert event.seq == self.head + 1
            self.events.append(event)
            self.sheet.apply(event)

    def sheet_at(self, seq: int) -> Sheet:
        """The sheet right after ``seq``, deleted rows included as they stood."""
        sheet = Sheet.created(self.created_rows, self.created_cols)
        for event in self.events[:seq]:
            sheet.apply(event)
        return sheet

    def visible_at(self, seq: int) -> dict[tuple[int, int], tuple[str, int]]:
        """Return the non-empty cells right after ``seq``, by their positions then."""
        return self.sheet_at(seq).visible()
