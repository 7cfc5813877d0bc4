"""The sheet websocket: subscribe (replay, then live), edit, ping (docs/protocol.md, "WebSocket").

Thin: it authenticates, parses, hands the work to the subscription
(sheets.live.subscription) or the write path (sheets.writes), and turns
what they raise into error frames and close codes.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import InterfaceError, OperationalError

from ledger.selectors import stream_head
from sheets import metrics
from sheets.broadcast import hub
from sheets.broadcast.encoding import frame_text
from sheets.broadcast.frames import events_frame, snapshot_frame
from sheets.exceptions import EditRejected, SheetNotFound
from sheets.live.connections import IdleTimer, UserSlots
from sheets.live.protocol import decode_frame, parse_ping, parse_subscribe
from sheets.live.subscription import Ledger, SinceAhead, Subscription
from sheets.models import SHEET_NAME_PATTERN
from sheets.ratelimit import TokenBucket
from sheets.selectors import get_sheet, role_for
from sheets.writes import group_commit
from sheets.writes.edits import Request
from sheets.writes.operations import OPERATIONS, ProtocolError, edit_id_of, parse_operation

logger = logging.getLogger(__name__)

CLOSE_NOT_LOGGED_IN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_IDLE = 4408
CLOSE_TOO_MANY_CONNECTIONS = 4429
# Applications may only send 1000 or 3000-4999 (autobahn refuses the
# standard 1009 and 1013 from the application), so the HTTP-like 44xx/45xx.
CLOSE_TOO_BIG = 4413
CLOSE_TRY_AGAIN_LATER = 4503

DATABASE_DOWN = (OperationalError, InterfaceError)

_slots = UserSlots()


@database_sync_to_async
def _access(name: str, user: Any) -> tuple[int, int, str | None]:
    sheet = get_sheet(name=name)
    return sheet.pk, sheet.stream_id, role_for(user=user, sheet_id=sheet.pk)


class SheetConsumer(AsyncWebsocketConsumer):
    """One browser tab on one sheet."""

    sheet_id: int
    stream_id: int
    sheet_name: str
    subscription: Subscription | None = None
    joined = False  # this socket is one of its process hub's members for the sheet
    counted = False
    idle: IdleTimer | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_LOGGED_IN)
            return
        self.sheet_name = self.scope["url_route"]["kwargs"]["sheet_name"]
        if not re.fullmatch(SHEET_NAME_PATTERN, self.sheet_name):
            await self.close(code=CLOSE_NOT_FOUND)
            return
        try:
            self.sheet_id, self.stream_id, role = await _access(self.sheet_name, user)
        except SheetNotFound:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        except DATABASE_DOWN:
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        if role is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if not _slots.take(user.pk, cap=settings.SHEETS_MAX_CONNECTIONS_PER_USER):
            await self.close(code=CLOSE_TOO_MANY_CONNECTIONS)
            return
        self.user = user
        self.counted = True
        metrics.CONNECTIONS.inc()
        self.bucket = TokenBucket(rate=settings.SHEETS_RATE_LIMIT_PER_SECOND, burst=settings.SHEETS_RATE_LIMIT_BURST)
        self.ledger = Ledger(
            head=partial(database_sync_to_async(stream_head), stream_id=self.stream_id),
            events=partial(database_sync_to_async(events_frame), stream_id=self.stream_id, sheet_name=self.sheet_name),
            snapshot=partial(database_sync_to_async(snapshot_frame), stream_id=self.stream_id),
        )
        # A client that sends nothing for this long (the grid pings every
        # 15 s) is gone without a close: a suspended laptop, a dead NAT
        # entry. Closing frees its group membership and its slot in nginx.
        self.idle = IdleTimer(settings.SHEETS_IDLE_TIMEOUT_SECONDS, self._close_idle)
        self.idle.restart()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' dispatch first closes stale database connections on its
        # one shared database thread, for every frame and every group
        # message: a thread round trip per message per socket, queued behind
        # whatever that thread is running. Every database call here goes
        # through database_sync_to_async (or sheets.writes.group_commit),
        # which does that cleanup around the call itself, so skip the hop.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # A consumer that dies of an exception never gets websocket.disconnect;
        # releasing here too keeps its slot and gauge from leaking.
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
            await self._leave_hub()

    def _release(self) -> None:
        """Give back this socket's per-user slot and gauge (idempotent)."""
        if self.idle is not None:
            self.idle.cancel()
        if self.counted:
            self.counted = False
            metrics.CONNECTIONS.dec()
            _slots.give_back(self.user.pk)

    async def disconnect(self, code: int) -> None:
        self._release()
        await self._leave_hub()

    async def _leave_hub(self) -> None:
        if self.joined:
            self.joined = False
            sheets = hub.hub()
            if sheets is not None:
                await sheets.leave(sheet_id=self.sheet_id, member=self)

    # The socket reads its sheet's announcements from its inbox, which the
    # process's hub fills (sheets.broadcast.hub), never from the channel
    # layer: AsyncConsumer.__call__ would make channel_receive the layer's
    # receive for a channel of this socket alone, which nothing sends to.
    @property
    def channel_receive(self) -> Callable[[], Awaitable[dict[str, Any]]]:
        return self.inbox.get

    @channel_receive.setter
    def channel_receive(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        pass  # the layer's receive for this socket's own channel: unused, see above

    def lacks(self, seq: int) -> bool:
        """True when this socket streams live, has not been sent ``seq``, and has nothing waiting (hub.Member)."""
        subscription = self.subscription
        return subscription is not None and subscription.live and subscription.last_sent < seq and self.inbox.empty()

    def _close_idle(self) -> None:
        # Keep a reference: the event loop holds tasks only weakly.
        self.idle_close = asyncio.ensure_future(self.close(code=CLOSE_IDLE))

    async def send_json(self, content: dict[str, Any]) -> None:
        await self.send(text_data=frame_text(content))

    async def send_error(self, code: str, message: str, client_event_id: str | None = None, **extra: Any) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if client_event_id is not None:
            frame["client_event_id"] = client_event_id
        frame.update(extra)
        await self.send_json(frame)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.idle is not None:
            self.idle.restart()
        size = len(text_data.encode("utf-8")) if text_data is not None else len(bytes_data or b"")
        if size > settings.SHEETS_MAX_FRAME_BYTES:
            # Reading such a frame already cost its memory; answering it
            # would invite the next one. The client must split its edit.
            logger.warning("closing a connection on sheet %s after a %d-byte frame", self.sheet_name, size)
            await self.close(code=CLOSE_TOO_BIG)
            return
        message: dict[str, Any] = {}
        try:
            message = decode_frame(text_data, bytes_data)
            kind = message["type"]
            if kind == "subscribe":
                await self.on_subscribe(message)
            elif kind in OPERATIONS:
                await self.on_operation(message)
            elif kind == "ping":
                await self.on_ping(message)
            else:
                raise ProtocolError("invalid_message", f"unknown frame type {kind[:40]!r}")
        except ProtocolError as exc:
            if _is_operation(message):
                metrics.EDITS_REJECTED.labels(exc.code).inc()
            await self.send_error(exc.code, exc.message, exc.client_event_id)
        except EditRejected as exc:
            metrics.EDITS_REJECTED.labels(exc.code).inc()
            await self.send_error(exc.code, exc.message, edit_id_of(message), **exc.details)
        except DATABASE_DOWN:
            logger.warning("database unavailable while handling a %s frame", message.get("type"), exc_info=True)
            if _is_operation(message):
                metrics.EDITS_REJECTED.labels("unavailable").inc()
            await self.send_error(
                "unavailable", "the database cannot be reached; retry later", edit_id_of(message) if message else None
            )

    async def on_subscribe(self, message: dict[str, Any]) -> None:
        since = parse_subscribe(message).since
        if not self.joined:
            # Join before reading (docs/architecture.md, decision 3):
            # whatever commits from now on reaches this socket's inbox, and
            # the subscription drops what its replay already sent.
            sheets = hub.hub()
            if sheets is not None:
                await sheets.join(
                    sheet_id=self.sheet_id, stream_id=self.stream_id, sheet_name=self.sheet_name, member=self
                )
                self.joined = True
        # Rights are read again on every subscribe: a revoked member whose
        # sheet.access announcement was lost loses the sheet here.
        _, _, role = await _access(self.sheet_name, self.user)
        if role is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if self.subscription is None:
            self.subscription = Subscription(self.ledger, self.send_json)
        try:
            await self.subscription.start(since)
        except SinceAhead as exc:
            raise ProtocolError("since_ahead", str(exc)) from None

    def _live(self, action: str, message: dict[str, Any]) -> Subscription:
        if self.subscription is None or not self.subscription.live:
            raise ProtocolError("not_subscribed", f"subscribe before {action}", edit_id_of(message))
        return self.subscription

    async def on_operation(self, message: dict[str, Any]) -> None:
        self._live("editing" if message["type"] == "edit" else "changing the rows or columns", message)
        await self._append(message, parse_operation(message, user=self.user))

    async def _append(self, message: dict[str, Any], request: Request) -> None:
        """Append one operation through the sheet's group commit and acknowledge it.

        The socket's next frame is read only once this returns, so a
        client's operations are applied in the order it sent them.
        """
        echo = str(message["client_event_id"])
        if not self.bucket.take():
            raise ProtocolError("rate_limited", "too many operations; slow down and retry", echo)
        started = time.perf_counter()
        result = await group_commit.append(request, sheet_id=self.sheet_id)
        metrics.APPEND_SECONDS.observe(time.perf_counter() - started)
        await self.send_json({"type": "ack", "client_event_id": echo, "seqs": result.seqs})

    async def on_ping(self, message: dict[str, Any]) -> None:
        subscription = self._live("pinging", {})
        ping = parse_ping(message)
        if ping.gaps:
            metrics.GAPS.labels("client").inc(ping.gaps)
        head = await subscription.head_after_fill()
        await self.send_json({"type": "pong", "head": head})

    async def sheet_access(self, message: dict[str, Any]) -> None:
        """Someone's rights on the sheet changed: close this socket if its user has lost theirs."""
        try:
            _, _, role = await _access(self.sheet_name, self.user)
        except DATABASE_DOWN:
            return  # read again at the next subscribe
        except SheetNotFound:
            role = None
        if role is None:
            await self.close(code=CLOSE_FORBIDDEN)

    async def sheet_head(self, message: dict[str, Any]) -> None:
        """The hub saw this socket short of a seq it was handed: read what it lacks from the ledger."""
        if self.subscription is None or not self.subscription.live:
            return
        try:
            await self.subscription.fill(upto=message["head"])
        except DATABASE_DOWN:
            logger.warning("could not fill a gap on sheet %s", self.sheet_id, exc_info=True)

    async def sheet_events(self, message: dict[str, Any]) -> None:
        """Deliver a group message announcing committed events."""
        if self.subscription is None:
            return
        try:
            await self.subscription.deliver(message)
        except DATABASE_DOWN:
            # The next message or ping fills the gap once the database is back.
            logger.warning("could not fill a gap on sheet %s", self.sheet_id, exc_info=True)


def _is_operation(message: dict[str, Any]) -> bool:
    return message.get("type") in OPERATIONS
