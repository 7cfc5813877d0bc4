"""fanout: one writer at a steady rate, N subscribers; latency from send to receipt, ours vs the baseline.

The writer puts its send time (perf_counter, ms) in each value; every
subscriber runs in this same process, so the clock is shared.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from bench.common import Ws, make_sheet, make_users, now_ms, open_subscribed, open_ws, percentile, print_table, rounded
from bench.env import BASELINE_APP, BenchEnv
from proj.testing.servers import DaphneServer

# 100 subscribers x 40 edits/s saturated this 2-core machine (ours and the
# baseline queued for seconds): the default stays below that, so the figure
# is latency, not queueing. BENCH_FANOUT_RATE overrides it.
RATE_PER_S = float(os.environ.get("BENCH_FANOUT_RATE", "20"))
WARMUP = 10
DRAIN_TIMEOUT = 30.0


async def _measure(server: DaphneServer, sheet: str, writer_session: str, reader_session: str, *,
                   subscribers: int, edits: int) -> tuple[list[float], int]:
    """Return every (subscriber, edit) latency in ms and the number of deliveries that never came."""
    readers = await open_subscribed(server, sheet, [reader_session] * subscribers)
    writer = await open_ws(server, sheet, writer_session)
    await writer.subscribe()
    latencies: list[float] = []
    counted = [0] * subscribers
    done = asyncio.Event()

    async def read(index: int, ws: Ws) -> None:
        while counted[index] < edits:
            frame = await ws.receive(timeout=None if not done.is_set() else DRAIN_TIMEOUT)
            if frame["type"] != "events":
                continue
            arrived = now_ms()
            for event in frame["events"]:
                value = event["new_value"]
                if value.startswith("t"):
                    latencies.append(arrived - float(value[1:]))
                    counted[index] += 1

    async def drain_writer() -> None:
        while True:
            await writer.receive(timeout=None)

    tasks = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(readers)]
    drainer = asyncio.create_task(drain_writer())
    for i in range(WARMUP):
        await writer.send_edit([(0, 0, f"warm{i}")])
    start = asyncio.get_running_loop().time() + 0.5
    for i in range(edits):
        delay = start + i / RATE_PER_S - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)  # pacing the writer, not waiting for a result
        await writer.send_edit([(1 + i % 900, i % 26, f"t{now_ms():.3f}")])
    done.set()
    _, pending = await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT)
    for task in pending:
        task.cancel()
    drainer.cancel()
    for ws in [*readers, writer]:
        await ws.close()
    return latencies, subscribers * edits - sum(counted)


SWEEP = (10, 50)  # extra subscriber counts of a full run, for the chart
SWEEP_EDITS = 300


def _both(ours: DaphneServer, baseline: DaphneServer, sessions: tuple[str, str], *, subscribers: int,
          edits: int) -> dict[str, tuple[list[float], int]]:
    return {
        label: asyncio.run(_measure(server, "fanout", *sessions, subscribers=subscribers, edits=edits))
        for label, server in (("ours", ours), ("baseline", baseline))
    }


def run(env: BenchEnv, *, quick: bool) -> dict[str, Any]:
    subscribers, edits = (20, 200) if quick else (100, 2000)
    (writer, writer_session), (reader, reader_session) = make_users(2)
    make_sheet("fanout", editors=[writer, reader])
    ours = env.start_daphne(name="ours")
    baseline = env.start_daphne(BASELINE_APP, name="baseline")
    sessions = (writer_session, reader_session)
    sweep = {n: _both(ours, baseline, sessions, subscribers=n, edits=SWEEP_EDITS) for n in ([] if quick else SWEEP)}
    results = _both(ours, baseline, sessions, subscribers=subscribers, edits=edits)
    rows = []
    for n, (count, by_app) in [*((n, (SWEEP_EDITS, r)) for n, r in sweep.items()), (subscribers, (edits, results))]:
        for label, (latencies, lost) in by_app.items():
            rows.append((label, n, count, len(latencies), lost, percentile(latencies, 50),
                         percentile(latencies, 99), max(latencies, default=float("nan"))))
    print_table(f"fanout: one writer at {RATE_PER_S:.0f} edits/s",
                ["app", "subscribers", "edits", "deliveries", "lost", "p50 ms", "p99 ms", "max ms"], rows)
    ours_lat, ours_lost = results["ours"]
    base_lat, base_lost = results["baseline"]
    p99, base_p99 = percentile(ours_lat, 99), percentile(base_lat, 99)
    return rounded({
        "subscribers": subscribers, "edits": edits, "rate_per_s": RATE_PER_S,
        "p50_ms": percentile(ours_lat, 50), "p99_ms": p99,
        "baseline_p50_ms": percentile(base_lat, 50), "baseline_p99_ms": base_p99,
        "ratio_p99": p99 / base_p99, "lost": ours_lost, "baseline_lost": base_lost,
        "by_subscribers": {
            str(n): {
                f"{prefix}{q}_ms": round(percentile(by_app[app][0], pct), 3)
                for app, prefix in (("ours", ""), ("baseline", "baseline_"))
                for q, pct in (("p50", 50), ("p99", 99))
            }
            for n, by_app in [*sweep.items(), (subscribers, results)]
        },
    })
