"""structure: creating large sheets, inserting and deleting rows in them, and what structure costs the appends.

Four parts, each through the real paths:

- create: ``create_sheet NAME --rows R --cols 26`` for 1,000, 100,000 and
  1,000,000 rows, as a command in its own process (Django's start-up
  included, what a person waits for) and through ``call_command``; and the
  events the ledger holds after it.
- latency: a delete of 1, 100 or 10,000 rows at the top, middle or bottom
  of a sheet of 1,000, 100,000 or 1,000,000 rows, then an insert of as
  many new rows in their place, so the sheet keeps its size (and the full
  1,000,000-row sheet can take the insert); through
  ``sheets.writes.edits.append_one`` in this process, and for the middle of
  the largest sheet over the websocket too (send → ack), median and p95.
- mix: closed-loop writers over the websocket (bench/append.py's loop) with
  the append bench's single-cell edits, against the same writers with one
  message in 20 an insert of 3 rows or the delete of the 3 rows the writer
  inserted last, alternating in the same run on fresh sheets; the ratios
  are mixed / plain.
- restructured: a single-cell edit naming its cell by id (or by position)
  in a sheet of 998,000 rows after 1,000 separate one-row inserts
  ("scattered"), and after 10 rounds of deleting 10,000 rows and inserting
  10,000 ("churned": 100,000 inserted ids, tombstones kept), against the
  same edit in a fresh sheet; and the first edit after a structure
  operation, which reads the new order from the database.
"""

from __future__ import annotations

import asyncio
import io
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.core.management import call_command

from bench.append import Rates, cell_edit, closed_loop
from bench.common import make_sheet, make_users, median, now_ms, open_ws, print_table, rounded
from bench.env import BenchEnv
from bench.structure_ops import (
    Structure,
    Timings,
    edit_ms,
    latency_rows,
    new_ids,
    operation_frame_of,
    order_rows,
    order_size,
    pooled,
    stats,
    timed_append,
)
from ledger.hashing import ROWS_DELETED, ROWS_INSERTED
from ledger.models import Event
from proj.testing import Frame, operation_frame
from proj.testing.servers import BASE_DIR, DaphneServer
from sheets.models import Sheet
from sheets.writes.edits import Change
from sheets.writes.structure import StructureRequest

COLS = 26
# A large sheet with room for the inserts of the mix and of the restructured sheet (the limit is 1,000,000 rows).
ROOMY = 998_000
POSITIONS = ("top", "middle", "bottom")
MIX_EVERY, MIX_ROWS = 20, 3
# The daphne that takes 10,000-row inserts: a frame of 10,000 UUIDs is about 400 KB.
WS_ARGS = ["--websocket-max-message-size", str(16 * 1024 * 1024), "--websocket-max-frame-size", str(16 * 1024 * 1024)]


@dataclass(frozen=True)
class Plan:
    create_sizes: Sequence[int]
    subprocess_sizes: Sequence[int]
    sizes: Sequence[int]
    counts: Sequence[int]
    repeats: int
    ws_counts: Sequence[int]
    ws_repeats: int
    mix_configs: Sequence[tuple[int, int, int]]  # (writers, sheets, rows per sheet)
    mix_seconds: float
    mix_rounds: int
    restructure_inserts: int
    restructured_edits: int
    churn_rounds: int


FULL = Plan(create_sizes=(1_000, 100_000, 1_000_000), subprocess_sizes=(1_000, 100_000, 1_000_000),
            sizes=(1_000, 100_000, 1_000_000), counts=(1, 100, 10_000), repeats=5, ws_counts=(1, 100, 10_000),
            ws_repeats=5, mix_configs=((1, 1, 1_000), (16, 1, 1_000), (16, 16, 1_000), (16, 1, ROOMY)),
            mix_seconds=4.0, mix_rounds=3, restructure_inserts=1_000, restructured_edits=200,
            churn_rounds=10)
QUICK = Plan(create_sizes=(1_000, 1_000_000), subprocess_sizes=(1_000_000,), sizes=(1_000_000,),
             counts=(1, 10_000), repeats=1, ws_counts=(1, 10_000), ws_repeats=1,
             mix_configs=((1, 1, 1_000), (16, 1, 1_000)), mix_seconds=1.5, mix_rounds=1,
             restructure_inserts=50, restructured_edits=10, churn_rounds=1)


_STARTED = time.perf_counter()


def _progress(what: str) -> None:
    print(f"  [{time.perf_counter() - _STARTED:5.1f} s] {what}", file=sys.stderr, flush=True)


# create_sheet


def _create(rows: int, *, env: BenchEnv, own_process: bool) -> tuple[float, float, int]:
    """Return (seconds as a command in its own process or nan, seconds through call_command, events on the streams)."""
    name, seconds = f"create-{rows}", float("nan")
    options = ["--rows", str(rows), "--cols", str(COLS)]
    if own_process:
        started = time.perf_counter()
        subprocess.run([sys.executable, "manage.py", "create_sheet", f"{name}-p", *options], cwd=BASE_DIR, env=env.env,
                       check=True, capture_output=True)
        seconds = time.perf_counter() - started
    started = time.perf_counter()
    call_command("create_sheet", name, *options, stdout=io.StringIO())
    in_process = time.perf_counter() - started
    return seconds, in_process, Event.objects.filter(stream__sheet__name__in=[name, f"{name}-p"]).count()


def _create_part(plan: Plan, env: BenchEnv) -> dict[str, Any]:
    figures = {size: _create(size, env=env, own_process=size in plan.subprocess_sizes) for size in plan.create_sizes}
    print_table("create_sheet NAME --rows R --cols 26", ["sheet", "own process s", "call_command ms", "ledger events"],
                [(f"{size:,} x {COLS}", own, call * 1000, events) for size, (own, call, events) in figures.items()])
    own, call, _ = figures[max(plan.create_sizes)]
    return {"create_s": own, "create_call_ms": call * 1000,
            "create_events": sum(events for _, _, events in figures.values()),
            "ledger_events_after_create": Event.objects.count()}


# insert and delete latency


def _latency_in_process(plan: Plan, user: Any) -> Timings:
    results: Timings = {}
    for size in plan.sizes:
        sheet = make_sheet(f"latency-{size}", editors=[user], rows=size, cols=COLS)
        structure = Structure(sheet, user)
        for count in plan.counts:
            # Positions take turns, so that each meets the same history (the order grows with every insert).
            for _ in range(plan.repeats):
                for position in POSITIONS:
                    inserts, deletes = results.setdefault((size, count, position), ([], []))
                    for request in structure.round(position, count):
                        kept = inserts if request.type == ROWS_INSERTED else deletes
                        kept.append(timed_append(sheet, request))
        _progress(f"latency: the sheet of {size:,} rows done")
    return results


async def _latency_over_ws(server: DaphneServer, sheet: Sheet, plan: Plan, user: Any, sessionid: str) -> Timings:
    """Send → ack of inserts and deletes in the middle of ``sheet``, over one subscribed socket."""
    structure = Structure(sheet, user)
    ws = await open_ws(server, sheet.name, sessionid)
    await ws.subscribe()
    results: Timings = {}
    # The next request reads the order: the ORM, off the event loop.
    next_request = sync_to_async(next)
    for count in plan.ws_counts:
        inserts, deletes = results.setdefault((sheet.stream.rows, count, "middle"), ([], []))
        for _ in range(plan.ws_repeats):
            rounds = structure.round("middle", count)
            while (request := await next_request(rounds, None)) is not None:
                started = now_ms()
                await ws.wait_ack(await ws.send_operation_frame(operation_frame_of(request)))
                (inserts if request.type == ROWS_INSERTED else deletes).append(now_ms() - started)
    await ws.close()
    return results


# append throughput with structure mixed in


class MixedWorkload:
    """The append workload, but every MIX_EVERY-th message of a writer is a structure operation.

    A writer's structure operations alternate: insert MIX_ROWS new rows
    after a row of the original ones, then delete the rows it inserted, so
    the sheet keeps its size and the edits by position stay inside it.
    """

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.inserted: dict[int, list[str]] = {}

    def __call__(self, index: int, n: int) -> Frame:
        if n % MIX_EVERY:
            return cell_edit(index, n)
        if index in self.inserted:
            return operation_frame("delete_rows", row_ids=self.inserted.pop(index))
        ids = self.inserted[index] = list(new_ids(MIX_ROWS))
        return operation_frame("insert_rows", after=f"r{(n * 7919 + index * 104729) % self.rows}", row_ids=ids)


def _mix_part(plan: Plan, server: DaphneServer, user: Any, sessionid: str) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    rows, ratios = [], {}
    for writers, sheets, size in plan.mix_configs:
        totals = {"plain": [0.0, 0.0, 0.0], "mixed": [0.0, 0.0, 0.0]}
        for round_ in range(plan.mix_rounds):
            for workload in ("plain", "mixed"):
                names = [f"mix-{workload}-{writers}w{sheets}s{size}-{round_}-{i}" for i in range(sheets)]
                for name in names:
                    make_sheet(name, editors=[user], rows=size, cols=COLS)
                message = cell_edit if workload == "plain" else MixedWorkload(size)
                got: Rates = asyncio.run(closed_loop(server, names, sessionid, writers=writers,
                                                     seconds=plan.mix_seconds, baseline=False, message=message))
                for k, value in enumerate((got.messages, got.events, got.edits)):
                    totals[workload][k] += value / plan.mix_rounds
        plain, mixed = totals["plain"], totals["mixed"]
        key = f"{writers}w/{sheets}s/{size}"
        ratios[key] = {"events": round(mixed[1] / plain[1], 3), "edits": round(mixed[2] / plain[2], 3),
                       "plain_events_per_s": round(plain[1], 1), "mixed_events_per_s": round(mixed[1], 1),
                       "mixed_edits_per_s": round(mixed[2], 1)}
        rows.append((writers, sheets, f"{size:,}", plain[1], mixed[1], mixed[1] / plain[1], mixed[2], mixed[2] / plain[2],
                     mixed[0] - mixed[2]))
    return rows, ratios


# an edit in a restructured sheet


def _restructured_part(plan: Plan, user: Any) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """Edits in a fresh sheet, one after many one-row inserts, and one after rounds of 10,000-row deletes and inserts."""
    rng = random.Random(7)
    fresh = make_sheet("edit-fresh", editors=[user], rows=ROOMY, cols=COLS)
    scattered = make_sheet("edit-scattered", editors=[user], rows=ROOMY, cols=COLS)
    churned = make_sheet("edit-churned", editors=[user], rows=ROOMY, cols=COLS)
    inserted: dict[str, list[str]] = {"scattered": [], "churned": []}
    insert_ms = []
    for _ in range(plan.restructure_inserts):
        (new_id,) = new_ids(1)
        insert_ms.append(timed_append(scattered, StructureRequest(
            user=user, client_event_id=uuid.uuid4(), type=ROWS_INSERTED, ids=(new_id,), after=f"r{rng.randrange(ROOMY)}")))
        inserted["scattered"].append(new_id)
    structure = Structure(churned, user)
    for _ in range(plan.churn_rounds):
        for request in structure.round("middle", 10_000):
            timed_append(churned, request)
            if request.type == ROWS_INSERTED:
                # Each round deletes the rows the round before inserted: only the last ones are live.
                inserted["churned"] = list(request.ids)
    tenth = max(1, len(insert_ms) // 10)

    def by_id(row_ids: Sequence[str]) -> Callable[[int], Change]:
        return lambda n: Change(row_id=rng.choice(row_ids), col_id=f"c{n % COLS}", value=f"v{n}")

    def by_position(n: int) -> Change:
        return Change(row=rng.randrange(ROOMY - 20_000), col=n % COLS, value=f"p{n}")

    # Original rows that no round deletes (the rounds delete in the middle).
    originals = [f"r{i}" for i in rng.sample(range(ROOMY // 4), 1000)]
    cases: list[tuple[str, str, Sheet, Callable[[int], Change]]] = [
        ("fresh", "by id", fresh, by_id(originals)),
        ("fresh", "by position", fresh, by_position),
    ]
    for kind, sheet in (("scattered", scattered), ("churned", churned)):
        cases += [(kind, "by id (inserted rows)", sheet, by_id(inserted[kind])),
                  (kind, "by id (original rows)", sheet, by_id(originals)),
                  (kind, "by position", sheet, by_position)]
    timings = {(kind, naming): [edit_ms(sheet, user, make(n)) for n in range(plan.restructured_edits)]
               for kind, naming, sheet, make in cases}
    # The first edit after a structure operation reads and decodes the new
    # order (the cache holds the old one): delete one original row, then edit.
    for kind, sheet in (("fresh", fresh), ("scattered", scattered), ("churned", churned)):
        cold = timings[(kind, "by id, first after a delete")] = []
        for _ in range(5):
            timed_append(sheet, StructureRequest(user=user, client_event_id=uuid.uuid4(), type=ROWS_DELETED,
                                                  ids=(originals.pop(),)))
            cold.append(edit_ms(sheet, user, by_id(originals)(0)))
    fresh_ms = median(timings[("fresh", "by id")])
    rows = [(kind, naming, len(values), *stats(values), median(values) / fresh_ms)
            for (kind, naming), values in timings.items()]
    figures = {
        "edit_fresh_ms": fresh_ms,
        "edit_restructured_ms": median(timings[("scattered", "by id (inserted rows)")]),
        "edit_ratio": median(timings[("scattered", "by id (inserted rows)")]) / fresh_ms,
        "edit_churned_ms": median(timings[("churned", "by id (inserted rows)")]),
        "edit_after_delete_ms": {kind: round(median(timings[(kind, "by id, first after a delete")]), 1)
                                 for kind in ("fresh", "scattered", "churned")},
        "restructure_insert_first_ms": median(insert_ms[:tenth]),
        "restructure_insert_last_ms": median(insert_ms[-tenth:]),
        "runs": {kind: len(order_rows(sheet).runs) for kind, sheet in (("scattered", scattered),
                                                                                   ("churned", churned))},
        "inserted_ids": {"scattered": len(inserted["scattered"]), "churned": 10_000 * plan.churn_rounds},
    }
    return rows, figures


def run(env: BenchEnv, *, quick: bool) -> dict[str, Any]:
    plan = QUICK if quick else FULL
    ((user, sessionid),) = make_users(1)
    figures: dict[str, Any] = _create_part(plan, env)

    _progress("create_sheet done")
    in_process = _latency_in_process(plan, user)
    server = env.start_daphne(name="ours", extra_args=WS_ARGS)
    big = make_sheet("latency-ws", editors=[user], rows=max(plan.sizes), cols=COLS)
    over_ws = asyncio.run(_latency_over_ws(server, big, plan, user, sessionid))
    print_table(f"structure latency: insert then delete, ms, {plan.repeats} rounds (websocket: {plan.ws_repeats})",
                ["sheet", "rows", "where", "path", "insert p50", "insert p95", "delete p50", "delete p95"],
                [*latency_rows(in_process, "append_one"), *latency_rows(over_ws, "websocket")])
    largest, most = max(plan.sizes), max(plan.counts)
    runs, inserted, size = order_size(Sheet.objects.get(name=f"latency-{largest}"))
    print(f"(the order of the {largest:,}-row sheet after these rounds: {runs:,} runs, {inserted:,} inserted ids,"
          f" live or deleted, {size / 1e6:.1f} MB of JSON, rewritten by every structure operation)")
    figures.update({
        "order_inserted_ids": inserted, "order_json_mb": size / 1e6,
        "insert_ms": pooled(in_process, largest, most, 0), "delete_ms": pooled(in_process, largest, most, 1),
        "insert_one_ms": pooled(in_process, largest, 1, 0), "delete_one_ms": pooled(in_process, largest, 1, 1),
        "ws_insert_ms": pooled(over_ws, largest, max(plan.ws_counts), 0),
        "ws_delete_ms": pooled(over_ws, largest, max(plan.ws_counts), 1),
        "latency_ms": {f"{path}/{s}/{c}/{p}": [round(median(i), 1), round(median(d), 1)]
                       for path, results in (("append_one", in_process), ("ws", over_ws))
                       for (s, c, p), (i, d) in results.items()},
    })

    _progress("latency over the websocket done")
    mix_rows, ratios = _mix_part(plan, server, user, sessionid)
    _progress("mix done")
    print_table(f"append with structure: 1 message in {MIX_EVERY} inserts or deletes {MIX_ROWS} rows, acked,"
                f" {plan.mix_seconds:g} s x {plan.mix_rounds} per workload",
                ["writers", "sheets", "rows", "plain events/s", "mixed events/s", "events ratio", "mixed edits/s",
                 "edits ratio", "structure ops/s"], mix_rows)
    first = ratios[next(iter(ratios))]
    worst_events = min(r["events"] for r in ratios.values())
    figures.update({"mix_events_ratio": first["events"], "mix_edits_ratio": first["edits"],
                    "mix_events_ratio_min": worst_events, "mix": ratios})

    restructured_rows, restructured = _restructured_part(plan, user)
    print_table(f"an edit of one cell in a sheet of {ROOMY:,} rows: fresh; scattered, after {plan.restructure_inserts:,}"
                f" one-row inserts ({restructured['runs']['scattered']:,} runs); churned, after {plan.churn_rounds}"
                f" rounds of deleting and inserting 10,000 rows ({restructured['runs']['churned']:,} runs,"
                f" {restructured['inserted_ids']['churned']:,} inserted ids), ms",
                ["sheet", "cell named", "edits", "p50", "p95", "p50 / fresh by id"], restructured_rows)
    print(f"(the {plan.restructure_inserts:,} inserts: median {restructured['restructure_insert_first_ms']:.1f} ms"
          f" for the first tenth, {restructured['restructure_insert_last_ms']:.1f} ms for the last)")
    figures.update(restructured)
    return rounded(figures)
