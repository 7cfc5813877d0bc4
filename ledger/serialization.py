"""The JSON form of an event (PROTOCOL.md section 1)."""

from __future__ import annotations

from typing import Any

from ledger.hashing import format_timestamp
from ledger.models import Event
from ledger.selectors import EventRow


def event_to_dict(event: Event, *, sheet_name: str, with_hashes: bool = False) -> dict[str, Any]:
    """Render an event whose broadcaster is loaded (select_related) or cached."""
    data: dict[str, Any] = {
        "seq": event.seq,
        "type": Event.TYPE,
        "sheet": sheet_name,
        "row": event.row,
        "col": event.col,
        "old_value": event.old_value,
        "new_value": event.new_value,
        "broadcaster_id": event.broadcaster_id,
        "broadcaster": event.broadcaster.get_username(),
        "client_event_id": str(event.client_event_id),
        "recorded_at": format_timestamp(event.recorded_at),
    }
    if with_hashes:
        data["prev_hash"] = event.prev_hash
        data["hash"] = event.hash
    return data


def event_rows_to_dicts(rows: list[EventRow], *, sheet_name: str) -> list[dict[str, Any]]:
    """Render rows of ledger.selectors.event_rows_after as event_to_dict renders the same events.

    One comprehension over plain tuples: a replay renders thousands of
    events per frame, and this is most of its Python time.
    """
    kind = Event.TYPE
    return [
        {
            "seq": seq,
            "type": kind,
            "sheet": sheet_name,
            "row": row,
            "col": col,
            "old_value": old_value,
            "new_value": new_value,
            "broadcaster_id": broadcaster_id,
            "broadcaster": broadcaster,
            "client_event_id": client_event_id,
            "recorded_at": recorded_at,
        }
        for seq, row, col, old_value, new_value, broadcaster_id, broadcaster, client_event_id, recorded_at in rows
    ]
