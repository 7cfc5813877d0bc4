"""Seed a sheet with many events through the one write path, 1,000 changes per append_edit call."""

from __future__ import annotations

import random
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

ROWS, COLS, BLOCK_ROWS, BLOCK_COLS = 1000, 26, 40, 25


def seed_events(*, sheet: Any, user: Any = None, users: Sequence[Any] = (), events: int, seed: int | None = None,
                report_every: int = 100_000) -> float:
    """Append ``events`` events to ``sheet`` as 40 x 25 pastes at random places; return events/s.

    The pastes are by ``user``, or by ``users`` in turn, a thousand events each.
    """
    from sheets.writes.edits import Change, append_edit

    authors = list(users) or [user]
    rng = random.Random(sheet.pk if seed is None else seed)
    started, done, reported = time.perf_counter(), 0, 0
    while done < events:
        top, left = rng.randrange(ROWS - BLOCK_ROWS), rng.randrange(COLS - BLOCK_COLS + 1)
        changes = [
            Change(row=top + r, col=left + c, value=f"{rng.randrange(10**6)}")
            for r in range(BLOCK_ROWS) for c in range(BLOCK_COLS)
        ][: events - done]
        author = authors[(done // 1000) % len(authors)]
        append_edit(sheet_id=sheet.pk, user=author, client_event_id=uuid.uuid4(), changes=changes)
        done += len(changes)
        if done - reported >= report_every:
            reported = done
            print(f"  seeded {done:,} events, {done / (time.perf_counter() - started):,.0f}/s",
                  file=sys.stderr, flush=True)
    return events / (time.perf_counter() - started)
