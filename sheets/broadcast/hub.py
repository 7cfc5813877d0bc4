"""This process's one listener on the channel layer, for every sheet its sockets watch.

A socket does not join its sheet's group itself: the hub of its process
joins once per sheet, receives every announcement on one channel, and hands
each to the inbox of every socket of that sheet in the process. So a group
holds one member per process, not one per tab, and group_send writes one
copy per process (docs/architecture.md, decision 14).

The channel layer is a hint (decision 2), and it loses things without
saying so: a message dropped on a full channel, a message swallowed by a
cancelled receive (channels-redis #366), a membership that expires or whose
key is deleted. The hub bounds what that costs. Every ``SHEETS_LIVE_CHECK_SECONDS``
it reads the heads of every sheet it watches in one query; a sheet whose
head has stood at a seq for a whole check without the hub having handed it
on has lost an announcement: the hub reads the missing events from the
ledger once and hands them on, and joins the group again. A subscriber is
therefore never more than about two checks behind the ledger, whatever the
layer does, at one query per check per process. Gaps the hub sees in what
it receives are filled the same way, once for all its sockets.

What it hands on is an announcement as the layer carries it (``sheet.events``
with ``first``, ``last`` and the events inline or not, ``sheet.access``);
each socket's subscription trims what it already has. The hub never hands
on the same seq twice, so the layer's copy of an announcement that the
writer's process already handed on locally (``offer_local``) costs nothing.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings
from django.db import InterfaceError, OperationalError
from redis.exceptions import RedisError

from ledger.selectors import stream_heads
from sheets import metrics
from sheets.broadcast.frames import events_frame

logger = logging.getLogger(__name__)

# What channels-redis raises while Redis cannot be reached; what Django raises while the database cannot.
LAYER_DOWN = (RedisError, OSError)
DATABASE_DOWN = (OperationalError, InterfaceError)
RETRY_FIRST = 0.1
RETRY_MAX = 2.0

Message = dict[str, Any]


def group_name(sheet_id: int) -> str:
    return f"sheet-{sheet_id}"


class Member(Protocol):
    """A socket as the hub sees it: an inbox its consumer reads in order, and how far it has been sent."""

    inbox: asyncio.Queue[Message]

    def lacks(self, seq: int) -> bool:
        """True when the socket streams live and has not been sent ``seq`` nor has anything waiting."""


@dataclass(eq=False)
class Watched:
    """One sheet of this process: its sockets and what the hub has handed them."""

    sheet_id: int
    stream_id: int
    sheet_name: str
    members: set[Member] = field(default_factory=set)
    offered: int = 0  # the highest seq handed on; everything up to it has been
    seen: int = 0  # the head read at the previous check
    joined = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class SheetHub:
    """The listener of one event loop (one daphne process): join, leave, and the two loops that feed the inboxes."""

    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.channel = ""
        self.sheets: dict[int, Watched] = {}
        self.tasks: list[asyncio.Task[None]] = []

    async def join(self, *, sheet_id: int, stream_id: int, sheet_name: str, member: Member) -> None:
        """Start handing ``member`` every announcement of the sheet committed from now on.

        Returns once the hub is in the sheet's group (or could not be, with
        the layer down: then the checks fill in), so that a replay read
        after this misses nothing (decision 3).
        """
        watched = self.sheets.get(sheet_id)
        if watched is None:
            watched = self.sheets[sheet_id] = Watched(sheet_id, stream_id, sheet_name)
        async with watched.lock:
            if not watched.joined:
                if not self.channel:
                    self.channel = await self.layer.new_channel(prefix="hub")
                    self._start()
                await self._group_add(watched)
                try:
                    watched.offered = watched.seen = await database_sync_to_async(_head)(stream_id)
                except DATABASE_DOWN:
                    if not watched.members:
                        await self.leave(sheet_id=sheet_id, member=member)
                    raise
                watched.joined = True
            watched.members.add(member)

    async def leave(self, *, sheet_id: int, member: Member) -> None:
        """Stop handing ``member`` anything; leave the group with the sheet's last socket, stop with the last sheet."""
        watched = self.sheets.get(sheet_id)
        if watched is None:
            return
        watched.members.discard(member)
        if watched.members:
            return
        del self.sheets[sheet_id]
        try:
            await self.layer.group_discard(group_name(sheet_id), self.channel)
        except LAYER_DOWN:
            pass  # the membership goes with Redis, or expires
        if not self.sheets:
            self.stop()

    def offer_local(self, *, sheet_id: int, message: Message) -> None:
        """Hand on an announcement made in this process without waiting for the layer's copy of it."""
        watched = self.sheets.get(sheet_id)
        # Busy filling, or a gap: the layer's copy of it is handled as any other.
        if watched is None or watched.lock.locked() or message.get("type") != "sheet.events":
            return
        if message["first"] <= watched.offered + 1:
            self._offer(watched, message)

    def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.tasks = []
        self.channel = ""

    def _start(self) -> None:
        self.tasks = [_task(self._receive_loop()), _task(self._check_loop())]

    async def _group_add(self, watched: Watched) -> None:
        try:
            await self.layer.group_add(group_name(watched.sheet_id), self.channel)
        except LAYER_DOWN as exc:
            logger.warning("could not join the group of sheet %s (%s); the checks fill in", watched.sheet_id, exc)

    async def _receive_loop(self) -> None:
        delay = RETRY_FIRST
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except LAYER_DOWN as exc:
                logger.warning("channel layer unreachable (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                # A restarted Redis has forgotten the groups.
                for watched in list(self.sheets.values()):
                    await self._group_add(watched)
                continue
            delay = RETRY_FIRST
            watched = self.sheets.get(message.get("sheet", -1))
            if watched is not None:
                await self._received(watched, message)

    async def _received(self, watched: Watched, message: Message) -> None:
        if message.get("type") != "sheet.events":
            self._hand_on(watched, message)
            return
        async with watched.lock:
            if message["last"] <= watched.offered:
                return
            if message["first"] > watched.offered + 1:
                metrics.GAPS.labels("hub").inc()
                await self._fill(watched, upto=message["last"])
            self._offer(watched, message)  # what the ledger did not have yet, if anything

    def _offer(self, watched: Watched, message: Message) -> None:
        """Hand on the part of a ``sheet.events`` announcement after ``offered`` (the caller checked for a gap)."""
        if message["last"] <= watched.offered:
            return
        if "events" in message and message["first"] <= watched.offered:
            events = [event for event in message["events"] if event["seq"] > watched.offered]
            message = {**message, "first": events[0]["seq"], "events": events}
        watched.offered = message["last"]
        self._hand_on(watched, message)

    def _hand_on(self, watched: Watched, message: Message) -> None:
        for member in watched.members:
            member.inbox.put_nowait(message)

    async def _fill(self, watched: Watched, *, upto: int) -> None:
        """Hand on the ledger's events after ``offered`` up to ``upto``, read once for every socket."""
        while watched.offered < upto:
            frame = await database_sync_to_async(events_frame)(
                stream_id=watched.stream_id, sheet_name=watched.sheet_name, after=watched.offered, upto=upto,
                limit=settings.SHEETS_REPLAY_FRAME_SIZE,
            )
            events = frame["events"]
            if not events:
                return
            metrics.EVENTS_REPLAYED.inc(len(events))
            self._offer(watched, {
                "type": "sheet.events", "sheet": watched.sheet_id, "first": events[0]["seq"],
                "last": events[-1]["seq"], "events": events,
            })

    async def _check_loop(self) -> None:
        while True:
            await asyncio.sleep(settings.SHEETS_LIVE_CHECK_SECONDS)
            try:
                await self.check()
            except DATABASE_DOWN as exc:
                logger.warning("could not read the heads of the watched sheets (%s)", exc)

    async def check(self) -> None:
        """Hand on what the layer lost: events committed a check ago and still not handed on."""
        watched_sheets = list(self.sheets.values())
        if not watched_sheets:
            return
        heads = await database_sync_to_async(stream_heads)([watched.stream_id for watched in watched_sheets])
        for watched in watched_sheets:
            head = heads.get(watched.stream_id)
            if head is None:
                continue  # the sheet is gone; its sockets close
            async with watched.lock:
                if watched.offered < watched.seen:
                    metrics.GAPS.labels("check").inc()
                    logger.info("sheet %s: the layer lost events %s-%s; handing them on from the ledger",
                                watched.sheet_id, watched.offered + 1, watched.seen)
                    await self._fill(watched, upto=head)
                    await self._group_add(watched)  # in case the membership is what was lost
                watched.seen = head
                # A socket that lost what it was handed (its own fill failed
                # with the database down) reads it again.
                for member in watched.members:
                    if member.lacks(watched.offered):
                        member.inbox.put_nowait({"type": "sheet.head", "head": watched.offered})


def _head(stream_id: int) -> int:
    return stream_heads([stream_id]).get(stream_id, 0)


_tasks: set[asyncio.Task[None]] = set()


def _task(coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    task = asyncio.ensure_future(coroutine)
    _tasks.add(task)
    task.add_done_callback(_done)
    return task


def _done(task: asyncio.Task[None]) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("a sheet hub loop ended", exc_info=task.exception())


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SheetHub] = weakref.WeakKeyDictionary()


def hub(layer_factory: Callable[[], BaseChannelLayer | None] = get_channel_layer) -> SheetHub | None:
    """Return the hub of the running event loop (made on first use), or None without a channel layer."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        layer = layer_factory()
        if layer is None:
            return None
        found = _hubs[loop] = SheetHub(layer)
    return found


def running_hub() -> SheetHub | None:
    """Return the running loop's hub if it has one (no loop, no hub: None)."""
    try:
        return _hubs.get(asyncio.get_running_loop())
    except RuntimeError:
        return None
