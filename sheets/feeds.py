"""Server frames built from the ledger and the projection (sync; the consumer wraps them).

daphne's websocket layer refuses to send a message over its
--websocket-max-message-size (1 MiB by default) and kills the connection, so
every frame built here stays under SHEETS_MAX_OUTGOING_FRAME_BYTES, measured
as the encoded JSON that will be sent.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from ledger.selectors import event_rows_after
from ledger.serialization import event_rows_to_dicts
from sheets.encoding import encode_frame
from projections.selectors import current_cells_json


def encoded_size(value: Any) -> int:
    """Return the byte length of ``value`` encoded as the consumer sends it."""
    return len(encode_frame(value))


def events_frame(*, sheet_id: int, sheet_name: str, after: int, upto: int, limit: int) -> dict[str, Any]:
    """Return an ``events`` frame of at most ``limit`` events with ``after < seq <= upto``, within the byte budget."""
    budget = settings.SHEETS_MAX_OUTGOING_FRAME_BYTES - 64
    rows = event_rows_after(sheet_id=sheet_id, after=after, upto=upto, limit=limit)
    events = event_rows_to_dicts(rows, sheet_name=sheet_name)
    # The events encode as "[" + their JSON joined by "," + "]": one byte
    # more than the sum of (size + 1) over the events. Encoding the list
    # once settles the usual frame; only one that overflows is measured
    # event by event to find where to cut.
    if len(encode_frame(events)) - 1 <= budget:
        return {"type": "events", "events": events}
    used = 0
    for count, data in enumerate(events):
        used += encoded_size(data) + 1
        # One event always fits (values are at most 32,768 characters); a
        # frame stops before the event that would overflow it.
        if count and used > budget:
            return {"type": "events", "events": events[:count]}
    return {"type": "events", "events": events}


def snapshot_frame(*, sheet_id: int) -> dict[str, Any] | None:
    """Return a ``snapshot`` frame of every non-empty cell as of the head, or None when it would be too large to send."""
    head, cells = current_cells_json(sheet_id=sheet_id)
    frame = {"type": "snapshot", "head": head, "cells": cells}
    if encoded_size(frame) > settings.SHEETS_MAX_OUTGOING_FRAME_BYTES:
        return None
    return frame
