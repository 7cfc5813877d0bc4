"""The one write path of the ledger: append_edit."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledger.broadcast import broadcast_events
from ledger.exceptions import Conflict, Forbidden, InvalidEdit, OutOfRange, TooManyChanges, ValueTooLong
from ledger.hashing import canonical_bytes, chain_hash, format_timestamp
from ledger.models import Event
from proj.metrics import EVENTS_APPENDED
from projections.fold import fold
from projections.services import load_cells, store_cells
from sheets.models import Sheet
from sheets.selectors import can_edit, role_for

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


def _check_bounds(sheet: Sheet, changes: Sequence[Change]) -> None:
    for change in changes:
        if not (0 <= change.row < sheet.rows and 0 <= change.col < sheet.cols):
            raise OutOfRange(
                f"cell (row {change.row}, col {change.col}) is outside the sheet's {sheet.rows} rows"
                f" and {sheet.cols} columns"
            )


def append_edit(
    *,
    sheet_id: int,
    user: User,
    client_event_id: uuid.UUID,
    changes: Sequence[Change],
) -> AppendResult:
    """Append every change as consecutive events, or nothing; update the projection; broadcast after commit."""
    _check_shape(changes)
    with transaction.atomic():
        # The sheet row lock serialises appends to one sheet: seqs are then
        # handed out in commit order, so a reader that has seen seq N can
        # never later meet a smaller seq committing behind it (DESIGN.md,
        # decision 1). It also makes the idempotency check below race-free:
        # two retries of one client_event_id queue here, and the second
        # finds the first one's events.
        sheet = Sheet.objects.select_for_update().get(pk=sheet_id)
        if not can_edit(role_for(user=user, sheet_id=sheet.pk)):
            raise Forbidden("you do not have edit rights on this sheet")

        previous = list(
            Event.objects.filter(sheet_id=sheet.pk, client_event_id=client_event_id)
            .select_related("broadcaster")
            .order_by("seq")
        )
        if previous:
            if previous[0].broadcaster_id != user.pk:
                raise InvalidEdit("this client_event_id was already used by another user")
            return AppendResult(seqs=[event.seq for event in previous], events=previous, duplicate=True)

        _check_bounds(sheet, changes)
        current = load_cells(sheet_id=sheet.pk, coords=[(c.row, c.col) for c in changes])
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

        now = timezone.now()
        recorded_at = format_timestamp(now)
        latest = {coord: state.value for coord, state in current.items()}
        prev_hash, seq = sheet.head_hash, sheet.head
        events: list[Event] = []
        for change in changes:
            seq += 1
            coord = (change.row, change.col)
            old_value = latest.get(coord, "")
            latest[coord] = change.value
            digest = chain_hash(
                prev_hash,
                canonical_bytes(
                    sheet=sheet.name,
                    seq=seq,
                    row=change.row,
                    col=change.col,
                    old_value=old_value,
                    new_value=change.value,
                    broadcaster_id=user.pk,
                    client_event_id=str(client_event_id),
                    recorded_at=recorded_at,
                ),
            )
            events.append(
                Event(
                    sheet=sheet,
                    seq=seq,
                    row=change.row,
                    col=change.col,
                    old_value=old_value,
                    new_value=change.value,
                    broadcaster=user,
                    client_event_id=client_event_id,
                    recorded_at=now,
                    prev_hash=prev_hash,
                    hash=digest,
                )
            )
            prev_hash = digest

        Event.objects.bulk_create(events)
        store_cells(sheet_id=sheet.pk, cells=fold(events, current))
        sheet.head, sheet.head_hash = seq, prev_hash
        sheet.save(update_fields=["head", "head_hash"])
        transaction.on_commit(partial(broadcast_events, sheet_id=sheet.pk, events=events))
        transaction.on_commit(partial(EVENTS_APPENDED.inc, len(events)))
    return AppendResult(seqs=[event.seq for event in events], events=events, duplicate=False)
