"""connections: many idle subscribed sockets on ONE server process: resident memory per socket, one edit to all."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bench.common import Ws, make_sheet, make_users, median, now_ms, open_subscribed, open_ws, print_table, rounded
from bench.env import BASELINE_APP, BenchEnv
from proj.testing.servers import DaphneServer

WARM = 10
ROUNDS = 5


def rss_kib(pid: int) -> int:
    """Return the process's resident set size from /proc, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def _measure(server: DaphneServer, sheet: str, sessionid: str, *, count: int) -> tuple[float, list[float]]:
    """Return KiB per connection and the ms for each of ROUNDS edits to reach every socket."""
    assert server.pid is not None
    writer = await open_ws(server, sheet, sessionid)
    await writer.subscribe()
    warm = await open_subscribed(server, sheet, [sessionid] * WARM)
    before = rss_kib(server.pid)
    idle = await open_subscribed(server, sheet, [sessionid] * count)
    after = rss_kib(server.pid)
    sockets = [*warm, *idle]
    times = []
    for k in range(ROUNDS):
        marker = f"all{k}"

        async def arrival(ws: Ws, marker: str = marker) -> float:
            await ws.receive_until(
                lambda f: f["type"] == "events" and any(e["new_value"] == marker for e in f["events"]),
                what=f"the edit {marker}")
            return now_ms()

        started = now_ms()
        await writer.send_edit([(0, 0, marker)])
        arrivals = await asyncio.gather(*(arrival(ws) for ws in sockets), arrival(writer))
        times.append(max(arrivals) - started)
    for ws in [writer, *sockets]:
        await ws.close()
    return (after - before) / count, times


def run(env: BenchEnv, *, quick: bool) -> dict[str, Any]:
    count = 200 if quick else 2000
    ((user, sessionid),) = make_users(1)
    make_sheet("connections", editors=[user])
    ours = env.start_daphne(name="ours")
    baseline = env.start_daphne(BASELINE_APP, name="baseline")
    kib, times = asyncio.run(_measure(ours, "connections", sessionid, count=count))
    base_kib, base_times = asyncio.run(_measure(baseline, "connections", sessionid, count=count))
    print_table(f"connections: {count:,} idle subscribed sockets on one process, {ROUNDS} edits to all",
                ["app", "KiB per connection", "median ms to all", "max ms to all"],
                [("ours", kib, median(times), max(times)), ("baseline", base_kib, median(base_times), max(base_times))])
    return rounded({
        "connections": count, "kib_per_connection": kib, "fanout_all_ms": median(times),
        "baseline_kib_per_connection": base_kib, "baseline_fanout_all_ms": median(base_times),
    })
