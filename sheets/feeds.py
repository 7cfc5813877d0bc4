"""Server frames built from the ledger and the projection (sync; the consumer wraps them)."""

from __future__ import annotations

from typing import Any

from ledger.selectors import events_after
from ledger.serialization import event_to_dict
from projections.selectors import cells_to_json, current_state


def events_frame(*, sheet_id: int, sheet_name: str, after: int, upto: int, limit: int) -> dict[str, Any]:
    """Return an ``events`` frame of at most ``limit`` events with ``after < seq <= upto``."""
    events = events_after(sheet_id=sheet_id, after=after, upto=upto, limit=limit)
    return {"type": "events", "events": [event_to_dict(event, sheet_name=sheet_name) for event in events]}


def snapshot_frame(*, sheet_id: int) -> dict[str, Any]:
    """Return a ``snapshot`` frame: every non-empty cell as of the head."""
    state = current_state(sheet_id=sheet_id)
    return {"type": "snapshot", "head": state.head, "cells": cells_to_json(state.cells)}
