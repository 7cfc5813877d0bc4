"""The one write path of a sheet's operations: append_edits (append_one, append_edit for a single one).

An operation is an edit of cells (EditRequest) or an insert or delete of
rows or columns (StructureRequest, judged by sheets.writes.structure). Lock
the sheet's stream, authorise, make retries idempotent, judge each operation
against the sheet as the ones before it left it (its order and its cells),
append the events to the ledger and apply them to the projection (cells and
order), all in one transaction; the caller announces them after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledger.db import pipelined
from ledger.hashing import COLUMNS_INSERTED, ROWS_DELETED, ROWS_INSERTED
from ledger.models import Event
from ledger.services import CellChange, StructureChange, chain_events, events_for_client_ids, lock_stream_of, write_events
from ledger.values import is_storable
from projections.axis import Axis, NotInAxis
from projections.fold import CellState
from projections.selectors import order_now
from projections.services import drop_cells, load_cells, store_cells, store_order
from projections.structure import IdCoord
from sheets.broadcast.announce import broadcast_events
from sheets.exceptions import (
    Conflict,
    EditRejected,
    Forbidden,
    InvalidEdit,
    NoSuchCol,
    NoSuchRow,
    OutOfRange,
    TooManyChanges,
    ValueTooLong,
)
from sheets.metrics import EVENTS_APPENDED
from sheets.models import Sheet
from sheets.selectors import can_edit, roles_for
from sheets.writes.structure import StructureRequest, check_structure_shape, judge_delete, judge_insert

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True, slots=True)
class Change:
    """One cell of an edit, named by position (``row``, ``col``) or by id (``row_id``, ``col_id``)."""

    row: int | None = None
    col: int | None = None
    value: str = ""
    base_seq: int | None = None
    row_id: str | None = None
    col_id: str | None = None

    @property
    def by_id(self) -> bool:
        return self.row_id is not None


@dataclass(frozen=True, slots=True)
class AppendResult:
    seqs: list[int]
    events: list[Event]
    # True when the client_event_id had already been appended: a retry.
    duplicate: bool


@dataclass(frozen=True, slots=True)
class EditRequest:
    """One edit waiting to be appended: all of its changes, or none."""

    user: User
    client_event_id: uuid.UUID
    changes: Sequence[Change]

    @property
    def size(self) -> int:
        return len(self.changes)


Request = EditRequest | StructureRequest
# What append_edits gives back for each request: its events, or why it was refused.
Outcome = AppendResult | EditRejected


def check_change_count(count: int) -> None:
    """Refuse an edit of no change or of more than SHEETS_MAX_CHANGES."""
    if count < 1:
        raise InvalidEdit("an edit needs at least one change")
    if count > settings.SHEETS_MAX_CHANGES:
        raise TooManyChanges(f"an edit holds at most {settings.SHEETS_MAX_CHANGES} changes, got {count}")


# JSON numbers beyond this lose precision in a browser (and orjson refuses
# integers past 64 bits): a position that large is left out of an error.
_JSON_SAFE = 2**53


def cell_fields(change: Change) -> dict[str, int | str]:
    """The fields of an error about one cell, as the change named it (``row``/``col`` or ``row_id``/``col_id``)."""
    fields: dict[str, int | str] = {}
    for name, value in (("row", change.row), ("col", change.col)):
        if value is not None and -_JSON_SAFE < value < _JSON_SAFE:
            fields[name] = value
    for name, text in (("row_id", change.row_id), ("col_id", change.col_id)):
        if text is not None:
            fields[name] = text
    return fields


def check_storable(change: Change) -> None:
    """Refuse a value the ledger cannot store on every backend, naming the cell in the error's fields."""
    if not is_storable(change.value):
        raise InvalidEdit("the value must be Unicode text without NUL or lone surrogates", **cell_fields(change))


def check_length(change: Change) -> None:
    """Refuse a value over SHEETS_MAX_VALUE_LENGTH characters, naming the cell in the error's fields."""
    limit = settings.SHEETS_MAX_VALUE_LENGTH
    if len(change.value) > limit:
        raise ValueTooLong(f"the value has {len(change.value)} characters; the limit is {limit}", **cell_fields(change))


def _check_shape(changes: Sequence[Change]) -> None:
    # Every length before any storability: a too-long value is named first.
    check_change_count(len(changes))
    for change in changes:
        by_position = change.row is not None and change.col is not None
        if by_position == (change.row_id is not None and change.col_id is not None):
            raise InvalidEdit("a change names its cell by row and col, or by row_id and col_id", **cell_fields(change))
    for change in changes:
        check_length(change)
    for change in changes:
        check_storable(change)


def _resolve(changes: Sequence[Change], rows: Axis, cols: Axis) -> list[Change]:
    """Give every change both names of its cell now, ids and positions; refuse ids that name no live row or column
    and positions outside the sheet."""
    try:
        row_at = rows.positions({change.row_id for change in changes if change.row_id is not None})
    except NotInAxis as exc:
        raise NoSuchRow("the edit names rows that do not exist or were deleted", row_ids=exc.args[0]) from None
    try:
        col_at = cols.positions({change.col_id for change in changes if change.col_id is not None})
    except NotInAxis as exc:
        raise NoSuchCol("the edit names columns that do not exist or were deleted", col_ids=exc.args[0]) from None
    resolved = []
    for change in changes:
        if change.row_id is not None and change.col_id is not None:
            resolved.append(replace(change, row=row_at[change.row_id], col=col_at[change.col_id]))
            continue
        assert change.row is not None and change.col is not None
        row_id = rows.id_at(change.row) if change.row < len(rows) else None
        col_id = cols.id_at(change.col) if change.col < len(cols) else None
        if row_id is None or col_id is None:
            raise OutOfRange(
                f"the cell is outside the sheet's {len(rows)} rows and {len(cols)} columns", **cell_fields(change)
            )
        resolved.append(replace(change, row_id=row_id, col_id=col_id))
    return resolved


def append_edit(
    *,
    sheet_id: int,
    user: User,
    client_event_id: uuid.UUID,
    changes: Sequence[Change],
) -> AppendResult:
    """Append every change as consecutive events, or nothing; update the projection; broadcast after commit."""
    return append_one(sheet_id=sheet_id, request=EditRequest(user=user, client_event_id=client_event_id, changes=changes))


def append_one(*, sheet_id: int, request: Request) -> AppendResult:
    """Append one operation (an edit or a structure change) or raise the EditRejected that refuses it."""
    (outcome,) = append_edits(sheet_id=sheet_id, requests=[request])
    if isinstance(outcome, EditRejected):
        raise outcome
    return outcome


def append_edits(*, sheet_id: int, requests: Sequence[Request], announce: bool = True) -> list[Outcome]:
    """Append several operations to one sheet in one transaction, in order, each one whole or refused.

    Group commit: the operations that reach a sheet while its previous
    transaction runs share the next one, so the lock, the reads, the
    inserts and the commit are paid once per batch instead of once per
    operation. Each is still judged alone, against the sheet as the ones
    before it in the batch left it (its rows, columns and cells), exactly
    as if they had been appended one after the other; a refused one
    appends nothing and does not affect the others. The outcomes are in
    the order of ``requests``.

    ``announce=False`` leaves the broadcast to a caller on the event loop
    (sheets.writes.group_commit), which sends it once this returns, i.e.
    after commit.
    """
    outcomes: list[Outcome | None] = [None] * len(requests)
    for index, request in enumerate(requests):
        try:
            if isinstance(request, EditRequest):
                _check_shape(request.changes)
            else:
                check_structure_shape(request)
        except EditRejected as exc:
            outcomes[index] = exc
    if all(outcome is not None for outcome in outcomes):
        return [outcome for outcome in outcomes if outcome is not None]
    # Pipelined: BEGIN leaves with the lock, and the writes with COMMIT (ledger.db).
    with pipelined(), transaction.atomic():
        events = _Batch(sheet_id, requests, outcomes).append()
        if events:
            if announce:
                transaction.on_commit(partial(broadcast_events, sheet_id=sheet_id, events=events))
            transaction.on_commit(partial(EVENTS_APPENDED.inc, len(events)))
    return [outcome for outcome in outcomes if outcome is not None]


class _Batch:
    """One transaction of a sheet's operations: the sheet as each of them finds it, and the events they make."""

    def __init__(self, sheet_id: int, requests: Sequence[Request], outcomes: list[Outcome | None]) -> None:
        self.sheet_id = sheet_id
        self.requests = requests
        self.outcomes = outcomes
        # The sheet's stream found and locked in one statement (Stream.DoesNotExist: no such sheet).
        self.stream = lock_stream_of(owner=Sheet, owner_id=sheet_id)
        self.rows, self.cols = order_now(stream=self.stream)
        self.rows_changed = self.cols_changed = False
        # The cells read so far (absent ones are not stored), the cells this batch sets, and the deleted ids.
        self.current: dict[IdCoord, CellState] = {}
        self.read: set[IdCoord] = set()
        self.touched: dict[IdCoord, CellState] = {}
        self.dropped_rows: set[str] = set()
        self.dropped_cols: set[str] = set()
        self.events: list[Event] = []

    def append(self) -> list[Event]:
        waiting = [index for index, outcome in enumerate(self.outcomes) if outcome is None]
        roles = roles_for(users=[self.requests[index].user for index in waiting], sheet_id=self.sheet_id)
        previous = events_for_client_ids(
            stream_id=self.stream.pk, client_event_ids={self.requests[index].client_event_id for index in waiting}
        )
        # Every edit's cells are named against the order as the batch starts
        # and read in one query; an edit after a structure change in the
        # same batch is named again against the order as that change left it.
        early = {index: self._resolved(self.requests[index]) for index in waiting}
        self._read([coord for found in early.values() if isinstance(found, list) for coord in _coords(found)])
        structure_seen = False
        now = timezone.now()
        for index in waiting:
            request = self.requests[index]
            try:
                if not can_edit(roles[request.user.pk]):
                    raise Forbidden("you do not have edit rights on this sheet")
                earlier = previous.get(request.client_event_id)
                if earlier:
                    if earlier[0].broadcaster_id != request.user.pk:
                        raise InvalidEdit("this client_event_id was already used by another user")
                    self.outcomes[index] = AppendResult(seqs=[e.seq for e in earlier], events=earlier, duplicate=True)
                    continue
                if isinstance(request, StructureRequest):
                    changes: list[CellChange | StructureChange] = [self._structure(request)]
                    structure_seen = True
                else:
                    found = self._resolved(request) if structure_seen else early[index]
                    if isinstance(found, EditRejected):
                        raise found
                    self._read(_coords(found))
                    _check_conflicts(found, self.current)
                    changes = list(self._cell_changes(request, found))
            except EditRejected as exc:
                self.outcomes[index] = exc
                continue
            appended = chain_events(stream=self.stream, changes=changes, recorded_at=now)
            for event in appended:
                event.broadcaster = request.user
            # A retry later in the same batch is answered with these events.
            previous[request.client_event_id] = appended
            self.outcomes[index] = AppendResult(seqs=[e.seq for e in appended], events=appended, duplicate=False)
            self.events.extend(appended)
        self._write()
        return self.events

    def _resolved(self, request: Request) -> list[Change] | EditRejected | None:
        if not isinstance(request, EditRequest):
            return None
        try:
            return _resolve(request.changes, self.rows, self.cols)
        except EditRejected as exc:
            return exc

    def _read(self, coords: Iterable[IdCoord]) -> None:
        missing = {coord for coord in coords if coord not in self.read}
        if missing:
            self.current.update(load_cells(stream_id=self.stream.pk, coords=missing))
            self.read |= missing

    def _cell_changes(self, request: Request, found: Sequence[Change]) -> Iterator[CellChange]:
        seq = self.stream.head
        for change in found:
            assert change.row_id is not None and change.col_id is not None
            assert change.row is not None and change.col is not None
            coord = (change.row_id, change.col_id)
            seq += 1
            yield CellChange(
                broadcaster_id=request.user.pk, client_event_id=request.client_event_id,
                row_id=change.row_id, col_id=change.col_id, row=change.row, col=change.col,
                old_value=self.current[coord].value if coord in self.current else "", new_value=change.value,
            )
            self.current[coord] = self.touched[coord] = CellState(value=change.value, last_seq=seq)

    def _structure(self, request: StructureRequest) -> StructureChange:
        """Judge a structure change against the order now, apply it to the batch's state, return its event."""
        on_rows = request.type in (ROWS_INSERTED, ROWS_DELETED)
        axis = self.rows if on_rows else self.cols
        common = {"broadcaster_id": request.user.pk, "client_event_id": request.client_event_id, "type": request.type}
        if request.type in (ROWS_INSERTED, COLUMNS_INSERTED):
            axis, first = judge_insert(request, axis, on_rows=on_rows)
            change = StructureChange(ids=request.ids, after=request.after, **common, **{"row" if on_rows else "col": first})
        else:
            before = axis
            axis, positions = judge_delete(request, axis, on_rows=on_rows)
            located = before.positions(request.ids)
            ordered = tuple(sorted(request.ids, key=located.__getitem__))
            change = StructureChange(ids=ordered, positions=tuple(positions), **common)
            gone = set(request.ids)
            (self.dropped_rows if on_rows else self.dropped_cols).update(gone)
            index = 0 if on_rows else 1
            for store in (self.current, self.touched):
                for coord in [coord for coord in store if coord[index] in gone]:
                    del store[coord]
        if on_rows:
            self.rows, self.rows_changed = axis, True
        else:
            self.cols, self.cols_changed = axis, True
        return change

    def _write(self) -> None:
        if not self.events:
            return
        write_events(stream=self.stream, events=self.events)
        store_cells(stream_id=self.stream.pk, cells=self.touched)
        if self.dropped_rows or self.dropped_cols:
            drop_cells(stream_id=self.stream.pk, row_ids=self.dropped_rows, col_ids=self.dropped_cols)
        if self.rows_changed or self.cols_changed:
            store_order(
                stream_id=self.stream.pk, seq=self.stream.head, hash=self.stream.head_hash,
                rows=self.rows if self.rows_changed else None, cols=self.cols if self.cols_changed else None,
            )


def _coords(changes: Sequence[Change]) -> list[IdCoord]:
    return [(c.row_id, c.col_id) for c in changes if c.row_id is not None and c.col_id is not None]


def _check_conflicts(changes: Sequence[Change], current: Mapping[IdCoord, CellState]) -> None:
    stale = sorted(
        {
            (c.row, c.col, c.row_id, c.col_id)
            for c in changes
            if c.base_seq is not None and (c.row_id, c.col_id) in current
            and current[(c.row_id, c.col_id)].last_seq > c.base_seq  # type: ignore[index]
        }
    )
    if stale:
        cells = []
        for row, col, row_id, col_id in stale:
            state = current[(row_id, col_id)]  # type: ignore[index]
            cells.append(
                {"row_id": row_id, "col_id": col_id, "row": row, "col": col, "value": state.value, "last_seq": state.last_seq}
            )
        raise Conflict("a cell changed after the base_seq of the edit", cells=cells)
