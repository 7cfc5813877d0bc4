"""Server frames built from the ledger and the projection (sync; the consumer wraps them).

daphne's websocket layer refuses to send a message over its
--websocket-max-message-size (1 MiB by default) and kills the connection, so
every frame built here stays under SHEETS_MAX_OUTGOING_FRAME_BYTES, measured
as the encoded JSON that will be sent.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from ledger.selectors import events_after
from sheets.encoding import encode_frame
from ledger.serialization import event_to_dict
from projections.selectors import cells_to_json, current_state


def encoded_size(value: Any) -> int:
    """Return the byte length of ``value`` encoded as the consumer sends it."""
    return len(encode_frame(value))


def events_frame(*, sheet_id: int, sheet_name: str, after: int, upto: int, limit: int) -> dict[str, Any]:
    """Return an ``events`` frame of at most ``limit`` events with ``after < seq <= upto``, within the byte budget."""
    budget = settings.SHEETS_MAX_OUTGOING_FRAME_BYTES - 64
    events: list[dict[str, Any]] = []
    used = 0
    for event in events_after(sheet_id=sheet_id, after=after, upto=upto, limit=limit):
        data = event_to_dict(event, sheet_name=sheet_name)
        size = encoded_size(data) + 1
        # One event always fits (values are at most 32,768 characters); a
        # frame stops before the event that would overflow it.
        if events and used + size > budget:
            break
        events.append(data)
        used += size
    return {"type": "events", "events": events}


def snapshot_frame(*, sheet_id: int) -> dict[str, Any] | None:
    """Return a ``snapshot`` frame of every non-empty cell as of the head, or None when it would be too large to send."""
    state = current_state(sheet_id=sheet_id)
    frame = {"type": "snapshot", "head": state.head, "cells": cells_to_json(state.cells)}
    if encoded_size(frame) > settings.SHEETS_MAX_OUTGOING_FRAME_BYTES:
        return None
    return frame
