"""What every benchmark shares: users, sheets, sessions, websocket clients, statistics, tables."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin

from tests.servers import DaphneServer

RECV_TIMEOUT = 60.0
MAX_FRAME = 64 * 1024 * 1024


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


class Ws:
    """One JSON websocket to a sheet."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, server: DaphneServer, sheet: str, sessionid: str) -> Ws:
        connection = await connect(
            server.ws_url(f"/ws/sheet/{sheet}/"), origin=Origin(server.origin),
            additional_headers={"Cookie": f"sessionid={sessionid}"}, proxy=None, max_size=MAX_FRAME,
            open_timeout=RECV_TIMEOUT, compression=None, ping_interval=None,
        )
        return cls(connection)

    async def send(self, frame: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(frame))

    async def recv(self, timeout: float | None = RECV_TIMEOUT) -> dict[str, Any]:
        """Wait at most ``timeout`` seconds (None: for ever) for the next frame; an error frame raises."""
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.connection.recv(), timeout))
        if frame.get("type") == "error":
            raise RuntimeError(f"error frame: {frame}")
        return frame

    async def subscribe(self, since: int = 0) -> tuple[int, list[dict[str, Any]]]:
        """Subscribe and read up to caught_up; return its head and the frames before it."""
        await self.send({"type": "subscribe", "since": since})
        frames = []
        while (frame := await self.recv())["type"] != "caught_up":
            frames.append(frame)
        return frame["head"], frames

    async def send_edit(self, changes: Sequence[tuple[int, int, str]]) -> str:
        client_event_id = str(uuid.uuid4())
        await self.send({"type": "edit", "client_event_id": client_event_id,
                         "changes": [{"row": r, "col": c, "value": v} for r, c, v in changes]})
        return client_event_id

    async def close(self) -> None:
        await self.connection.close()


async def open_subscribed(server: DaphneServer, sheet: str, sessionids: Sequence[str], *,
                          concurrency: int = 50) -> list[Ws]:
    """Open and subscribe one socket per sessionid, at most ``concurrency`` handshakes at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one(sessionid: str) -> Ws:
        async with gate:
            ws = await Ws.open(server, sheet, sessionid)
            await ws.subscribe()
            return ws

    return list(await asyncio.gather(*(one(s) for s in sessionids)))


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
