"""Server frames built from the ledger and the projection, within the size a frame may have (sync).

daphne's websocket layer refuses to send a message over its
--websocket-max-message-size (1 MiB by default) and kills the connection, so
every frame built here stays under SHEETS_MAX_OUTGOING_FRAME_BYTES, measured
as the encoded JSON that will be sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings

from ledger.models import Event, Stream
from ledger.selectors import event_rows_after
from ledger.serialization import event_rows_to_dicts, event_to_dict
from projections.selectors import read_now
from sheets.broadcast.encoding import encode_frame


def encoded_size(value: Any) -> int:
    """Return the byte length of ``value`` encoded as the consumer sends it."""
    return len(encode_frame(value))


def events_message(*, events: Sequence[Event]) -> dict[str, Any]:
    """Build the group message of committed events: the events inline, or only their seq range when they are large.

    A message without its events makes every subscriber read them from the
    ledger (SheetConsumer.sheet_events), in frames that fit.
    """
    message: dict[str, Any] = {"type": "sheet.events", "first": events[0].seq, "last": events[-1].seq}
    # First a cheap bound in characters of values, so that a huge paste is
    # not even rendered; then the exact size of the frame the subscribers
    # will be sent, which escaping (a control character is six bytes) can
    # make several times larger than its characters, and which must stay
    # within the budget of a frame.
    size = sum(len(event.old_value) + len(event.new_value) for event in events)
    if size <= settings.SHEETS_INLINE_BROADCAST_BYTES:
        sheet_name = events[0].stream.name
        rendered = [event_to_dict(event, sheet_name=sheet_name) for event in events]
        if encoded_size({"type": "events", "events": rendered}) <= settings.SHEETS_MAX_OUTGOING_FRAME_BYTES:
            message["events"] = rendered
    return message


def events_frame(*, stream_id: int, sheet_name: str, after: int, upto: int, limit: int) -> dict[str, Any]:
    """Return an ``events`` frame of at most ``limit`` events with ``after < seq <= upto``, within the byte budget."""
    budget = settings.SHEETS_MAX_OUTGOING_FRAME_BYTES - 64
    rows = event_rows_after(stream_id=stream_id, after=after, upto=upto, limit=limit)
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


def snapshot_frame(*, stream_id: int) -> dict[str, Any] | None:
    """Return a ``snapshot`` frame of the sheet as of the head (order and non-empty cells), or None when too large."""
    read = read_now(stream=Stream.objects.get(pk=stream_id))
    frame = {
        "type": "snapshot", "head": read.head, "row_ids": read.row_ids, "col_ids": read.layout.cols.ids(),
        "cells": read.cells,
    }
    if encoded_size(frame) > settings.SHEETS_MAX_OUTGOING_FRAME_BYTES:
        return None
    return frame
