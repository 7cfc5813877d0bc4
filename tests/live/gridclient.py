"""A websocket client that behaves like the browser grid under faults.

``GridClient`` keeps every edit pending until its ack, reconnects with
backoff when the socket closes or cannot open, resubscribes from its last
applied seq, resends its pending edits (same ``client_event_id``) after
``caught_up``, retries an edit answered ``unavailable``, and pings
periodically, resubscribing when a pong's head is ahead of it.

It never raises from its background task: anything that breaks docs/protocol.md
(a gap, a changed event, two different acks for one edit, an unexpected
error frame or close code) is recorded in ``violations``, which the test
asserts empty at the end, along with the ledger comparison.

Frames, reading and the websocket are ``proj.testing.ProtocolClient``'s;
this class is the outbox, the reconnect loop and what each frame does. Any
operation of ``proj.testing.OPERATIONS`` goes through the outbox with
``submit(operation_frame(...))``; ``edit`` is that for an edit.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, InvalidHandshake

from proj.testing import Change, Frame, ProtocolClient, WebsocketTransport, edit_frame
from tests.live.clients import Shape, cells_of

BACKOFF_FIRST = 0.05
BACKOFF_MAX = 1.0
OPEN_TIMEOUT = 5.0
# A ping unanswered this long means a stuck connection: drop it and reconnect.
PONG_TIMEOUT = 5.0


class GridClient(ProtocolClient):
    """One grid tab: a replica of the sheet plus its queue of unacknowledged edits."""

    def __init__(self, *, name: str, ws_url: str, origin: str, sessionid: str, ping_interval: float = 0.5,
                 shape: Shape | None = None) -> None:
        super().__init__(name=name, timeout=None)
        self.shape = shape  # the sheet's (rows, cols) as created: needed to apply structure events
        self.ws_url = ws_url
        self.origin = origin
        self.sessionid = sessionid
        self.ping_interval = ping_interval
        self.pinging = True
        self.applied: list[dict[str, Any]] = []  # applied[i] is the event with seq i + 1
        self.pending: dict[str, Frame] = {}  # unacked operations, oldest first
        self.operations: dict[str, Frame] = {}  # every operation ever made here
        self.edits: dict[str, list[Change]] = {}  # the changes of every edit among them
        self.sends: Counter[str] = Counter()  # how often each edit went out (resends included)
        self.stats: Counter[str] = Counter()
        self.upstreams: list[str] = []  # the daphne socket behind each successful handshake
        self.violations: list[str] = []
        self.ready = asyncio.Event()  # subscribed and caught up on the current connection
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._in_flight: set[str] = set()  # sent on this connection, not yet answered
        self._resyncing = False
        self._ping_sent_at: float | None = None
        self.ready_once = False  # caught up at least once on the current connection
        self._task: asyncio.Task[None] | None = None
        self._helpers: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return (f"<GridClient {self.name} seq={self.last_seq} pending={len(self.pending)} {dict(self.stats)}"
                f" violations={self.violations}>")

    @property
    def last_seq(self) -> int:
        return len(self.applied)

    @property
    def ping_outstanding(self) -> bool:
        return self._ping_sent_at is not None

    @property
    def upstream(self) -> str | None:
        return self.upstreams[-1] if self.upstreams else None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def close(self) -> None:
        """Stop the client."""
        for task in [self._task, *self._helpers]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in [self._task, *self._helpers] if t is not None), return_exceptions=True)
        await super().close()

    def submit(self, operation: Frame) -> str:
        """Queue one operation frame; it stays pending until acknowledged, whatever happens to the connection."""
        client_event_id = str(operation["client_event_id"])
        self.operations[client_event_id] = operation
        self.pending[client_event_id] = operation
        self._outbox.put_nowait(client_event_id)
        return client_event_id

    def edit(self, changes: list[Change]) -> str:  # type: ignore[override]  # queued, not awaited
        """Queue one edit (see ``submit``) and return its client_event_id."""
        operation = edit_frame(changes)
        self.edits[operation["client_event_id"]] = changes
        return self.submit(operation)

    # The connection loop.

    async def _run(self) -> None:
        backoff = BACKOFF_FIRST
        while True:
            try:
                await self._session()
            except (ConnectionClosed, OSError, TimeoutError, InvalidHandshake) as exc:
                self.stats[f"dropped:{type(exc).__name__}"] += 1
            except Exception as exc:
                self.violations.append(f"client loop crashed: {exc!r}")
                raise
            self.ready.clear()
            self.stats["reconnects"] += 1
            if self.ready_once:
                backoff = BACKOFF_FIRST
            # Backoff between attempts is the client's own pacing, as the grid's is.
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _session(self) -> None:
        self.ready_once = False
        ws = await WebsocketTransport.open(self.ws_url, origin=self.origin, sessionid=self.sessionid,
                                           timeout=OPEN_TIMEOUT)
        try:
            assert ws.connection.response is not None
            self.upstreams.append(ws.connection.response.headers.get("X-Upstream", "").split(", ")[-1])
            self.transport, self._in_flight, self._ping_sent_at = ws, set(), None
            self.stats["connects"] += 1
            await self._subscribe()
            helpers = [asyncio.create_task(self._writer()), asyncio.create_task(self._pinger(ws))]
            try:
                while True:
                    await self.receive(timeout=None)
            except ConnectionClosedOK:
                pass  # closed cleanly: the connection loop reconnects
            finally:
                for task in helpers:
                    task.cancel()
                await asyncio.gather(*helpers, return_exceptions=True)
                self.transport = None
                self._closed_by_server(ws)
        finally:
            await ws.close()

    def _closed_by_server(self, ws: WebsocketTransport) -> None:
        close = ws.connection.protocol.close_rcvd
        if close is None:
            return
        self.stats[f"closed:{close.code}"] += 1
        if close.code >= 4000:  # 4401/4403/4404: this client should never be refused
            self.violations.append(f"closed by the server with {close.code} {close.reason!r}")

    async def _subscribe(self) -> None:
        self.ready.clear()
        self._resyncing = True
        await self.send_subscribe(self.last_seq)

    async def _writer(self) -> None:
        while True:
            client_event_id = await self._outbox.get()
            await self.ready.wait()
            if client_event_id not in self.pending or client_event_id in self._in_flight:
                continue
            self._in_flight.add(client_event_id)
            self.sends[client_event_id] += 1
            await self.send(self.pending[client_event_id])

    async def _pinger(self, ws: WebsocketTransport) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # The ping period is the grid's own timer, not a wait for a condition.
            await asyncio.sleep(self.ping_interval)
            if self._ping_sent_at is not None and loop.time() - self._ping_sent_at > PONG_TIMEOUT:
                self.stats["stuck"] += 1
                ws.abort()
                return
            if self.pinging and self.ready.is_set() and self._ping_sent_at is None:
                self._ping_sent_at = loop.time()
                await self.send_ping()

    def _later(self, delay: float, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action()`` after ``delay`` seconds: the client's retry backoff."""
        async def run() -> None:
            await asyncio.sleep(delay)
            await action()

        task = asyncio.create_task(run())
        self._helpers.add(task)
        task.add_done_callback(self._helpers.discard)

    # Frames: what each one does (ProtocolClient.receive hands every frame to ``handle``).

    async def handle(self, frame: Frame) -> None:
        self.stats[f"frame:{frame['type']}"] += 1
        await super().handle(frame)

    async def on_events(self, events: list[Frame]) -> None:
        for event in events:
            self._apply(event)

    async def on_caught_up(self, head: int) -> None:
        if head != self.last_seq:
            self.violations.append(f"caught_up head {head} while at seq {self.last_seq}")
        self._resyncing = False
        self.ready.set()
        self.ready_once = True
        for client_event_id in self.pending:  # resend in their original order
            self._outbox.put_nowait(client_event_id)

    async def on_ack(self, client_event_id: str, seqs: list[int]) -> None:
        self._in_flight.discard(client_event_id)
        operation = self.operations.get(client_event_id)
        if operation is None:
            self.violations.append(f"ack for an operation never sent: {client_event_id}")
            return
        earlier = self.acks.setdefault(client_event_id, seqs)
        if earlier != seqs:
            self.violations.append(f"{operation['type']} {client_event_id} acked with {earlier} then {seqs}")
        # An edit appends one event per change; every other operation, one event.
        expected = len(operation["changes"]) if operation["type"] == "edit" else 1
        if len(seqs) != expected:
            self.violations.append(f"{operation['type']} {client_event_id} of {expected} events: {seqs}")
        self.pending.pop(client_event_id, None)

    async def on_pong(self, head: int) -> None:
        self._ping_sent_at = None
        if head > self.last_seq:
            self.stats["pong_behind"] += 1
            await self._subscribe()

    async def on_snapshot(self, frame: Frame) -> None:
        await self.on_unknown(frame)

    async def on_unknown(self, frame: Frame) -> None:
        self.violations.append(f"unexpected frame {frame}")

    def _apply(self, event: dict[str, Any]) -> None:
        seq = event["seq"]
        if seq <= self.last_seq:
            # Frames already in flight when a resubscribe went out arrive
            # again in its replay; they must be the very same events.
            if not self._resyncing or self.applied[seq - 1] != event:
                self.violations.append(f"duplicate seq {seq} at {self.last_seq}: {event}")
            self.stats["redelivered"] += 1
            return
        if seq != self.last_seq + 1:
            self.violations.append(f"gap: seq {seq} after {self.last_seq}")
            return
        self.applied.append(event)

    async def on_error(self, frame: Frame) -> None:
        code, client_event_id = frame.get("code"), frame.get("client_event_id")
        self.stats[f"error:{code}"] += 1
        if code != "unavailable":
            self.violations.append(f"error frame {frame}")
            if client_event_id is not None:
                self._in_flight.discard(client_event_id)
            return
        ws = self.transport
        if client_event_id is not None:
            # The operation stays pending; send it again after a pause.
            self._in_flight.discard(client_event_id)
            self._later(0.2, lambda: self._requeue(client_event_id))
        elif not self.ready.is_set():
            self._later(0.2, lambda: self._resubscribe_on(ws))  # the subscribe itself failed
        else:
            self._ping_sent_at = None  # the ping was answered, with a failure

    async def _requeue(self, client_event_id: str) -> None:
        self._outbox.put_nowait(client_event_id)

    async def _resubscribe_on(self, ws: object) -> None:
        if ws is not None and ws is self.transport:
            try:
                await self._subscribe()
            except ConnectionClosed:
                pass  # the connection loop reconnects

    # The replica.

    def cells(self) -> list[dict[str, Any]]:
        """Return the replica's non-empty cells in the shape of GET /api/sheets/<name>/cells/.

        The events are folded by id (tests/live/clients.py's ``Replica``), structure events included
        when the client was given the sheet's ``shape``; an event that does not fit raises.
        """
        return cells_of(self.applied, self.shape)
