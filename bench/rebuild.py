"""rebuild: rebuild_projections on a long ledger against a raw INSERT ... SELECT DISTINCT ON."""

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
from projections.rebuild import _rebuild_cells


def _raw_seconds(sheet_id: int) -> tuple[float, int]:
    """Rebuild the latest value per cell into a scratch copy of the cells table in one statement."""
    q = connection.ops.quote_name
    cells = q(Cell._meta.db_table)
    with psycopg.connect(database_url()) as conn:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS bench_raw_cells"
            f" (LIKE {cells} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)"
        )
        conn.commit()
        started = time.perf_counter()
        conn.execute("DELETE FROM bench_raw_cells")
        inserted = conn.execute(
            f'INSERT INTO bench_raw_cells (sheet_id, "row", col, value, last_seq)'
            f' SELECT DISTINCT ON ("row", col) sheet_id, "row", col, new_value, seq FROM ledger_event'
            f' WHERE sheet_id = %s ORDER BY "row", col, seq DESC',
            (sheet_id,),
        ).rowcount
        conn.commit()
        return time.perf_counter() - started, inserted


def run(env: BenchEnv, *, quick: bool) -> dict[str, Any]:
    events = 20_000 if quick else int(os.environ.get("BENCH_BIG_EVENTS", "1000000"))
    ((user, _),) = make_users(1)
    sheet = make_sheet("rebuild", editors=[user])
    seed_rate = seed_events(sheet=sheet, user=user, events=events)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    raw_s, raw_cells = _raw_seconds(sheet.pk)
    out = io.StringIO()
    started = time.perf_counter()
    call_command("rebuild_projections", "rebuild", stdout=out)
    rebuild_s = time.perf_counter() - started
    raw_again_s, _ = _raw_seconds(sheet.pk)
    raw_s = min(raw_s, raw_again_s)
    # The cells half of the command alone (its snapshot fold is the rest),
    # to tell the set-based statement's cost from the fold's.
    started = time.perf_counter()
    _rebuild_cells(sheet.pk)
    cells_s = time.perf_counter() - started
    cells = Cell.objects.filter(sheet=sheet).count()
    print_table(f"rebuild: {events:,} events on one sheet",
                ["what", "seconds", "cells", "events/s"],
                [("rebuild_projections (cells + snapshots)", rebuild_s, cells, events / rebuild_s),
                 ("  its cells statement alone", cells_s, cells, events / cells_s),
                 ("raw INSERT ... SELECT DISTINCT ON", raw_s, raw_cells, events / raw_s)])
    print(f"(seeding through append_edit ran at {seed_rate:,.0f} events/s; command said:"
          f" {out.getvalue().strip().splitlines()[-2] if out.getvalue().strip() else ''})")
    return rounded({"events": events, "rebuild_s": rebuild_s, "raw_s": raw_s, "ratio": rebuild_s / raw_s,
                    "cells_only_s": cells_s, "cells": cells})
