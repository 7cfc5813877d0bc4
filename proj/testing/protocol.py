"""The sheet websocket protocol (docs/protocol.md, sections 4-8) from the client's side, written once.

Frames are built by the functions at the top (``subscribe_frame``,
``ping_frame``, ``operation_frame`` and its ``edit_frame``); every operation
is listed in ``OPERATIONS`` (``edit``, ``insert_rows``, ``delete_rows``,
``insert_cols``, ``delete_cols``), and ``ProtocolClient.operate`` sends any of
them and waits for its ack.

``ProtocolClient`` reads and writes those frames over a ``Transport`` (the
real websocket, or channels' in-process communicator: proj/testing/
transports.py). Every frame it receives goes through ``handle``, which
calls ``on_events``, ``on_ack``, ``on_caught_up``, ``on_snapshot``,
``on_pong``, ``on_error`` or ``on_unknown``: a replica (tests/live's
SheetClient, GridClient) overrides those, and inherits every wait. A wait
reads frames until a frame or a state it names has come, against one
deadline, and fails with what it was waiting for; nothing here sleeps.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Protocol

Frame = dict[str, Any]
Change = tuple[int, int, str]  # (row, col, value): a cell named by its position

# Every operation message: its type and the fields it carries besides
# "type" and "client_event_id" (docs/protocol.md, section 7). Each is answered
# by an ack (or an error) with its client_event_id.
OPERATIONS: Final[Mapping[str, tuple[str, ...]]] = {
    "edit": ("changes",),
    "insert_rows": ("after", "row_ids"),
    "delete_rows": ("row_ids",),
    "insert_cols": ("after", "col_ids"),
    "delete_cols": ("col_ids",),
}

DEFAULT_TIMEOUT = 30.0


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = _Default()
"""A timeout argument meaning: the client's own ``timeout``."""
Timeout = float | None | _Default  # None: wait for ever


class ErrorFrame(AssertionError):
    """The server answered with an error frame the client did not expect."""

    def __init__(self, frame: Frame) -> None:
        super().__init__(f"error frame: {frame}")
        self.frame = frame


def sheet_path(sheet: str) -> str:
    """The websocket path of a sheet (docs/protocol.md, section 4)."""
    return f"/ws/sheet/{sheet}/"


def new_client_event_id() -> str:
    return str(uuid.uuid4())


def change(row: int, col: int, value: str, base_seq: int | None = None) -> Frame:
    """One change of an edit, naming its cell by position (``base_seq``: refuse it if the cell changed since)."""
    named: Frame = {"row": row, "col": col, "value": value}
    if base_seq is not None:
        named["base_seq"] = base_seq
    return named


def subscribe_frame(since: int = 0) -> Frame:
    return {"type": "subscribe", "since": since}


def ping_frame() -> Frame:
    return {"type": "ping"}


def operation_frame(kind: str, client_event_id: str | None = None, **fields: Any) -> Frame:
    """An operation message of one of ``OPERATIONS``, with a new client_event_id unless one is given."""
    expected = OPERATIONS.get(kind)
    if expected is None:
        raise ValueError(f"no operation {kind!r}; known: {', '.join(OPERATIONS)}")
    if set(fields) != set(expected):
        raise ValueError(f"{kind} takes {', '.join(expected)}, not {', '.join(sorted(fields))}")
    return {"type": kind, "client_event_id": client_event_id or new_client_event_id(), **fields}


def edit_frame(changes: Iterable[Change | Frame], client_event_id: str | None = None) -> Frame:
    """An edit of ``changes``: (row, col, value) tuples, or change dicts as ``change`` makes them."""
    return operation_frame("edit", client_event_id,
                           changes=[c if isinstance(c, dict) else change(*c) for c in changes])


def decode_frame(message: str | bytes) -> Frame:
    """Decode one server frame: a JSON object with a ``type``."""
    frame = json.loads(message)
    assert isinstance(frame, dict) and "type" in frame, f"frame without a type: {message!r}"
    return frame


def seqs_in(frames: Iterable[Frame]) -> list[int]:
    """Return the seqs of every events frame, in the order they were sent."""
    return [event["seq"] for frame in frames if frame["type"] == "events" for event in frame["events"]]


class Transport(Protocol):
    """One websocket, as a client sees it: messages out and in, then a close."""

    async def send(self, message: str | bytes) -> None: ...

    async def receive(self, timeout: float | None) -> str | bytes:
        """The next message; TimeoutError after ``timeout`` seconds (None: for ever); raises once closed."""
        ...

    async def close(self) -> None: ...


class ProtocolClient:
    """The frame vocabulary over one transport: send operations, read frames, wait for one."""

    raise_errors = False  # True: an error frame raises ErrorFrame (a client that expects none)

    def __init__(self, transport: Transport | None = None, *, name: str = "client",
                 timeout: float | None = DEFAULT_TIMEOUT, raise_errors: bool | None = None) -> None:
        self.transport = transport
        self.name = name
        self.timeout = timeout
        if raise_errors is not None:
            self.raise_errors = raise_errors
        self.acks: dict[str, list[int]] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def describe(self) -> str:
        """Who is waiting, for a timeout's message."""
        return self.name

    @property
    def connected(self) -> Transport:
        assert self.transport is not None, f"{self.name} is not connected"
        return self.transport

    async def close(self) -> None:
        transport, self.transport = self.transport, None
        if transport is not None:
            await transport.close()

    # Sending.

    async def send(self, frame: Frame) -> None:
        await self.connected.send(json.dumps(frame))

    async def send_subscribe(self, since: int = 0) -> None:
        await self.send(subscribe_frame(since))

    async def send_ping(self) -> None:
        await self.send(ping_frame())

    async def send_operation_frame(self, operation: Frame) -> str:
        """Send one operation message and return its client_event_id (the ack arrives later)."""
        await self.send(operation)
        return str(operation["client_event_id"])

    async def send_operation(self, kind: str, client_event_id: str | None = None, **fields: Any) -> str:
        """Send one operation of ``OPERATIONS`` (see ``operation_frame``) and return its client_event_id."""
        return await self.send_operation_frame(operation_frame(kind, client_event_id, **fields))

    async def send_edit(self, changes: Iterable[Change | Frame], client_event_id: str | None = None) -> str:
        """Send one edit message (see ``edit_frame``) and return its client_event_id."""
        return await self.send_operation_frame(edit_frame(changes, client_event_id))

    # Receiving.

    async def receive(self, timeout: Timeout = DEFAULT, *, what: str = "frame") -> Frame:
        """Receive the next frame, ``handle`` it and return it; TimeoutError after ``timeout`` seconds."""
        seconds = self._seconds(timeout)
        try:
            message = await self.connected.receive(seconds)
        except TimeoutError:
            raise TimeoutError(f"{self.describe()}: no {what} in {seconds}s") from None
        frame = decode_frame(message)
        await self.handle(frame)
        return frame

    async def wait(self, done: Callable[[], bool], *, what: str, timeout: Timeout = DEFAULT) -> list[Frame]:
        """Receive frames until ``done()`` holds (checked before each), within one deadline; return them."""
        return await self._collect(lambda _: done(), what=what, timeout=timeout)

    async def receive_until(self, kind: str | Callable[[Frame], bool], *, timeout: Timeout = DEFAULT,
                            what: str | None = None) -> list[Frame]:
        """Return every frame up to and including the first of type ``kind`` (or that ``kind(frame)`` accepts)."""
        matches = kind if callable(kind) else (lambda frame: frame["type"] == kind)
        return await self._collect(lambda frames: bool(frames) and matches(frames[-1]), timeout=timeout,
                                   what=what or (f"{kind} frame" if isinstance(kind, str) else "matching frame"))

    async def _collect(self, done: Callable[[list[Frame]], bool], *, what: str, timeout: Timeout) -> list[Frame]:
        """The one wait: receive frames until ``done(frames so far)``, failing with ``what`` at the deadline."""
        seconds = self._seconds(timeout)
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds
        frames: list[Frame] = []
        while not done(frames):
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                raise TimeoutError(f"{self.describe()}: no {what} in {seconds}s")
            try:
                frames.append(await self.receive(left, what=what))
            except TimeoutError:
                raise TimeoutError(f"{self.describe()}: no {what} in {seconds}s") from None
        return frames

    def _seconds(self, timeout: Timeout) -> float | None:
        return self.timeout if isinstance(timeout, _Default) else timeout

    # The exchanges.

    async def subscribe(self, since: int = 0, *, timeout: Timeout = DEFAULT) -> list[Frame]:
        """Subscribe and return the replay, ``caught_up`` included."""
        await self.send_subscribe(since)
        return await self.receive_until("caught_up", timeout=timeout)

    async def ping(self, *, timeout: Timeout = DEFAULT) -> int:
        """Ping, handling whatever arrives first, and return the pong's head."""
        await self.send_ping()
        return int((await self.receive_until("pong", timeout=timeout))[-1]["head"])

    async def wait_ack(self, client_event_id: str, *, timeout: Timeout = DEFAULT) -> list[int]:
        """Read frames until the ack of ``client_event_id``; return its seqs."""
        await self.wait(lambda: client_event_id in self.acks, what=f"ack of {client_event_id}", timeout=timeout)
        return self.acks[client_event_id]

    async def operate(self, kind: str, *, timeout: Timeout = DEFAULT, **fields: Any) -> list[int]:
        """Send one operation of ``OPERATIONS`` and wait for its ack; return its seqs."""
        return await self.wait_ack(await self.send_operation(kind, **fields), timeout=timeout)

    async def edit(self, changes: Iterable[Change | Frame], *, timeout: Timeout = DEFAULT) -> list[int]:
        """Send one edit and wait for its ack; return its seqs."""
        return await self.wait_ack(await self.send_edit(changes), timeout=timeout)

    # What a received frame does: a replica overrides these.

    async def handle(self, frame: Frame) -> None:
        handler = self._handlers.get(frame["type"])
        if handler is None:
            await self.on_unknown(frame)
        else:
            await handler(self, frame)

    async def on_events(self, events: list[Frame]) -> None:
        pass

    async def on_ack(self, client_event_id: str, seqs: list[int]) -> None:
        self.acks[client_event_id] = seqs

    async def on_caught_up(self, head: int) -> None:
        pass

    async def on_snapshot(self, frame: Frame) -> None:
        pass

    async def on_pong(self, head: int) -> None:
        pass

    async def on_error(self, frame: Frame) -> None:
        if self.raise_errors:
            raise ErrorFrame(frame)

    async def on_unknown(self, frame: Frame) -> None:
        pass

    _handlers: Final[Mapping[str, Callable[[ProtocolClient, Frame], Any]]] = {
        "events": lambda self, frame: self.on_events(frame["events"]),
        "ack": lambda self, frame: self.on_ack(frame["client_event_id"], frame["seqs"]),
        "caught_up": lambda self, frame: self.on_caught_up(frame["head"]),
        "snapshot": lambda self, frame: self.on_snapshot(frame),
        "pong": lambda self, frame: self.on_pong(frame["head"]),
        "error": lambda self, frame: self.on_error(frame),
    }
