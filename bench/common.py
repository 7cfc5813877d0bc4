"""What every benchmark shares: users, sheets, sessions, websocket clients, statistics, tables."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from proj.testing import Frame, ProtocolClient, open_client, sheet_path
from proj.testing.servers import DaphneServer

RECV_TIMEOUT = 60.0
MAX_FRAME = 64 * 1024 * 1024

Ws = ProtocolClient
"""A bench's socket: proj.testing's protocol client, on which an error frame raises (a bench expects none)."""


def make_users(count: int, *, prefix: str = "bench") -> list[tuple[Any, str]]:
    """Create ``count`` users and return (user, sessionid) pairs, logged in without HTTP."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    result = []
    for i in range(count):
        user = get_user_model().objects.create_user(username=f"{prefix}-{i}-{uuid.uuid4().hex[:6]}")
        client = Client()
        client.force_login(user)
        result.append((user, client.cookies["sessionid"].value))
    return result


def make_sheet(name: str, *, editors: Iterable[Any], rows: int = 1000, cols: int = 26) -> Any:
    from sheets.models import Role
    from sheets.services import create_sheet, grant

    sheet = create_sheet(name=name, rows=rows, cols=cols)
    for user in editors:
        grant(sheet=sheet, username=user.username, role=Role.EDITOR)
    return sheet


async def open_ws(server: DaphneServer, sheet: str, sessionid: str) -> Ws:
    """Open one socket to a sheet (not subscribed yet); every wait on it has RECV_TIMEOUT."""
    return await open_client(server, sheet_path(sheet), sessionid=sessionid, timeout=RECV_TIMEOUT, raise_errors=True,
                             max_size=MAX_FRAME, ping_interval=None)


async def open_subscribed(server: DaphneServer, sheet: str, sessionids: Sequence[str], *,
                          concurrency: int = 50) -> list[Ws]:
    """Open and subscribe one socket per sessionid, at most ``concurrency`` handshakes at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(sessionid: str) -> Ws:
        async with gate:
            ws = await open_ws(server, sheet, sessionid)
            await ws.subscribe()
            return ws

    return list(await asyncio.gather(*(one(s) for s in sessionids)))


def answer_to(client_event_id: str, *, baseline: bool) -> Callable[[Frame], bool]:
    """Match the frame that answers an edit: its ack, or for the baseline (a relay that never acks) its events."""
    def answers(frame: Frame) -> bool:
        if frame["type"] == "ack":
            return bool(frame["client_event_id"] == client_event_id)
        return baseline and frame["type"] == "events" and frame["events"][0]["client_event_id"] == client_event_id

    return answers


def now_ms() -> float:
    return time.perf_counter() * 1000.0


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0-100) by linear interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    k = (len(ordered) - 1) * q / 100.0
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def print_table(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print an aligned plain-text table, titled with the server and channel layer that served it."""
    from bench.env import label

    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(header)]
    print(f"\n{title} [{label()}]")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        # Labels left, figures right.
        print("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def rounded(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in figures.items()}
