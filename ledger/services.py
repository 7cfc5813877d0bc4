"""The one write path of the ledger: append_edits (append_edit for a single edit)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ledger.broadcast import broadcast_events
from ledger.exceptions import (
    Conflict,
    EditRejected,
    Forbidden,
    InvalidEdit,
    OutOfRange,
    TooManyChanges,
    ValueTooLong,
)
from ledger.hashing import canonical_bytes, chain_hash, format_timestamp
from ledger.models import Event
from proj.metrics import EVENTS_APPENDED
from projections.fold import Cells, CellState, fold
from projections.services import load_cells, store_cells
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


def _is_storable(value: str) -> bool:
    # PostgreSQL text cannot hold NUL and UTF-8 (the hash's canonical form,
    # every outgoing frame) cannot hold a lone surrogate, while SQLite takes
    # both: refusing them here makes every backend and caller behave alike.
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_shape(changes: Sequence[Change]) -> None:
    if not changes:
        raise InvalidEdit("an edit needs at least one change")
    if len(changes) > settings.SHEETS_MAX_CHANGES:
        raise TooManyChanges(f"an edit holds at most {settings.SHEETS_MAX_CHANGES} changes, got {len(changes)}")
    limit = settings.SHEETS_MAX_VALUE_LENGTH
    for change in changes:
        if len(change.value) > limit:
            raise ValueTooLong(
                f"the value for row {change.row}, col {change.col} has {len(change.value)} characters;"
                f" the limit is {limit}"
            )
    for change in changes:
        if not _is_storable(change.value):
            raise InvalidEdit(f"the value for row {change.row}, col {change.col} holds NUL or a lone surrogate")


def _inside(sheet: Sheet, change: Change) -> bool:
    return 0 <= change.row < sheet.rows and 0 <= change.col < sheet.cols


def _check_bounds(sheet: Sheet, changes: Sequence[Change]) -> None:
    for change in changes:
        if not _inside(sheet, change):
            raise OutOfRange(
                f"cell (row {change.row}, col {change.col}) is outside the sheet's {sheet.rows} rows"
                f" and {sheet.cols} columns"
            )


@dataclass(frozen=True, slots=True)
class EditRequest:
    """One edit waiting to be appended: all of its changes, or none."""

    user: User
    client_event_id: uuid.UUID
    changes: Sequence[Change]


# What append_edits gives back for each request: its events, or why it was refused.
Outcome = AppendResult | EditRejected


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
    (sheets.appender), which sends it once this returns, i.e. after commit.
    """
    outcomes: list[Outcome | None] = [None] * len(requests)
    for index, request in enumerate(requests):
        try:
            _check_shape(request.changes)
        except EditRejected as exc:
            outcomes[index] = exc
    if all(outcome is not None for outcome in outcomes):
        return [outcome for outcome in outcomes if outcome is not None]
    with transaction.atomic():
        # The sheet row lock serialises appends to one sheet: seqs are then
        # handed out in commit order, so a reader that has seen seq N can
        # never later meet a smaller seq committing behind it (DESIGN.md,
        # decision 1). It also makes the idempotency check below race-free:
        # two retries of one client_event_id queue here, and the second
        # finds the first one's events.
        sheet = Sheet.objects.select_for_update().get(pk=sheet_id)
        events = _append_locked(sheet, requests, outcomes)
        if events:
            Sheet.objects.filter(pk=sheet.pk).update(head=events[-1].seq, head_hash=events[-1].hash)
            if announce:
                transaction.on_commit(partial(broadcast_events, sheet_id=sheet.pk, events=events))
            transaction.on_commit(partial(EVENTS_APPENDED.inc, len(events)))
    return [outcome for outcome in outcomes if outcome is not None]


def _append_locked(sheet: Sheet, requests: Sequence[EditRequest], outcomes: list[Outcome | None]) -> list[Event]:
    """Judge and append the requests still without an outcome; return the new events (the caller holds the lock)."""
    waiting = [index for index, outcome in enumerate(outcomes) if outcome is None]
    roles = roles_for(users=[requests[index].user for index in waiting], sheet_id=sheet.pk)
    previous: dict[uuid.UUID, list[Event]] = {}
    for event in (
        Event.objects.filter(sheet_id=sheet.pk, client_event_id__in={requests[index].client_event_id for index in waiting})
        .select_related("broadcaster")
        .order_by("seq")
    ):
        previous.setdefault(event.client_event_id, []).append(event)
    # Only cells inside the sheet are read: a change far outside it is
    # refused below, and some databases cannot even compare such a number.
    current = load_cells(
        sheet_id=sheet.pk,
        coords=[
            (c.row, c.col)
            for index in waiting
            for c in requests[index].changes
            if _inside(sheet, c)
        ],
    )
    loaded = dict(current)
    now = timezone.now()
    recorded_at = format_timestamp(now)
    prev_hash, seq = sheet.head_hash, sheet.head
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
        appended: list[Event] = []
        for change in request.changes:
            seq += 1
            coord = (change.row, change.col)
            old_value = current[coord].value if coord in current else ""
            current[coord] = CellState(value=change.value, last_seq=seq)
            digest = chain_hash(
                prev_hash,
                canonical_bytes(
                    sheet=sheet.name,
                    seq=seq,
                    row=change.row,
                    col=change.col,
                    old_value=old_value,
                    new_value=change.value,
                    broadcaster_id=request.user.pk,
                    client_event_id=str(request.client_event_id),
                    recorded_at=recorded_at,
                ),
            )
            appended.append(
                Event(
                    sheet=sheet,
                    seq=seq,
                    row=change.row,
                    col=change.col,
                    old_value=old_value,
                    new_value=change.value,
                    broadcaster=request.user,
                    client_event_id=request.client_event_id,
                    recorded_at=now,
                    prev_hash=prev_hash,
                    hash=digest,
                )
            )
            prev_hash = digest
        # A retry later in the same batch is answered with these events.
        previous[request.client_event_id] = appended
        outcomes[index] = AppendResult(seqs=[event.seq for event in appended], events=appended, duplicate=False)
        events.extend(appended)
    if events:
        _insert_events(events)
        store_cells(sheet_id=sheet.pk, cells=fold(events, loaded))
    return events


def _insert_events(events: list[Event]) -> None:
    """Insert the events in one statement, setting their pks."""
    if connection.vendor != "postgresql":
        Event.objects.bulk_create(events)
        return
    # bulk_create prepares each of the eleven values of every event through
    # its field, two thirds of the time of a 1,000-cell paste; PostgreSQL
    # takes each column whole, as one array, and unnests them.
    q = connection.ops.quote_name
    columns = ["seq", "row", "col", "old_value", "new_value", "broadcaster_id", "client_event_id", "recorded_at",
               "prev_hash", "hash"]
    types = ["bigint", "integer", "integer", "text", "text", "integer", "uuid", "timestamptz", "varchar", "varchar"]
    names = ", ".join(q(column) for column in columns)
    arrays = ", ".join(f"%s::{kind}[]" for kind in types)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(Event._meta.db_table)} (sheet_id, {names}) SELECT %s, * FROM unnest({arrays})"
            " RETURNING seq, id",
            [events[0].sheet_id, *([getattr(event, column) for event in events] for column in columns)],
        )
        ids = dict(cursor.fetchall())
    for event in events:
        event.pk = ids[event.seq]
        event._state.adding = False


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
