"""roundtrip: where one writer's round trip goes, against the relay's, in the same run.

One closed-loop writer (send a single-cell edit, wait for its ack) on one
sheet, alternating with the relay baseline (send, receive one's own
relayed edit), three rounds. Beside each round: the server's own time from
the frame reaching the consumer to the commit (the
``ledgersheet_append_seconds`` histogram of /metrics, its mean over the
round), so the round trip splits into the append and the rest (websocket,
daphne, the client). Then, in this process on the same database, the
same edits through ``append_edits`` with each step of the transaction
timed: the statements that wait for PostgreSQL, and the Python around them.
Last, the floor of that transaction: the very statements one append sent
(captured, then rolled back), replayed from a bare psycopg connection with
none of the app or the ORM around them, one round trip each and all in one
pipeline, beside a bare INSERT + COMMIT.
"""

from __future__ import annotations

import asyncio
import collections
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.append import closed_loop
from bench.common import make_sheet, make_users, median, print_table, rounded
from bench.env import BASELINE_APP, BenchEnv
from bench.raw import commits_per_second
from proj.testing.servers import DaphneServer

# The steps of one append timed in-process, in the order they run: the
# functions sheets.writes.edits calls (each a statement, but chain_events).
STEPS = ["lock_stream_of", "order_now", "roles_for", "events_for_client_ids", "load_cells", "chain_events",
         "write_events", "store_cells"]


def _append_mean_s(server: DaphneServer) -> tuple[float, float]:
    """The sum and count of the server's append histogram now."""
    with urllib.request.urlopen(server.url("/metrics"), timeout=10) as response:
        text = response.read().decode()
    total, count = (float(re.search(rf"^ledgersheet_append_seconds_{name} (\S+)", text, re.M).group(1))  # type: ignore[union-attr]
                    for name in ("sum", "count"))
    return total, count


@contextmanager
def _timing(times: collections.defaultdict[str, float]) -> Iterator[None]:
    """Time every step of STEPS, and the commit, where sheets.writes.edits calls them."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    from sheets.writes import edits

    patched: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                times[label] += time.perf_counter() - started

        patched.append((owner, name, original))
        setattr(owner, name, timed)

    for name in STEPS:
        wrap(edits, name, name)
    wrap(BaseDatabaseWrapper, "commit", "COMMIT")
    try:
        yield
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def _in_process(sheet: Any, user: Any, *, edits: int) -> tuple[float, dict[str, float]]:
    """Mean ms of one single-cell append_edits, and the mean ms of each step."""
    from sheets.writes.edits import Change, EditRequest, append_edits

    def one(n: int) -> None:
        append_edits(sheet_id=sheet.pk, announce=False, requests=[
            EditRequest(user=user, client_event_id=uuid.uuid4(), changes=[Change(row=n % 1000, col=n % 26, value=f"p{n}")])
        ])

    for n in range(50):
        one(n)
    times: collections.defaultdict[str, float] = collections.defaultdict(float)
    with _timing(times):
        started = time.perf_counter()
        for n in range(edits):
            one(n)
        total = (time.perf_counter() - started) / edits * 1000
    return total, {label: seconds / edits * 1000 for label, seconds in times.items()}


class _RolledBack(Exception):
    pass


def _statements_of_one_append(sheet: Any, user: Any) -> list[tuple[str, Any, bool]]:
    """The SQL, parameters and executemany flag of one single-cell append_edits, its writes rolled back.

    The append runs inside an outer transaction that is rolled back, so the
    sheet stays as it was and the statements can be replayed; the
    savepoints that the outer transaction turns its own into are left out.
    """
    from django.db import connection, transaction

    from sheets.writes.edits import Change, EditRequest, append_edits

    statements: list[tuple[str, Any, bool]] = []

    def capture(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not sql.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            statements.append((sql, params, many))
        return execute(sql, params, many, context)

    try:
        with transaction.atomic(), connection.execute_wrapper(capture):
            append_edits(sheet_id=sheet.pk, announce=False, requests=[
                EditRequest(user=user, client_event_id=uuid.uuid4(), changes=[Change(row=7, col=3, value="floor")])
            ])
            raise _RolledBack
    except _RolledBack:
        pass
    return statements


def _statement_label(sql: str) -> str:
    """A statement's kind and table, for the table of the floor: ``SELECT ledger_stream``."""
    words = sql.replace('"', "").split()
    verb = words[0].upper()
    keyword = {"SELECT": "FROM", "INSERT": "INTO", "UPDATE": "UPDATE"}.get(verb)
    table = words[words.index(keyword) + 1] if keyword in words else "?"
    return f"{verb} {table}"


def _replayed(statements: list[tuple[str, Any, bool]], *, pipeline: bool, times: int) -> tuple[float, list[float]]:
    """Mean ms of the statements in one transaction, rolled back, on a connection opened as Django opens its own.

    One round trip each, it also returns the mean ms of each statement and
    of the ROLLBACK (the first statement's includes the BEGIN sent with it).
    """
    from django.db import connection

    raw = connection.get_new_connection(connection.get_connection_params())
    raw.autocommit = False
    spent = [0.0] * (len(statements) + 1)

    def once() -> None:
        with raw.cursor() as cursor:
            for index, (sql, params, many) in enumerate(statements):
                started = time.perf_counter()
                if many:
                    cursor.executemany(sql, params)
                else:
                    cursor.execute(sql, params)
                spent[index] += time.perf_counter() - started
        started = time.perf_counter()
        raw.rollback()
        spent[-1] += time.perf_counter() - started

    def run_all() -> None:
        for _ in range(times):
            if pipeline:
                with raw.pipeline():
                    once()
            else:
                once()

    try:
        run_all()  # warm-up
        spent[:] = [0.0] * len(spent)
        started = time.perf_counter()
        run_all()
        return (time.perf_counter() - started) / times * 1000, [seconds / times * 1000 for seconds in spent]
    finally:
        raw.close()


def _floor(sheet: Any, user: Any, *, times: int, raw_seconds: float) -> dict[str, Any]:
    statements = _statements_of_one_append(sheet, user)
    each_ms, split = _replayed(statements, pipeline=False, times=times)
    pipelined_ms, _ = _replayed(statements, pipeline=True, times=times)
    labels = [_statement_label(sql) for sql, _, _ in statements] + ["ROLLBACK"]
    return {
        "statements": len(statements),
        "one_round_trip_each_ms": each_ms,
        "pipelined_ms": pipelined_ms,
        "insert_commit_ms": 1000 / commits_per_second(connections=1, seconds=raw_seconds),
        "split": list(zip(labels, split, strict=True)),
    }


def run(env: BenchEnv, *, quick: bool) -> dict[str, Any]:
    seconds, rounds, edits = (1.5, 1, 200) if quick else (8.0, 3, 1000)
    ((user, sessionid),) = make_users(1)
    make_sheet("roundtrip", editors=[user])
    local = make_sheet("roundtrip-local", editors=[user])
    ours = env.start_daphne(name="ours")
    baseline = env.start_daphne(BASELINE_APP, name="baseline")
    rows, ours_ms, relay_ms, append_ms = [], [], [], []

    def loop(server: DaphneServer, *, relay: bool) -> float:
        rates = asyncio.run(closed_loop(server, ["roundtrip"], sessionid, writers=1, seconds=seconds, baseline=relay))
        return 1000 / rates.messages

    for round_ in range(1, rounds + 1):
        before = _append_mean_s(ours)
        trip = loop(ours, relay=False)
        after = _append_mean_s(ours)
        server = (after[0] - before[0]) / max(after[1] - before[1], 1) * 1000
        relay = loop(baseline, relay=True)
        ours_ms.append(trip)
        relay_ms.append(relay)
        append_ms.append(server)
        rows.append((round_, trip, server, trip - server, relay, trip / relay))
    print_table(f"roundtrip: one writer, one sheet, {seconds:.1f} s per round",
                ["round", "ours ms", "receipt->commit ms", "the rest ms", "relay ms", "ratio"], rows)
    total, steps = _in_process(local, user, edits=edits)
    waited = sum(steps.values())
    step_rows = [(label, steps.get(label, 0.0)) for label in STEPS]
    step_rows += [("COMMIT", steps.get("COMMIT", 0.0)), ("the rest (Python around them)", total - waited)]
    print_table(f"append_edits in-process, one single-cell edit, mean of {edits}",
                ["step", "ms"], [*step_rows, ("all", total)])
    floor = _floor(local, user, times=edits, raw_seconds=1.0 if quick else 3.0)
    print_table(f"the floor: the {floor['statements']} statements of one append from bare psycopg, "
                f"rolled back (mean of {edits}), and a bare INSERT + COMMIT",
                ["statements", "ms"], [
                    ("one round trip each", floor["one_round_trip_each_ms"]),
                    *((f"  {label}", ms) for label, ms in floor["split"]),
                    ("all in one pipeline", floor["pipelined_ms"]),
                    ("a bare INSERT + COMMIT", floor["insert_commit_ms"]),
                ])
    return rounded({
        "round_trip_ms": median(ours_ms), "relay_round_trip_ms": median(relay_ms),
        "ratio": median(ours_ms) / median(relay_ms), "server_append_ms": median(append_ms),
        "in_process_append_ms": total, "in_process_steps_ms": {label: round(ms, 3) for label, ms in step_rows},
        "floor_ms": {key: round(value, 3) for key, value in floor.items() if key not in ("statements", "split")},
        "floor_statements": floor["statements"],
    })
