"""rebuild: rebuild_projections on a long ledger against a raw INSERT ... SELECT DISTINCT ON.

``rebuild_s`` is the default command (the cells, snapshots dropped);
``snapshots_s`` is ``--snapshots``, which also takes every snapshot again.
"""

from __future__ import annotations

import io
import os
import time
from typing import Any

import psycopg
from django.core.management import call_command
from django.db import connection

from bench.common import make_sheet, make_users, print_table, rounded
from bench.env import BenchEnv, database_url
from bench.seed import seed_events
from projections.models import Cell


def _raw_seconds(stream_id: int) -> tuple[float, int]:
    """Rebuild the latest value per cell into a scratch copy of the cells table in one statement."""
    q = connection.ops.quote_name
    cells = q(Cell._meta.db_table)
    with psycopg.connect(database_url()) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_raw_cells"
            f" (LIKE {cells} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)"
        )
        conn.commit()
        started = time.perf_counter()
        conn.execute("DELETE FROM bench_raw_cells")
        inserted = conn.execute(
            "INSERT INTO bench_raw_cells (stream_id, row_id, col_id, value, last_seq)"
            " SELECT DISTINCT ON (row_id, col_id) stream_id, row_id, col_id, new_value, seq FROM ledger_event"
            " WHERE stream_id = %s AND type = 'CellChanged' ORDER BY row_id, col_id, seq DESC",
            (stream_id,),
        ).rowcount
        conn.commit()
        return time.perf_counter() - started, inserted


def _command_seconds(*args: str) -> tuple[float, str]:
    """Run rebuild_projections on the bench's sheet; return its time and its summary line."""
    out = io.StringIO()
    started = time.perf_counter()
    call_command("rebuild_projections", "rebuild", *args, stdout=out)
    elapsed = time.perf_counter() - started
    lines = out.getvalue().strip().splitlines()
    return elapsed, lines[-2] if len(lines) >= 2 else ""


def run(env: BenchEnv, *, quick: bool) -> dict[str, Any]:
    events = 20_000 if quick else int(os.environ.get("BENCH_BIG_EVENTS", "1000000"))
    ((user, _),) = make_users(1)
    sheet = make_sheet("rebuild", editors=[user])
    seed_rate = seed_events(sheet=sheet, user=user, events=events)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    raw_s, raw_cells = _raw_seconds(sheet.stream_id)
    # --snapshots first, so that the default rebuild then has a full set of
    # snapshots to drop, as it would on a sheet in use.
    snapshots_s, snapshots_said = _command_seconds("--snapshots")
    rebuild_s, rebuild_said = _command_seconds()
    raw_again_s, _ = _raw_seconds(sheet.stream_id)
    raw_s = min(raw_s, raw_again_s)
    cells = Cell.objects.filter(stream__sheet=sheet).count()
    print_table(f"rebuild: {events:,} events on one sheet",
                ["what", "seconds", "cells", "events/s"],
                [("rebuild_projections (cells; drops the snapshots)", rebuild_s, cells, events / rebuild_s),
                 ("rebuild_projections --snapshots (and takes them all)", snapshots_s, cells, events / snapshots_s),
                 ("raw INSERT ... SELECT DISTINCT ON", raw_s, raw_cells, events / raw_s)])
    print(f"(seeding through append_edit ran at {seed_rate:,.0f} events/s; the commands said:"
          f" {snapshots_said!r}, then {rebuild_said!r})")
    return rounded({"events": events, "rebuild_s": rebuild_s, "raw_s": raw_s, "ratio": rebuild_s / raw_s,
                    "snapshots_s": snapshots_s, "snapshots_ratio": snapshots_s / raw_s, "cells": cells})
