"""A sheet replica for live tests that checks every seq, on proj.testing's protocol client.

``SheetClient`` is a strict reader of docs/protocol.md: it applies each event in
turn and fails the test on any gap, duplicate or out-of-order seq, on an
event that differs from an earlier copy of the same seq, and on any error
frame it did not ask for. Frames, waits and the websocket itself are
``proj.testing.ProtocolClient``'s; a raw socket for frames no client would
send is ``proj.testing.open_client`` (or ``open_websocket``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from proj.testing import ErrorFrame, Frame, ProtocolClient, open_websocket, sheet_path
from proj.testing.servers import DaphneServer

# Generous: two cores are shared with other test runs (and browsers); a
# timeout only costs time when a test is failing anyway.
RECV_TIMEOUT = 30.0

Cell = tuple[int, int]

__all__ = ["RECV_TIMEOUT", "ErrorFrame", "SheetClient"]


class SheetClient(ProtocolClient):
    """A replica of one sheet fed by a websocket, applying events exactly as a careful client must."""

    raise_errors = True

    def __init__(self, server: DaphneServer, sheet: str, sessionid: str, *, name: str = "client") -> None:
        super().__init__(name=name, timeout=RECV_TIMEOUT)
        self.server = server
        self.sheet = sheet
        self.sessionid = sessionid
        self.last_seq = 0
        self.applied: list[dict[str, Any]] = []  # applied[i] is the event with seq i + 1
        self.seen: dict[int, dict[str, Any]] = {}  # every event ever received, to check re-deliveries
        self.caught_up_heads: list[int] = []
        self._reader: asyncio.Task[None] | None = None

    def describe(self) -> str:
        return f"{self.name} at seq {self.last_seq} on {self.server.name}"

    @property
    def path(self) -> str:
        return sheet_path(self.sheet)

    async def connect(self, server: DaphneServer | None = None) -> None:
        self.server = server or self.server
        self.transport = await open_websocket(self.server, self.path, sessionid=self.sessionid, timeout=RECV_TIMEOUT)

    async def disconnect(self) -> None:
        await self.stop_reading()
        await self.close()

    async def subscribe(self, since: int | None = None, timeout: float | None = RECV_TIMEOUT) -> list[Frame]:
        """Subscribe from ``since`` (default: the last applied seq) and return every frame up to ``caught_up``.

        A ``since`` below the last applied seq rewinds the replica to that
        seq first, so the replay must deliver those events again.
        """
        frames = await super().subscribe(self.last_seq if since is None else since, timeout=timeout)
        assert frames[-1]["head"] == self.last_seq, f"{self.name}: caught_up {frames[-1]['head']} != {self.last_seq}"
        return frames

    async def send_subscribe(self, since: int | None = None) -> None:
        """Rewind to ``since`` (default: the last applied seq) and ask for the replay, reading nothing yet."""
        since = self.last_seq if since is None else since
        self.rewind(since)
        await super().send_subscribe(since)

    async def reconnect(self, since: int | None = None, server: DaphneServer | None = None) -> list[Frame]:
        await self.disconnect()
        await self.connect(server)
        return await self.subscribe(since)

    def start_reading(self) -> None:
        """Apply every incoming frame in the background until ``stop_reading`` or ``disconnect``."""
        assert self._reader is None, f"{self.name} is already reading"
        self._reader = asyncio.create_task(self._read_forever(), name=f"{self.name} reader")

    async def stop_reading(self) -> None:
        """Stop the background reader, raising whatever failed it (a gap, a duplicate, an error frame)."""
        reader, self._reader = self._reader, None
        if reader is None:
            return
        if not reader.done():
            # Cancelling a pending websockets recv() loses no frame.
            reader.cancel()
        await asyncio.wait([reader])
        if not reader.cancelled() and (failure := reader.exception()) is not None:
            raise failure

    async def _read_forever(self) -> None:
        while True:
            await self.receive(timeout=None)

    def rewind(self, since: int) -> None:
        """Forget the events after ``since``, as a client that only kept state up to ``since`` would."""
        assert 0 <= since <= self.last_seq, f"{self.name}: cannot rewind from {self.last_seq} to {since}"
        del self.applied[since:]
        self.last_seq = since

    async def wait_for_seq(self, seq: int, timeout: float = RECV_TIMEOUT) -> None:
        """Read frames until every event up to ``seq`` has been applied."""
        await self.wait(lambda: self.last_seq >= seq, what=f"seq {seq}", timeout=timeout)

    async def next_frame(self, timeout: float | None = RECV_TIMEOUT) -> Frame:
        """Receive one frame and apply it; an error frame fails the test."""
        return await self.receive(timeout)

    # What each frame does to the replica.

    async def on_events(self, events: list[Frame]) -> None:
        assert events, f"{self.name}: empty events frame"
        for event in events:
            self.apply(event)

    async def on_caught_up(self, head: int) -> None:
        self.caught_up_heads.append(head)

    async def on_snapshot(self, frame: Frame) -> None:
        await self.on_unknown(frame)

    async def on_unknown(self, frame: Frame) -> None:
        raise AssertionError(f"{self.name}: unexpected frame {frame}")

    def apply(self, event: dict[str, Any]) -> None:
        """Apply one event; it must be exactly the next seq, and equal any earlier copy."""
        seq = event["seq"]
        assert seq == self.last_seq + 1, (
            f"{self.name}: got seq {seq} after {self.last_seq} ({'duplicate' if seq <= self.last_seq else 'gap'})"
        )
        assert event["type"] == "CellChanged" and event["sheet"] == self.sheet, f"{self.name}: foreign event {event}"
        earlier = self.seen.setdefault(seq, event)
        assert earlier == event, f"{self.name}: seq {seq} changed between deliveries: {earlier} then {event}"
        self.applied.append(event)
        self.last_seq = seq

    def cells(self) -> list[dict[str, Any]]:
        """Return the replica's non-empty cells in the shape of GET /api/sheets/<name>/cells/."""
        return cells_of(self.applied)


def cells_of(applied: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return the non-empty cells ``applied`` (CellChanged events in seq order) leave, as the cells API lists them."""
    grid: dict[Cell, dict[str, Any]] = {}
    for event in applied:
        grid[(event["row"], event["col"])] = {
            "row": event["row"], "col": event["col"], "value": event["new_value"], "last_seq": event["seq"],
        }
    return sorted((cell for cell in grid.values() if cell["value"] != ""), key=lambda c: (c["row"], c["col"]))
