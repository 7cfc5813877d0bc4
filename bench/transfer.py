"""transfer: import a CSV into a new sheet and export the sheet as CSV and XLSX, against raw PostgreSQL COPY.

The sheet is R rows x 26 columns with one cell in ten filled (R =
BENCH_TRANSFER_ROWS, default 1,000,000; ``--quick`` 10,000). The import goes through sheets.imports (read, judge,
then the one write path in edits of 1,000 changes, committed EDITS_PER_COMMIT edits at a time while the sheet is
hidden); the exports through
sheets.web.sheet_files, a window of rows at a time from the ledger. The
baselines, in the same run: COPY of the same CSV into a scratch table (the
floor of getting the cells into the database) and COPY of the cells table
out as CSV (the floor of getting them out). Memory is the peak of Python's
allocations during each step (tracemalloc), and the process's peak RSS.
"""

from __future__ import annotations

import csv
import io
import os
import random
import resource
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import psycopg
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from bench.common import print_table, rounded
from bench.env import BenchEnv, database_url
from ledger.models import Stream
from sheets.imports import import_sheet, read_upload
from sheets.web.sheet_files import sheet_file_response

COLS = 26


def _csv_bytes(rows: int) -> bytes:
    rng = random.Random(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for _ in range(rows):
        writer.writerow([f"{rng.randrange(10**6)}" if rng.random() < 0.1 else "" for _ in range(COLS)])
    return buffer.getvalue().encode()


def _timed(step: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = step()
    return result, time.perf_counter() - started


def _peak_mib(step: Callable[[], Any]) -> float:
    """The peak MiB of Python's allocations while ``step`` runs (a second run: tracemalloc slows it several times)."""
    tracemalloc.start()
    try:
        step()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def _download(stream: Stream, seq: int, file_format: str) -> int:
    response = sheet_file_response(RequestFactory().get("/"), stream=stream, seq=seq, file_format=file_format,
                                   filename=f"bench.{file_format}")
    return sum(len(part) for part in response.streaming_content)


def _raw_copy_in(data: bytes) -> float:
    with psycopg.connect(database_url()) as conn:
        conn.execute("CREATE TEMP TABLE bench_raw_import (" + ", ".join(f"c{i} text" for i in range(COLS)) + ")")
        started = time.perf_counter()
        with conn.cursor().copy("COPY bench_raw_import FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(data)
        conn.commit()
        return time.perf_counter() - started


def _raw_copy_out(stream_id: int) -> tuple[float, int]:
    with psycopg.connect(database_url()) as conn:
        started, size = time.perf_counter(), 0
        query = (
            "COPY (SELECT row_id, col_id, value FROM projections_cell"
            f" WHERE stream_id = {int(stream_id)}) TO STDOUT WITH (FORMAT csv)"
        )
        with conn.cursor().copy(query) as copy:
            for block in copy:
                size += len(block)
        return time.perf_counter() - started, size


def run(env: BenchEnv, *, quick: bool) -> dict[str, Any]:
    rows = 10_000 if quick else int(os.environ.get("BENCH_TRANSFER_ROWS", "1000000"))
    data = _csv_bytes(rows)
    owner = get_user_model().objects.create_user(username="importer")

    def do_import() -> Any:
        grid = read_upload(filename="bench.csv", data=io.BytesIO(data), size=len(data))
        return import_sheet(name="transfer", title="transfer", owner=owner, grid=grid)

    sheet, import_s = _timed(do_import)
    stream = Stream.objects.get(pk=sheet.stream_id)
    cells = stream.head
    raw_in_s = _raw_copy_in(data)
    csv_size, csv_s = _timed(lambda: _download(stream, stream.head, "csv"))
    xlsx_size, xlsx_s = _timed(lambda: _download(stream, stream.head, "xlsx"))
    # Memory: the exports again under tracemalloc, and the import's reading and judging of the file.
    csv_mib = _peak_mib(lambda: _download(stream, stream.head, "csv"))
    xlsx_mib = _peak_mib(lambda: _download(stream, stream.head, "xlsx"))
    import_mib = _peak_mib(lambda: read_upload(filename="bench.csv", data=io.BytesIO(data), size=len(data)))
    raw_out_s, raw_out_size = _raw_copy_out(stream.pk)
    peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print_table(
        f"transfer: {rows:,} rows x {COLS} columns, {cells:,} cells ({len(data) / 2**20:.1f} MiB of CSV)",
        ["what", "seconds", "cells/s", "Python peak MiB", "bytes"],
        [
            ("import (read, judge, write path; MiB: reading and judging)", import_s, cells / import_s, import_mib,
             len(data)),
            ("raw COPY of the CSV into a table", raw_in_s, cells / raw_in_s, 0.0, len(data)),
            ("export CSV", csv_s, cells / csv_s, csv_mib, csv_size),
            ("export XLSX", xlsx_s, cells / xlsx_s, xlsx_mib, xlsx_size),
            ("raw COPY of the cells table out", raw_out_s, cells / raw_out_s, 0.0, raw_out_size),
        ],
    )
    print(f"(peak RSS of the bench process: {peak_rss_mib:,.0f} MiB, the CSV in memory and its parsed rows included)")
    return rounded({
        "rows": rows, "cells": cells, "csv_mib": len(data) / 2**20, "import_s": import_s, "import_mib": import_mib,
        "raw_import_s": raw_in_s, "import_ratio": import_s / raw_in_s, "export_csv_s": csv_s, "export_csv_mib": csv_mib,
        "export_xlsx_s": xlsx_s, "export_xlsx_mib": xlsx_mib, "raw_export_s": raw_out_s,
        "export_ratio": csv_s / raw_out_s, "peak_rss_mib": peak_rss_mib,
    })
