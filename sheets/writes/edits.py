"""The one write path of cell edits: append_edits (append_edit for a single edit).

Lock the sheet's stream, authorise, make retries idempotent, judge each
edit against the sheet as the edits before it left it, append the events to
the ledger and apply them to the projection, all in one transaction; the
caller announces them after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledger.hashing import COL_PREFIX, ROW_PREFIX
from ledger.models import Event
from ledger.services import CellChange, chain_events, events_for_client_ids, lock_stream, write_events
from ledger.values import is_storable
from projections.axis import Axis, NotInAxis
from projections.fold import Cells, CellState, fold
from projections.services import load_cells, store_cells
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


def _axes(sheet: Sheet) -> tuple[Axis, Axis]:
    """The sheet's rows and columns in order.

    No operation inserts or deletes them yet, so they are the ones the
    sheet was created with, by their implicit ids.
    """
    return Axis.created(ROW_PREFIX, sheet.rows), Axis.created(COL_PREFIX, sheet.cols)


def _resolve(changes: Sequence[Change], rows: Axis, cols: Axis) -> list[Change]:
    """Give every change named by id the position of its cell now; refuse ids that name no live row or column."""
    try:
        row_at = rows.positions({change.row_id for change in changes if change.row_id is not None})
    except NotInAxis as exc:
        raise NoSuchRow("the edit names rows that do not exist or were deleted", row_ids=exc.args[0]) from None
    try:
        col_at = cols.positions({change.col_id for change in changes if change.col_id is not None})
    except NotInAxis as exc:
        raise NoSuchCol("the edit names columns that do not exist or were deleted", col_ids=exc.args[0]) from None
    return [
        replace(change, row=row_at[change.row_id], col=col_at[change.col_id])
        if change.row_id is not None and change.col_id is not None
        else change
        for change in changes
    ]


def _inside(sheet: Sheet, change: Change) -> bool:
    assert change.row is not None and change.col is not None
    return 0 <= change.row < sheet.rows and 0 <= change.col < sheet.cols


def _check_bounds(sheet: Sheet, changes: Sequence[Change]) -> None:
    for change in changes:
        if not _inside(sheet, change):
            raise OutOfRange(
                f"the cell is outside the sheet's {sheet.rows} rows and {sheet.cols} columns",
                **cell_fields(change),
            )


def append_edit(
    *,
    sheet_id: int,
    user: User,
    client_event_id: uuid.UUID,
    changes: Sequence[Change],
) -> AppendResult:
    """Append every change as consecutive events, or nothing; update the projection; broadcast after commit."""
    (outcome,) = append_edits(
        sheet_id=sheet_id, requests=[EditRequest(user=user, client_event_id=client_event_id, changes=changes)]
    )
    if isinstance(outcome, EditRejected):
        raise outcome
    return outcome


def append_edits(*, sheet_id: int, requests: Sequence[EditRequest], announce: bool = True) -> list[Outcome]:
    """Append several edits to one sheet in one transaction, in order, each one whole or refused.

    Group commit: the edits that reach a sheet while its previous
    transaction runs share the next one, so the lock, the reads, the
    inserts and the commit are paid once per batch instead of once per
    edit. Each edit is still judged alone, against the sheet as the edits
    before it in the batch left it, exactly as if they had been appended
    one after the other; a refused edit appends nothing and does not
    affect the others. The outcomes are in the order of ``requests``.

    ``announce=False`` leaves the broadcast to a caller on the event loop
    (sheets.writes.group_commit), which sends it once this returns, i.e.
    after commit.
    """
    outcomes: list[Outcome | None] = [None] * len(requests)
    for index, request in enumerate(requests):
        try:
            _check_shape(request.changes)
        except EditRejected as exc:
            outcomes[index] = exc
    if all(outcome is not None for outcome in outcomes):
        return [outcome for outcome in outcomes if outcome is not None]
    sheet = Sheet.objects.get(pk=sheet_id)
    with transaction.atomic():
        events = _append_locked(sheet, requests, outcomes)
        if events:
            if announce:
                transaction.on_commit(partial(broadcast_events, sheet_id=sheet.pk, events=events))
            transaction.on_commit(partial(EVENTS_APPENDED.inc, len(events)))
    return [outcome for outcome in outcomes if outcome is not None]


def _append_locked(sheet: Sheet, requests: Sequence[EditRequest], outcomes: list[Outcome | None]) -> list[Event]:
    """Lock the stream, judge and append the requests still without an outcome; return the new events."""
    stream = lock_stream(stream_id=sheet.stream_id)
    waiting = [index for index, outcome in enumerate(outcomes) if outcome is None]
    roles = roles_for(users=[requests[index].user for index in waiting], sheet_id=sheet.pk)
    previous = events_for_client_ids(
        stream_id=stream.pk, client_event_ids={requests[index].client_event_id for index in waiting}
    )
    rows, cols = _axes(sheet)
    resolved: dict[int, list[Change] | EditRejected] = {}
    for index in waiting:
        try:
            resolved[index] = _resolve(requests[index].changes, rows, cols)
        except EditRejected as exc:
            resolved[index] = exc
    # Only cells inside the sheet are read: a change far outside it is
    # refused below, and some databases cannot even compare such a number.
    current = load_cells(
        stream_id=stream.pk,
        coords=[
            (c.row, c.col)
            for found in resolved.values() if not isinstance(found, EditRejected)
            for c in found if _inside(sheet, c)
        ],
    )
    loaded = dict(current)
    now = timezone.now()
    events: list[Event] = []
    for index in waiting:
        request = requests[index]
        try:
            if not can_edit(roles[request.user.pk]):
                raise Forbidden("you do not have edit rights on this sheet")
            earlier = previous.get(request.client_event_id)
            if earlier:
                if earlier[0].broadcaster_id != request.user.pk:
                    raise InvalidEdit("this client_event_id was already used by another user")
                outcomes[index] = AppendResult(seqs=[event.seq for event in earlier], events=earlier, duplicate=True)
                continue
            found = resolved[index]
            if isinstance(found, EditRejected):
                raise found
            _check_bounds(sheet, found)
            _check_conflicts(found, current, rows=rows, cols=cols)
        except EditRejected as exc:
            outcomes[index] = exc
            continue
        changes = []
        for change in found:
            coord = (change.row, change.col)
            changes.append(
                CellChange(
                    broadcaster_id=request.user.pk, client_event_id=request.client_event_id,
                    row_id=change.row_id or rows.id_at(change.row), col_id=change.col_id or cols.id_at(change.col),
                    row=change.row, col=change.col, old_value=current[coord].value if coord in current else "",
                    new_value=change.value,
                )
            )
            current[coord] = CellState(value=change.value, last_seq=stream.head + len(changes))
        appended = chain_events(stream=stream, changes=changes, recorded_at=now)
        for event in appended:
            event.broadcaster = request.user
        # A retry later in the same batch is answered with these events.
        previous[request.client_event_id] = appended
        outcomes[index] = AppendResult(seqs=[event.seq for event in appended], events=appended, duplicate=False)
        events.extend(appended)
    if events:
        write_events(stream=stream, events=events)
        store_cells(stream_id=stream.pk, cells=fold(events, loaded))
    return events


def _check_conflicts(changes: Sequence[Change], current: Cells, *, rows: Axis, cols: Axis) -> None:
    stale = {
        (c.row, c.col)
        for c in changes
        if c.base_seq is not None and (c.row, c.col) in current and current[(c.row, c.col)].last_seq > c.base_seq
    }
    if stale:
        cells = [
            {
                "row_id": rows.id_at(row), "col_id": cols.id_at(col), "row": row, "col": col,
                "value": current[(row, col)].value, "last_seq": current[(row, col)].last_seq,
            }
            for row, col in sorted(stale)
        ]
        raise Conflict("a cell changed after the base_seq of the edit", cells=cells)
