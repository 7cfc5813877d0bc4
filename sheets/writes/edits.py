"""The one write path of cell edits: append_edits (append_edit for a single edit).

Lock the sheet's stream, authorise, make retries idempotent, judge each
edit against the sheet as the edits before it left it, append the events to
the ledger and apply them to the projection, all in one transaction; the
caller announces them after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledger.hashing import COL_PREFIX, ROW_PREFIX
from ledger.models import Event
from ledger.services import CellChange, chain_events, events_for_client_ids, lock_stream, write_events
from ledger.values import is_storable
from projections.fold import Cells, CellState, fold
from projections.services import load_cells, store_cells
from sheets.broadcast.announce import broadcast_events
from sheets.exceptions import (
    Conflict,
    EditRejected,
    Forbidden,
    InvalidEdit,
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
    row: int
    col: int
    value: str
    base_seq: int | None = None


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


def cell_fields(row: int, col: int) -> dict[str, int]:
    """The ``row`` and ``col`` fields of an error about one cell, so that a client need not parse the message."""
    return {name: value for name, value in (("row", row), ("col", col)) if -_JSON_SAFE < value < _JSON_SAFE}


def check_storable(value: object, *, row: int, col: int) -> None:
    """Refuse a value the ledger cannot store on every backend, naming the cell in the error's fields."""
    if not is_storable(value):
        raise InvalidEdit("the value must be Unicode text without NUL or lone surrogates", **cell_fields(row, col))


def check_length(value: str, *, row: int, col: int) -> None:
    """Refuse a value over SHEETS_MAX_VALUE_LENGTH characters, naming the cell in the error's fields."""
    limit = settings.SHEETS_MAX_VALUE_LENGTH
    if len(value) > limit:
        raise ValueTooLong(f"the value has {len(value)} characters; the limit is {limit}", **cell_fields(row, col))


def _check_shape(changes: Sequence[Change]) -> None:
    # Every length before any storability: a too-long value is named first.
    check_change_count(len(changes))
    for change in changes:
        check_length(change.value, row=change.row, col=change.col)
    for change in changes:
        check_storable(change.value, row=change.row, col=change.col)


def _inside(sheet: Sheet, change: Change) -> bool:
    return 0 <= change.row < sheet.rows and 0 <= change.col < sheet.cols


def _check_bounds(sheet: Sheet, changes: Sequence[Change]) -> None:
    for change in changes:
        if not _inside(sheet, change):
            raise OutOfRange(
                f"the cell is outside the sheet's {sheet.rows} rows and {sheet.cols} columns",
                **cell_fields(change.row, change.col),
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
    # Only cells inside the sheet are read: a change far outside it is
    # refused below, and some databases cannot even compare such a number.
    current = load_cells(
        stream_id=stream.pk,
        coords=[(c.row, c.col) for index in waiting for c in requests[index].changes if _inside(sheet, c)],
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
            _check_bounds(sheet, request.changes)
            _check_conflicts(request.changes, current)
        except EditRejected as exc:
            outcomes[index] = exc
            continue
        changes = []
        for change in request.changes:
            coord = (change.row, change.col)
            changes.append(
                CellChange(
                    broadcaster_id=request.user.pk, client_event_id=request.client_event_id,
                    # Until rows and columns can be inserted, every row and
                    # column has the implicit id of its position.
                    row_id=f"{ROW_PREFIX}{change.row}", col_id=f"{COL_PREFIX}{change.col}",
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


def _check_conflicts(changes: Sequence[Change], current: Cells) -> None:
    stale = {
        (c.row, c.col)
        for c in changes
        if c.base_seq is not None and (c.row, c.col) in current and current[(c.row, c.col)].last_seq > c.base_seq
    }
    if stale:
        cells = [
            {"row": row, "col": col, "value": current[(row, col)].value, "last_seq": current[(row, col)].last_seq}
            for row, col in sorted(stale)
        ]
        raise Conflict("a cell changed after the base_seq of the edit", cells=cells)
