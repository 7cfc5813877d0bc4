"""The JSON form of an event (PROTOCOL.md section 1)."""

from __future__ import annotations

from typing import Any

from ledger.hashing import format_timestamp
from ledger.models import Event


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
