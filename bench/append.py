"""append: acked single-cell edits/s through the websocket path vs raw INSERT + COMMIT over psycopg.

Each writer is a closed loop: send one single-cell edit, wait for its ack,
send the next. Writers on one sheet queue on that sheet's row lock; on
separate sheets they only share the database and the daphne process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.common import Ws, answer_to, make_sheet, make_users, open_ws, print_table, rounded
from bench.cpu import CpuWindow, measure
from bench.env import BASELINE_APP, BenchEnv
from bench.raw import commits_per_second
from proj.testing import Frame, edit_frame
from proj.testing.servers import DaphneServer

CONFIGS = [(1, 1), (4, 1), (16, 1), (4, 4), (16, 16)]  # (writers, sheets)
WARMUP_S = 0.5


Message = Callable[[int, int], Frame]
"""What writer ``index`` sends as its ``n``-th message (n from 1): an operation frame."""


def cell_edit(index: int, n: int) -> Frame:
    """The append workload: one single-cell edit, by position, in the first 1,000 rows."""
    return edit_frame([(n % 1000, index % 26, f"w{index}-{n}")])


@dataclass(frozen=True)
class Rates:
    """Acknowledged operations per second over a window: all messages, the events they made, and the cell edits."""

    messages: float
    events: float
    edits: float
    cpu: CpuWindow | None = None


async def _cpu_between(start: float, end: float, servers: list[DaphneServer]) -> CpuWindow:
    """The machine's CPU by process from ``start`` to ``end`` (event-loop times): the measurement window."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep(start - loop.time())
    with measure(servers) as window:
        await asyncio.sleep(end - loop.time())
    return window


async def closed_loop(server: DaphneServer | list[DaphneServer], sheets: list[str], sessionid: str, *, writers: int,
                      seconds: float, baseline: bool, message: Message = cell_edit, cpu: bool = False) -> Rates:
    """Run ``writers`` closed loops (send ``message``, wait for its answer) for ``seconds`` after a warm-up.

    The baseline relays instead of acking: its answer is one's own relayed
    message, counted as one event. Given several servers, writer ``i``
    connects to the ``i``-th in turn. With ``cpu``, the rates come with the
    CPU each process used over the same window.
    """
    servers = server if isinstance(server, list) else [server]
    sockets = []
    for i in range(writers):
        ws = await open_ws(servers[i % len(servers)], sheets[i % len(sheets)], sessionid)
        await ws.subscribe()
        sockets.append(ws)
    loop = asyncio.get_running_loop()
    window_start = loop.time() + WARMUP_S
    window_end = window_start + seconds
    counted = [[0, 0, 0] for _ in range(writers)]  # messages, events, edits

    async def write(index: int, ws: Ws) -> None:
        n = 0
        while loop.time() < window_end:
            n += 1
            frame = message(index, n)
            cid = await ws.send_operation_frame(frame)
            answer = (await ws.receive_until(answer_to(cid, baseline=baseline), what=f"the answer to {cid}"))[-1]
            if window_start <= loop.time() < window_end:
                mine = counted[index]
                mine[0] += 1
                mine[1] += 1 if baseline else len(answer["seqs"])
                mine[2] += frame["type"] == "edit"

    measuring = asyncio.ensure_future(_cpu_between(window_start, window_end, servers)) if cpu else None
    await asyncio.gather(*(write(i, ws) for i, ws in enumerate(sockets)))
    for ws in sockets:
        await ws.close()
    messages, events, edits = (sum(c[k] for c in counted) / seconds for k in range(3))
    return Rates(messages=messages, events=events, edits=edits, cpu=await measuring if measuring else None)


# Where the cores go, per acknowledged edit (the relay: per relayed message),
# measured over the windows of these loads: (writers, sheets).
CPU_GROUPS = ["server", "postgres", "redis", "bench", "other"]
CPU_CONFIGS = [(1, 1), (16, 16)]


def _cpu_row(label: str, servers: list[DaphneServer], rates: Rates, seconds: float) -> tuple[Any, ...]:
    """One run's rate, the cores its servers and the whole machine kept busy, and each group's ms per edit."""
    assert rates.cpu is not None
    used, cores = rates.cpu.ms_per(rates.messages * seconds), rates.cpu.cores()
    names = {server.name for server in servers}
    used["server"] = sum(used.pop(name, 0.0) for name in names)
    return (label, rates.messages, sum(cores.get(name, 0.0) for name in names), sum(cores.values()),
            *(used.get(group, 0.0) for group in CPU_GROUPS))


def run(env: BenchEnv, *, quick: bool) -> dict[str, Any]:
    seconds = 2.0 if quick else 10.0
    raw_seconds = 1.5 if quick else 5.0
    ((user, sessionid),) = make_users(1)
    names = [f"append-{i}" for i in range(16)]
    for name in names:
        make_sheet(name, editors=[user])
    ours = env.start_daphne(name="ours")
    baseline = env.start_daphne(BASELINE_APP, name="baseline")
    rates: dict[tuple[int, int], float] = {}
    base_rates: dict[tuple[int, int], float] = {}
    cpu_rows = []

    def load(label: str, servers: list[DaphneServer], writers: int, sheets: int, *, cpu: bool) -> float:
        """Run one load; with ``cpu``, add its row of where the cores went. Return its rate."""
        measured = asyncio.run(closed_loop(servers, names[:sheets], sessionid, writers=writers, seconds=seconds,
                                           baseline=label.startswith("relay"), cpu=cpu))
        if cpu:
            processes = "" if len(servers) == 1 else f", {len(servers)} processes"
            cpu_rows.append(_cpu_row(f"{label} {writers}w/{sheets}s{processes}", servers, measured, seconds))
        return measured.messages

    for writers, sheets in CONFIGS:
        rates[(writers, sheets)] = load("ours", [ours], writers, sheets, cpu=(writers, sheets) in CPU_CONFIGS)
    for writers, sheets in CPU_CONFIGS:
        base_rates[(writers, sheets)] = load("relay", [baseline], writers, sheets, cpu=True)
    # 16 writers on 16 sheets over two processes of each: what one more process brings on this machine.
    load("ours", [ours, env.start_daphne(name="ours-2")], 16, 16, cpu=True)
    load("relay", [baseline, env.start_daphne(BASELINE_APP, name="baseline-2")], 16, 16, cpu=True)
    raw = {n: commits_per_second(connections=n, seconds=raw_seconds) for n in (1, 4, 16)}
    rows = [
        (writers, sheets, rates[(writers, sheets)], raw[writers], rates[(writers, sheets)] / raw[writers],
         base_rates.get((writers, sheets), float("nan")))
        for writers, sheets in CONFIGS
    ]
    print_table(f"append: single-cell edits, acked, {seconds:.0f} s per row",
                ["writers", "sheets", "edits/s", "raw commits/s (same conns)", "ratio", "baseline relay/s"], rows)
    print_table("append: CPU per acked edit (the relay: per relayed message), by process, over each run's window",
                ["run", "edits/s", "server cores", "all cores", *(f"{group} ms" for group in CPU_GROUPS)], cpu_rows)
    edits, raw16 = rates[(16, 16)], raw[16]
    return rounded({
        "edits_per_s": edits, "raw_commits_per_s": raw16, "ratio": edits / raw16,
        "edits_per_s_one_sheet": max(rates[(w, 1)] for w in (1, 4, 16)),
        "edits_per_s_by_config": {f"{w}w/{s}s": round(r, 1) for (w, s), r in rates.items()},
        "raw_commits_per_s_by_connections": {str(n): round(r, 1) for n, r in raw.items()},
        "baseline_relay_per_s": {f"{w}w/{s}s": round(r, 1) for (w, s), r in base_rates.items()},
        "cpu_ms_per_edit": {row[0]: {group: round(ms, 3) for group, ms in zip(CPU_GROUPS, row[4:], strict=True)}
                            for row in cpu_rows},
    })
