"""The sheet websocket: subscribe (replay, then live), edit, ping (PROTOCOL.md sections 2-4)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError

from ledger.broadcast import group_name
from ledger.exceptions import EditRejected
from ledger.selectors import sheet_head
from ledger.services import EditRequest
from proj import metrics
from sheets import appender, feeds
from sheets.encoding import frame_text
from sheets.exceptions import SheetNotFound
from sheets.models import SHEET_NAME_PATTERN
from sheets.protocol import ProtocolError, decode_frame, edit_id_of, parse_edit, parse_subscribe
from sheets.ratelimit import TokenBucket
from sheets.selectors import get_sheet, role_for

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
# What channels-redis raises while Redis cannot be reached.
LAYER_DOWN = (RedisError, OSError)
LAYER_RETRY_FIRST = 0.1
LAYER_RETRY_MAX = 2.0

# Open sheet sockets per user pk in this process. The cap is per process:
# it bounds what one user can cost a daphne process, which is the resource
# at stake; it is not a cluster-wide quota.
_open_per_user: Counter[int] = Counter()


@database_sync_to_async
def _access(name: str, user: Any) -> tuple[int, str | None]:
    sheet = get_sheet(name=name)
    return sheet.pk, role_for(user=user, sheet_id=sheet.pk)


_head = database_sync_to_async(sheet_head)
_events = database_sync_to_async(feeds.events_frame)
_snapshot = database_sync_to_async(feeds.snapshot_frame)


class SheetConsumer(AsyncWebsocketConsumer):
    """One browser tab on one sheet.

    ``last_sent`` is the highest seq this connection has delivered. Every
    events frame continues it without a gap: live group messages that
    overlap it are trimmed, and a group message that would leave a hole (the
    channel layer dropped one) is replaced by a read from the ledger.
    """

    sheet_id: int
    sheet_name: str
    subscribed = False
    joined = False
    counted = False
    last_sent = 0
    idle_timer: asyncio.TimerHandle | None = None

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
            self.sheet_id, role = await _access(self.sheet_name, user)
        except SheetNotFound:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        except DATABASE_DOWN:
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        if role is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if _open_per_user[user.pk] >= settings.SHEETS_MAX_CONNECTIONS_PER_USER:
            await self.close(code=CLOSE_TOO_MANY_CONNECTIONS)
            return
        _open_per_user[user.pk] += 1
        self.user = user
        self.bucket = TokenBucket(rate=settings.SHEETS_RATE_LIMIT_PER_SECOND, burst=settings.SHEETS_RATE_LIMIT_BURST)
        metrics.CONNECTIONS.inc()
        self.counted = True
        self._restart_idle_timer()

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels' dispatch first closes stale database connections on its
        # one shared database thread, for every frame and every group
        # message: a thread round trip per message per socket, queued behind
        # whatever that thread is running. Every database call here goes
        # through database_sync_to_async (or sheets.appender), which does
        # that cleanup around the call itself, so skip the hop.
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

    def _release(self) -> None:
        """Give back this socket's per-user slot and gauge (idempotent)."""
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        if self.counted:
            metrics.CONNECTIONS.dec()
            self.counted = False
            _open_per_user[self.user.pk] -= 1
            if _open_per_user[self.user.pk] <= 0:
                del _open_per_user[self.user.pk]

    async def disconnect(self, code: int) -> None:
        self._release()
        if self.joined:
            self.joined = False
            try:
                await self.channel_layer.group_discard(group_name(self.sheet_id), self.channel_name)
            except LAYER_DOWN:
                pass  # Redis is down or restarted: the membership is gone or expires with the group

    # AsyncConsumer.__call__ sets channel_receive to the layer's receive and
    # lets whatever it raises end the consumer: with Redis down every sheet
    # socket would close with 1011 and no new one could stay open, so no
    # edit could be made. The layer is only a hint (DESIGN.md, decision 2):
    # wrap its receive in one that waits for Redis instead.
    @property
    def channel_receive(self) -> Callable[[], Awaitable[dict[str, Any]]]:
        return self._receive_from_layer

    @channel_receive.setter
    def channel_receive(self, receive: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self._layer_receive = receive

    async def _receive_from_layer(self) -> dict[str, Any]:
        """Receive the next group message, retrying while the channel layer is unreachable."""
        delay = LAYER_RETRY_FIRST
        while True:
            try:
                return await self._layer_receive()
            except LAYER_DOWN as exc:
                logger.warning("channel layer unreachable (%s); retrying in %.1fs", exc, delay)
            # A restarted Redis has forgotten the groups: join again before
            # receiving, or a receive that succeeds first would wait for
            # ever outside the group. Until then pings fill from the ledger.
            while True:
                await asyncio.sleep(delay)
                delay = min(delay * 2, LAYER_RETRY_MAX)
                if not self.joined:
                    break
                try:
                    await self.channel_layer.group_add(group_name(self.sheet_id), self.channel_name)
                except LAYER_DOWN:
                    continue
                logger.info("rejoined the group of sheet %s", self.sheet_id)
                break

    def _restart_idle_timer(self) -> None:
        # A client that sends nothing for this long (the grid pings every
        # 15 s) is gone without a close: a suspended laptop, a dead NAT
        # entry. Closing frees its group membership and its slot in nginx.
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        timeout = settings.SHEETS_IDLE_TIMEOUT_SECONDS
        if timeout > 0:
            loop = asyncio.get_running_loop()
            self.idle_timer = loop.call_later(timeout, self._close_idle)

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
        self._restart_idle_timer()
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
            elif kind == "edit":
                await self.on_edit(message)
            elif kind == "ping":
                await self.on_ping(message)
            else:
                raise ProtocolError("invalid_message", f"unknown frame type {kind[:40]!r}")
        except ProtocolError as exc:
            if message.get("type") == "edit":
                metrics.EDITS_REJECTED.labels(exc.code).inc()
            await self.send_error(exc.code, exc.message, exc.client_event_id)
        except DATABASE_DOWN:
            logger.warning("database unavailable while handling a %s frame", message.get("type"), exc_info=True)
            if message.get("type") == "edit":
                metrics.EDITS_REJECTED.labels("unavailable").inc()
            await self.send_error(
                "unavailable", "the database cannot be reached; retry later", edit_id_of(message) if message else None
            )

    async def on_subscribe(self, message: dict[str, Any]) -> None:
        since = parse_subscribe(message).since
        if not self.joined:
            # Join before reading (DESIGN.md, decision 3): whatever commits
            # from now on reaches this channel, and sheet_events drops what
            # the replay below already sent.
            self.joined = True
            try:
                await self.channel_layer.group_add(group_name(self.sheet_id), self.channel_name)
            except LAYER_DOWN:
                # _receive_from_layer joins once Redis is back; pings fill
                # the gap from the ledger meanwhile.
                logger.warning("could not join the group of sheet %s", self.sheet_id, exc_info=True)
        # Rights are read again on every subscribe: a revoked member whose
        # sheet.access announcement was lost loses the sheet here.
        _, role = await _access(self.sheet_name, self.user)
        if role is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        head = await _head(sheet_id=self.sheet_id)
        if since > head:
            raise ProtocolError("since_ahead", f"since {since} is ahead of the sheet's head {head}")
        self.subscribed = False
        self.last_sent = since
        if head - since > settings.SHEETS_SNAPSHOT_THRESHOLD:
            frame = await _snapshot(sheet_id=self.sheet_id)
            # A snapshot too large for one frame is skipped: the replay
            # below then sends the same state as events, in frames that fit.
            if frame is not None:
                await self.send_json(frame)
                metrics.SNAPSHOTS.inc()
                self.last_sent = frame["head"]
                head = max(head, frame["head"])
        await self._send_from_ledger(upto=head)
        self.subscribed = True
        metrics.REPLAYS.inc()
        await self.send_json({"type": "caught_up", "head": self.last_sent})

    async def on_edit(self, message: dict[str, Any]) -> None:
        if not self.subscribed:
            raise ProtocolError("not_subscribed", "subscribe before editing", edit_id_of(message))
        edit = parse_edit(message)
        echo = str(message["client_event_id"])
        if not self.bucket.take():
            raise ProtocolError("rate_limited", "too many edits; slow down and retry", echo)
        started = time.perf_counter()
        try:
            result = await appender.append(
                EditRequest(user=self.user, client_event_id=edit.client_event_id, changes=edit.changes),
                sheet_id=self.sheet_id,
            )
        except EditRejected as exc:
            metrics.EDITS_REJECTED.labels(exc.code).inc()
            await self.send_error(exc.code, exc.message, echo, **exc.details)
            return
        metrics.APPEND_SECONDS.observe(time.perf_counter() - started)
        await self.send_json({"type": "ack", "client_event_id": echo, "seqs": result.seqs})

    async def on_ping(self, message: dict[str, Any]) -> None:
        if not self.subscribed:
            raise ProtocolError("not_subscribed", "subscribe before pinging")
        reported = message.get("gaps")
        if isinstance(reported, int) and not isinstance(reported, bool) and 0 < reported <= 1_000_000:
            metrics.GAPS.labels("client").inc(reported)
        head = await _head(sheet_id=self.sheet_id)
        # A live message the channel layer dropped at the tail of a burst
        # leaves no later message to reveal the gap; fill it here so the
        # pong never reports a head this connection has not been sent.
        if head > self.last_sent:
            await self._send_from_ledger(upto=head)
        await self.send_json({"type": "pong", "head": head})

    async def sheet_access(self, message: dict[str, Any]) -> None:
        """Someone's rights on the sheet changed: close this socket if its user has lost theirs."""
        try:
            _, role = await _access(self.sheet_name, self.user)
        except DATABASE_DOWN:
            return  # read again at the next subscribe
        except SheetNotFound:
            role = None
        if role is None:
            await self.close(code=CLOSE_FORBIDDEN)

    async def sheet_events(self, message: dict[str, Any]) -> None:
        """Deliver a group message announcing committed events."""
        if not self.subscribed or message["last"] <= self.last_sent:
            return
        if message["first"] > self.last_sent + 1 or "events" not in message:
            if message["first"] > self.last_sent + 1:
                metrics.GAPS.labels("server").inc()
            try:
                await self._send_from_ledger(upto=message["last"])
            except DATABASE_DOWN:
                # The next message or ping fills the gap once the database is back.
                logger.warning("could not fill a gap on sheet %s", self.sheet_id, exc_info=True)
            return
        events = [event for event in message["events"] if event["seq"] > self.last_sent]
        await self.send_json({"type": "events", "events": events})
        self.last_sent = events[-1]["seq"]

    async def _send_from_ledger(self, *, upto: int) -> None:
        while self.last_sent < upto:
            frame = await _events(
                sheet_id=self.sheet_id, sheet_name=self.sheet_name, after=self.last_sent, upto=upto,
                limit=settings.SHEETS_REPLAY_FRAME_SIZE,
            )
            if not frame["events"]:
                return
            await self.send_json(frame)
            metrics.EVENTS_REPLAYED.inc(len(frame["events"]))
            self.last_sent = frame["events"][-1]["seq"]
