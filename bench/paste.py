"""paste: one 1,000-cell edit; time to its ack and to its delivery at every one of 20 subscribers."""

from __future__ import annotations

import asyncio
from typing import Any

from bench.common import Ws, make_sheet, make_users, median, now_ms, open_subscribed, open_ws, print_table, rounded
from bench.env import BASELINE_APP, BenchEnv
from proj.testing.servers import DaphneServer

SUBSCRIBERS = 20
BLOCK_ROWS, BLOCK_COLS = 40, 25


async def _measure(server: DaphneServer, sheet: str, writer_session: str, reader_session: str, *,
                   pastes: int, baseline: bool) -> list[tuple[float, float]]:
    """Return (ack ms, delivered-to-all ms) of each paste; the baseline has no ack (nan)."""
    readers = await open_subscribed(server, sheet, [reader_session] * SUBSCRIBERS)
    writer = await open_ws(server, sheet, writer_session)
    await writer.subscribe()
    results = []
    for k in range(pastes):
        prefix = f"p{k}-"
        changes = [(r, c, f"{prefix}{r}-{c}") for r in range(BLOCK_ROWS) for c in range(BLOCK_COLS)]

        async def delivered(ws: Ws, prefix: str = prefix, expected: int = len(changes)) -> float:
            seen = 0
            while seen < expected:
                frame = await ws.receive()
                if frame["type"] == "events":
                    seen += sum(1 for e in frame["events"] if e["new_value"].startswith(prefix))
            return now_ms()

        async def acked(cid_box: list[str], own: list[int], prefix: str = prefix) -> float:
            # The writer is a subscriber too, and its copy of the events may
            # come before or after its ack: count it either way.
            while True:
                frame = await writer.receive()
                if frame["type"] == "events":
                    own[0] += sum(1 for e in frame["events"] if e["new_value"].startswith(prefix))
                if not baseline and frame["type"] == "ack" and frame["client_event_id"] == cid_box[0]:
                    return now_ms()
                if baseline and frame["type"] == "events" and frame["events"][0]["client_event_id"] == cid_box[0]:
                    return float("nan")

        box: list[str] = []
        own = [0]
        started = now_ms()
        box.append(await writer.send_edit(changes))
        ack_at, *arrivals = await asyncio.gather(acked(box, own), *(delivered(ws) for ws in readers))
        while own[0] < len(changes):
            # Read the writer's own copy before the next paste.
            frame = await writer.receive()
            if frame["type"] == "events":
                own[0] += sum(1 for e in frame["events"] if e["new_value"].startswith(prefix))
        results.append((ack_at - started, max(arrivals) - started))
    for ws in [*readers, writer]:
        await ws.close()
    return results


def run(env: BenchEnv, *, quick: bool) -> dict[str, Any]:
    pastes = 3 if quick else 10
    (writer, writer_session), (reader, reader_session) = make_users(2)
    make_sheet("paste", editors=[writer, reader])
    ours = env.start_daphne(name="ours")
    baseline = env.start_daphne(BASELINE_APP, name="baseline")
    mine = asyncio.run(_measure(ours, "paste", writer_session, reader_session, pastes=pastes, baseline=False))
    base = asyncio.run(_measure(baseline, "paste", writer_session, reader_session, pastes=pastes, baseline=True))
    rows = [
        ("ours", median([a for a, _ in mine]), max(a for a, _ in mine), median([d for _, d in mine]),
         max(d for _, d in mine)),
        ("baseline (no ack)", float("nan"), float("nan"), median([d for _, d in base]), max(d for _, d in base)),
    ]
    print_table(f"paste: {BLOCK_ROWS * BLOCK_COLS} cells, {SUBSCRIBERS} subscribers, median of {pastes}",
                ["app", "ack ms", "max ack ms", "delivered ms", "max delivered ms"], rows)
    return rounded({
        "cells": BLOCK_ROWS * BLOCK_COLS, "subscribers": SUBSCRIBERS, "pastes": pastes,
        "ack_ms": median([a for a, _ in mine]), "delivered_ms": median([d for _, d in mine]),
        "baseline_delivered_ms": median([d for _, d in base]),
    })
