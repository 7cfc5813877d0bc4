"""Real websocket clients for live tests: a JSON socket and a sheet replica that checks every seq.

``SheetClient`` is a strict reader of PROTOCOL.md: it applies each event in
turn and fails the test on any gap, duplicate or out-of-order seq, on an
event that differs from an earlier copy of the same seq, and on any error
frame it did not ask for.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from tests.servers import DaphneServer

# Generous: two cores are shared with other test runs (and browsers); a
# timeout only costs time when a test is failing anyway.
RECV_TIMEOUT = 30.0
MAX_FRAME = 16 * 1024 * 1024

Cell = tuple[int, int]


class ErrorFrame(AssertionError):
    """The server answered with an error frame the test did not expect."""

    def __init__(self, frame: dict[str, Any]) -> None:
        super().__init__(f"error frame: {frame}")
        self.frame = frame


class WsClient:
    """One websocket with JSON frames, authenticated by a session cookie."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, server: DaphneServer, path: str, *, sessionid: str | None,
                   origin: str | None = None, timeout: float = RECV_TIMEOUT) -> WsClient:
        headers = {"Cookie": f"sessionid={sessionid}"} if sessionid else {}
        connection = await connect(
            server.ws_url(path), origin=Origin(origin or server.origin), additional_headers=headers, proxy=None,
            max_size=MAX_FRAME, open_timeout=timeout, compression=None,
        )
        return cls(connection)

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(frame))

    async def recv_json(self, timeout: float | None = RECV_TIMEOUT) -> dict[str, Any]:
        """Wait at most ``timeout`` seconds (None: for ever) for the next frame."""
        raw = await asyncio.wait_for(self.connection.recv(), timeout)
        frame = json.loads(raw)
        assert isinstance(frame, dict) and "type" in frame, f"frame without a type: {raw!r}"
        return frame

    async def close_code(self, timeout: float = RECV_TIMEOUT) -> int | None:
        """Wait for the server to close the socket and return its close code."""
        try:
            while True:
                await asyncio.wait_for(self.connection.recv(), timeout)
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None

    async def close(self) -> None:
        await self.connection.close()


class SheetClient:
    """A replica of one sheet fed by a websocket, applying events exactly as a careful client must."""

    def __init__(self, server: DaphneServer, sheet: str, sessionid: str, *, name: str = "client") -> None:
        self.server = server
        self.sheet = sheet
        self.sessionid = sessionid
        self.name = name
        self.ws: WsClient | None = None
        self.last_seq = 0
        self.applied: list[dict[str, Any]] = []  # applied[i] is the event with seq i + 1
        self.seen: dict[int, dict[str, Any]] = {}  # every event ever received, to check re-deliveries
        self.acks: dict[str, list[int]] = {}
        self.caught_up_heads: list[int] = []
        self._reader: asyncio.Task[None] | None = None

    @property
    def path(self) -> str:
        return f"/ws/sheet/{self.sheet}/"

    async def connect(self, server: DaphneServer | None = None) -> None:
        self.server = server or self.server
        self.ws = await WsClient.open(self.server, self.path, sessionid=self.sessionid)

    async def disconnect(self) -> None:
        await self.stop_reading()
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    async def subscribe(self, since: int | None = None, timeout: float = RECV_TIMEOUT) -> list[dict[str, Any]]:
        """Subscribe from ``since`` (default: the last applied seq) and return every frame up to ``caught_up``.

        A ``since`` below the last applied seq rewinds the replica to that
        seq first, so the replay must deliver those events again.
        """
        await self.send_subscribe(since)
        frames = []
        while True:
            frame = await self.next_frame(timeout)
            frames.append(frame)
            if frame["type"] == "caught_up":
                assert frame["head"] == self.last_seq, f"{self.name}: caught_up {frame['head']} != {self.last_seq}"
                return frames

    async def send_subscribe(self, since: int | None = None) -> None:
        """Rewind to ``since`` (default: the last applied seq) and ask for the replay, reading nothing yet."""
        since = self.last_seq if since is None else since
        self.rewind(since)
        await self._ws.send_json({"type": "subscribe", "since": since})

    async def reconnect(self, since: int | None = None, server: DaphneServer | None = None) -> list[dict[str, Any]]:
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
            await self.next_frame(timeout=None)

    def rewind(self, since: int) -> None:
        """Forget the events after ``since``, as a client that only kept state up to ``since`` would."""
        assert 0 <= since <= self.last_seq, f"{self.name}: cannot rewind from {self.last_seq} to {since}"
        del self.applied[since:]
        self.last_seq = since

    async def send_edit(self, changes: Iterable[tuple[int, int, str]], client_event_id: str | None = None) -> str:
        """Send one edit message and return its client_event_id (the ack arrives later)."""
        client_event_id = client_event_id or str(uuid.uuid4())
        await self._ws.send_json({
            "type": "edit", "client_event_id": client_event_id,
            "changes": [{"row": row, "col": col, "value": value} for row, col, value in changes],
        })
        return client_event_id

    async def edit(self, changes: Iterable[tuple[int, int, str]], timeout: float = RECV_TIMEOUT) -> list[int]:
        """Send one edit and wait for its ack; return its seqs."""
        return await self.wait_ack(await self.send_edit(changes), timeout)

    async def wait_ack(self, client_event_id: str, timeout: float = RECV_TIMEOUT) -> list[int]:
        deadline = asyncio.get_running_loop().time() + timeout
        while client_event_id not in self.acks:
            await self.next_frame(self._left(deadline, f"the ack of {client_event_id}"))
        return self.acks[client_event_id]

    async def wait_for_seq(self, seq: int, timeout: float = RECV_TIMEOUT) -> None:
        """Read frames until every event up to ``seq`` has been applied."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.last_seq < seq:
            await self.next_frame(self._left(deadline, f"seq {seq}"))

    async def ping(self, timeout: float = RECV_TIMEOUT) -> int:
        """Ping, applying whatever arrives first, and return the pong's head."""
        await self._ws.send_json({"type": "ping"})
        deadline = asyncio.get_running_loop().time() + timeout
        while (frame := await self.next_frame(self._left(deadline, "a pong")))["type"] != "pong":
            pass
        return int(frame["head"])

    async def next_frame(self, timeout: float | None = RECV_TIMEOUT) -> dict[str, Any]:
        """Receive one frame and apply it; an error frame fails the test."""
        try:
            frame = await self._ws.recv_json(timeout)
        except TimeoutError:
            raise TimeoutError(
                f"{self.name} at seq {self.last_seq} on {self.server.name}: no frame in {timeout}s"
            ) from None
        kind = frame["type"]
        if kind == "events":
            assert frame["events"], f"{self.name}: empty events frame"
            for event in frame["events"]:
                self.apply(event)
        elif kind == "ack":
            self.acks[frame["client_event_id"]] = frame["seqs"]
        elif kind == "caught_up":
            self.caught_up_heads.append(frame["head"])
        elif kind == "error":
            raise ErrorFrame(frame)
        elif kind not in {"pong"}:
            raise AssertionError(f"{self.name}: unexpected frame {frame}")
        return frame

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
        grid: dict[Cell, dict[str, Any]] = {}
        for event in self.applied:
            grid[(event["row"], event["col"])] = {
                "row": event["row"], "col": event["col"], "value": event["new_value"], "last_seq": event["seq"],
            }
        return sorted((cell for cell in grid.values() if cell["value"] != ""), key=lambda c: (c["row"], c["col"]))

    @property
    def _ws(self) -> WsClient:
        assert self.ws is not None, f"{self.name} is not connected"
        return self.ws

    def _left(self, deadline: float, what: str) -> float:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            raise TimeoutError(f"{self.name} at seq {self.last_seq} on {self.server.name}: no {what} in time")
        return left
