"""An event as a stored record and as the protocol's JSON object (docs/protocol.md, section 3)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.hashing import LedgerRecord, document, format_timestamp
from ledger.models import Event

# The columns of a LedgerRecord, as values_list reads them from an Event.
RECORD_COLUMNS = LedgerRecord._fields
_CLIENT_EVENT_ID = RECORD_COLUMNS.index("client_event_id")
_RECORDED_AT = RECORD_COLUMNS.index("recorded_at")


def record_of(event: Event, *, recorded_at: str | None = None) -> LedgerRecord:
    """Return an event's record (its columns in canonical form).

    ``recorded_at``: the event's time already formatted, for a batch that
    shares one (formatting is a noticeable part of a large paste).
    """
    values = [getattr(event, name) for name in RECORD_COLUMNS]
    values[_CLIENT_EVENT_ID] = str(event.client_event_id)
    values[_RECORDED_AT] = recorded_at if recorded_at is not None else format_timestamp(event.recorded_at)
    return LedgerRecord._make(values)


def record_from_row(row: Sequence[Any]) -> LedgerRecord:
    """Return the record of a ``values_list(*RECORD_COLUMNS)`` row (a UUID and a datetime to convert)."""
    values = list(row)
    values[_CLIENT_EVENT_ID] = str(values[_CLIENT_EVENT_ID])
    if not isinstance(values[_RECORDED_AT], str):
        values[_RECORDED_AT] = format_timestamp(values[_RECORDED_AT])
    return LedgerRecord._make(values)


def event_to_dict(event: Event, *, sheet_name: str, with_hashes: bool = False) -> dict[str, Any]:
    """Render an event whose broadcaster is loaded (select_related) or cached."""
    return record_to_dict(
        record_of(event), sheet_name=sheet_name, broadcaster=event.broadcaster.get_username(), with_hashes=with_hashes
    )


def record_to_dict(record: LedgerRecord, *, sheet_name: str, broadcaster: str, with_hashes: bool = False
                   ) -> dict[str, Any]:
    """Render a record as the protocol's event object."""
    data = document(record, sheet=sheet_name)
    data["broadcaster"] = broadcaster
    if with_hashes:
        data["prev_hash"] = record.prev_hash
        data["hash"] = record.hash
    return data


# What ledger.selectors.event_rows_after returns per event: its record and its broadcaster's username.
EventRow = tuple[LedgerRecord, str]


def event_rows_to_dicts(rows: Sequence[EventRow], *, sheet_name: str) -> list[dict[str, Any]]:
    """Render rows of ledger.selectors.event_rows_after as event_to_dict renders the same events."""
    return [record_to_dict(record, sheet_name=sheet_name, broadcaster=username) for record, username in rows]
