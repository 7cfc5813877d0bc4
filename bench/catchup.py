"""catchup: subscribe from 0 to a sheet 10,000 events ahead (replay) and far ahead (snapshot).

Beside it, in this process: the same rows read with psycopg and encoded as
the same JSON frames with the same encoder, the floor for a replay that
reads the ledger.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connection
from websockets.exceptions import ConnectionClosed

from bench.common import make_sheet, make_users, median, now_ms, open_ws, print_table, rounded
from bench.env import BenchEnv, database_url
from bench.seed import seed_events
from ledger.hashing import COL_PREFIX, ROW_PREFIX
from proj.testing.servers import DaphneServer
from sheets.broadcast.encoding import encode_frame

REPLAY_EVENTS = 10_000
FRAME = 500
# deploy/env.example: just under the 16 MiB websocket limit daphne is deployed with.
DEPLOYED_OUTGOING_FRAME_BYTES = "16000000"
TIMESTAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


@dataclass(frozen=True)
class Replay:
    """One subscribe from 0: ms to caught_up, the events and snapshot cells received, and the first event."""

    ms: float
    events: int
    cells: int
    first: dict[str, Any]


async def _subscribe(server: DaphneServer, sheet: str, sessionid: str) -> Replay:
    ws = await open_ws(server, sheet, sessionid)
    started = now_ms()
    frames = await ws.subscribe()
    elapsed = now_ms() - started
    await ws.close()
    return Replay(
        ms=elapsed,
        events=sum(len(f["events"]) for f in frames if f["type"] == "events"),
        cells=sum(len(f["cells"]) for f in frames if f["type"] == "snapshot"),
        first=next((f["events"][0] for f in frames if f["type"] == "events"), {}),
    )


def _raw_events_per_s(stream_id: int, sheet_name: str) -> tuple[float, dict[str, Any]]:
    """Read the sheet's events in frames of 500 with psycopg, build the same dicts, encode them.

    The same objects the server sends for these events (every one a
    CellChanged, with its row and column ids), encoded as the server encodes
    its frames (orjson, sheets/broadcast/encoding.py): less work here would
    flatter the ratio.
    """
    table = connection.ops.quote_name("ledger_event")
    started = time.perf_counter()
    count, after = 0, 0
    first: dict[str, Any] = {}
    with psycopg.connect(database_url()) as conn:
        while True:
            rows = conn.execute(
                f'SELECT e.seq, e.type, e.broadcaster_id, e.client_event_id,'
                f" to_char(e.recorded_at AT TIME ZONE 'UTC', '{TIMESTAMP_FORMAT}'),"
                f" coalesce(e.row_id, '{ROW_PREFIX}' || e.\"row\"), coalesce(e.col_id, '{COL_PREFIX}' || e.col),"
                f' e."row", e.col, e.old_value, e.new_value, u.username'
                f" FROM {table} e JOIN auth_user u ON u.id = e.broadcaster_id"
                f" WHERE e.stream_id = %s AND e.seq > %s ORDER BY e.seq LIMIT %s",
                (stream_id, after, FRAME),
            ).fetchall()
            if not rows:
                break
            events = [
                {"seq": seq, "type": kind, "sheet": sheet_name, "broadcaster_id": uid, "client_event_id": str(cid),
                 "recorded_at": at, "row_id": row_id, "col_id": col_id, "row": row, "col": col, "old_value": old,
                 "new_value": new, "broadcaster": uname}
                for seq, kind, uid, cid, at, row_id, col_id, row, col, old, new, uname in rows
            ]
            encode_frame({"type": "events", "events": events})
            first = first or events[0]
            count += len(rows)
            after = rows[-1][0]
    return count / (time.perf_counter() - started), first


def _settle() -> None:
    """Let PostgreSQL finish what the seeding left it (autovacuum of a million new rows, a checkpoint) now.

    Otherwise that background work lands on whichever side is measured
    first (ours), not on the raw reader.
    """
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")


def _start_wide_daphne(env: BenchEnv) -> DaphneServer:
    """Start a daphne with deploy/env.example's limits: 16 MiB websocket messages and the outgoing budget to match."""
    saved = env.env.get("SHEETS_MAX_OUTGOING_FRAME_BYTES")
    env.env["SHEETS_MAX_OUTGOING_FRAME_BYTES"] = DEPLOYED_OUTGOING_FRAME_BYTES
    try:
        return env.start_daphne(name="ours-16mib", extra_args=[
            "--websocket-max-message-size", str(16 * 1024 * 1024),
            "--websocket-max-frame-size", str(16 * 1024 * 1024),
        ])
    finally:
        if saved is None:
            del env.env["SHEETS_MAX_OUTGOING_FRAME_BYTES"]
        else:
            env.env["SHEETS_MAX_OUTGOING_FRAME_BYTES"] = saved


def run(env: BenchEnv, *, quick: bool) -> dict[str, Any]:
    big = 20_000 if quick else int(os.environ.get("BENCH_BIG_EVENTS", "1000000"))
    repeats = 3 if quick else 5
    ((user, sessionid),) = make_users(1)
    small_sheet = make_sheet("catchup", editors=[user])
    big_sheet = make_sheet("catchup-big", editors=[user])
    seed_rate = seed_events(sheet=small_sheet, user=user, events=REPLAY_EVENTS)
    seed_events(sheet=big_sheet, user=user, events=big)
    _settle()
    ours = env.start_daphne(name="ours")
    # Ours and the raw reader take turns, so both see the same machine.
    replays, raws = [], []
    for _ in range(repeats):
        replays.append(asyncio.run(_subscribe(ours, "catchup", sessionid)))
        raws.append(_raw_events_per_s(small_sheet.stream_id, "catchup"))
    assert all(replay.events == REPLAY_EVENTS for replay in replays), replays
    # The baseline builds exactly what the server sends.
    assert raws[0][1] == replays[0].first, (raws[0][1], replays[0].first)
    raw = median([rate for rate, _ in raws])
    # At daphne's defaults (1 MiB websocket messages, an outgoing budget of
    # 1,000,000 bytes) a snapshot of a well-filled sheet does not fit: the
    # server replays every event instead. Record what happened, then
    # measure the snapshot on a daphne configured as deployed.
    try:
        big_replay = asyncio.run(_subscribe(ours, "catchup-big", sessionid))
        default_limit = (f"snapshot of {big_replay.cells} cells" if big_replay.cells
                         else f"no snapshot, {big_replay.events} events replayed")
    except ConnectionClosed as exc:
        default_limit = f"closed {exc.rcvd.code if exc.rcvd else None}"
    wide = _start_wide_daphne(env)
    snapshots = [asyncio.run(_subscribe(wide, "catchup-big", sessionid)) for _ in range(repeats)]
    replay_ms = median([replay.ms for replay in replays])
    snapshot_ms = median([snapshot.ms for snapshot in snapshots])
    events_per_s = REPLAY_EVENTS / (replay_ms / 1000)
    print_table(f"catchup: subscribe from 0, median of {repeats}",
                ["case", "events behind", "ms to caught_up", "events/s", "snapshot cells", "events after it"],
                [("replay", REPLAY_EVENTS, replay_ms, events_per_s, 0, replays[0].events),
                 ("snapshot", big, snapshot_ms, float("nan"), snapshots[0].cells, snapshots[0].events),
                 ("raw psycopg + json", REPLAY_EVENTS, REPLAY_EVENTS / raw * 1000, raw, 0, REPLAY_EVENTS)])
    print(f"(seeding through append_edit ran at {seed_rate:,.0f} events/s; {big:,} behind at daphne's and the"
          f" outgoing budget's defaults: {default_limit}; the snapshot measured with --websocket-max-message-size"
          f" 16 MiB and SHEETS_MAX_OUTGOING_FRAME_BYTES={DEPLOYED_OUTGOING_FRAME_BYTES})")
    return rounded({
        "events_behind": REPLAY_EVENTS, "events_per_s": events_per_s, "raw_events_per_s": raw,
        "ratio": events_per_s / raw, "snapshot_events_behind": big, "snapshot_ms": snapshot_ms,
        "snapshot_cells": snapshots[0].cells, "snapshot_at_default_ws_limit": default_limit,
    })
