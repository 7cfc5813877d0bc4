"""The database's own limits, measured with psycopg beside the app in the same run."""

from __future__ import annotations

import threading
import time

import psycopg

from bench.env import database_url

SCRATCH_DDL = """
CREATE TABLE IF NOT EXISTS bench_raw_commit (
    id bigserial PRIMARY KEY, sheet integer NOT NULL, seq integer NOT NULL, "row" integer NOT NULL,
    col integer NOT NULL, old_value text NOT NULL, new_value text NOT NULL, recorded_at timestamptz NOT NULL,
    hash char(64) NOT NULL, UNIQUE (sheet, seq)
)
"""


def commits_per_second(*, connections: int, seconds: float) -> float:
    """Run ``connections`` threads doing single-row INSERT + COMMIT into a scratch table; return commits/s.

    The row has the columns of an event and the (sheet, seq) unique index,
    so this is one edit's insert without any of the app around it.
    """
    with psycopg.connect(database_url(), autocommit=True) as conn:
        conn.execute(SCRATCH_DDL)
        conn.execute("TRUNCATE bench_raw_commit")
    counts = [0] * connections
    stop = threading.Event()
    ready = threading.Barrier(connections + 1)

    def work(index: int) -> None:
        with psycopg.connect(database_url()) as conn:
            ready.wait()
            seq = 0
            while not stop.is_set():
                seq += 1
                conn.execute(
                    'INSERT INTO bench_raw_commit (sheet, seq, "row", col, old_value, new_value, recorded_at, hash)'
                    " VALUES (%s, %s, %s, %s, %s, %s, now(), %s)",
                    (index, seq, seq % 1000, seq % 26, "old", f"value {seq}", "0" * 64),
                )
                conn.commit()
                counts[index] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    ready.wait()
    before, started = sum(counts), time.perf_counter()
    time.sleep(seconds)  # the measurement window
    after, elapsed = sum(counts), time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join()
    return (after - before) / elapsed
