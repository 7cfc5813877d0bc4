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
def _timing(times: collections.Counter[str]) -> Iterator[None]:
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
    times: collections.Counter[str] = collections.Counter()
    with _timing(times):
        started = time.perf_counter()
        for n in range(edits):
            one(n)
        total = (time.perf_counter() - started) / edits * 1000
    return total, {label: seconds / edits * 1000 for label, seconds in times.items()}


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
        ours_ms.append(trip), relay_ms.append(relay), append_ms.append(server)
        rows.append((round_, trip, server, trip - server, relay, trip / relay))
    print_table(f"roundtrip: one writer, one sheet, {seconds:.1f} s per round",
                ["round", "ours ms", "receipt->commit ms", "the rest ms", "relay ms", "ratio"], rows)
    total, steps = _in_process(local, user, edits=edits)
    waited = sum(steps.values())
    step_rows = [(label, steps.get(label, 0.0)) for label in STEPS]
    step_rows += [("COMMIT", steps.get("COMMIT", 0.0)), ("the rest (Python around them)", total - waited)]
    print_table(f"append_edits in-process, one single-cell edit, mean of {edits}",
                ["step", "ms"], [*step_rows, ("all", total)])
    return rounded({
        "round_trip_ms": median(ours_ms), "relay_round_trip_ms": median(relay_ms),
        "ratio": median(ours_ms) / median(relay_ms), "server_append_ms": median(append_ms),
        "in_process_append_ms": total, "in_process_steps_ms": {label: round(ms, 3) for label, ms in step_rows},
    })
