"""The JSON form of an event (docs/protocol.md, "Events")."""

from __future__ import annotations

from typing import Any

from ledger.hashing import EVENT_FIELDS, EVENT_TYPE, format_timestamp
from ledger.models import Event

# What ledger.selectors.event_rows_after returns per event: EVENT_FIELDS, then the broadcaster's username.
EventRow = tuple[Any, ...]
_ROW_KEYS = (*EVENT_FIELDS, "broadcaster")


def event_record(event: Event, *, recorded_at: str | None = None) -> dict[str, Any]:
    """Return the hashed fields of an event (EVENT_FIELDS), in their canonical form.

    ``recorded_at``: the event's time already formatted, for a batch that
    shares one (formatting is a noticeable part of a large paste).
    """
    record = {name: getattr(event, name) for name in EVENT_FIELDS}
    record["client_event_id"] = str(event.client_event_id)
    record["recorded_at"] = recorded_at if recorded_at is not None else format_timestamp(event.recorded_at)
    return record


def event_to_dict(event: Event, *, sheet_name: str, with_hashes: bool = False) -> dict[str, Any]:
    """Render an event whose broadcaster is loaded (select_related) or cached."""
    data: dict[str, Any] = {"type": EVENT_TYPE, "sheet": sheet_name, **event_record(event)}
    data["broadcaster"] = event.broadcaster.get_username()
    if with_hashes:
        data["prev_hash"] = event.prev_hash
        data["hash"] = event.hash
    return data


def event_rows_to_dicts(rows: list[EventRow], *, sheet_name: str) -> list[dict[str, Any]]:
    """Render rows of ledger.selectors.event_rows_after as event_to_dict renders the same events.

    One comprehension over plain tuples: a replay renders thousands of
    events per frame, and this is most of its Python time.
    """
    keys = _ROW_KEYS
    return [{"type": EVENT_TYPE, "sheet": sheet_name, **dict(zip(keys, row, strict=True))} for row in rows]
