"""Telling a sheet's open sockets about something, over the channel layer.

The channel layer is a hint, not the record (docs/architecture.md,
decision 2): group_send is at-most-once, so a lost message costs a
subscriber a gap that its consumer fills from the ledger; it never costs an
edit. That is why a failing layer is logged here and not raised into the
committed write that asked for the announcement.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from redis.exceptions import RedisError

from ledger.models import Event
from sheets.broadcast.frames import events_message
from sheets.broadcast.hub import group_name, running_hub

logger = logging.getLogger(__name__)

__all__ = ["announce_events_now", "broadcast_events", "group_name", "notify_sheet", "notify_sheet_from_sync"]


async def notify_sheet(*, sheet_id: int, message: dict[str, Any], what: str) -> None:
    """Send one message to every connection on the sheet; log, never raise, when the layer fails.

    The message names its sheet: a process's hub receives every sheet's
    on one channel (sheets.broadcast.hub). This process's own sockets get
    it at once, without the round trip through the layer.
    """
    message = _offer_here(sheet_id=sheet_id, message=message)
    if message is not None:
        await _send_to_layer(sheet_id=sheet_id, message=message, what=what)


def _offer_here(*, sheet_id: int, message: dict[str, Any]) -> dict[str, Any] | None:
    """Give this process's sockets the message now; return it as the layer gets it (None: no layer)."""
    if get_channel_layer() is None:
        return None
    message = {**message, "sheet": sheet_id}
    local = running_hub()
    if local is not None:
        local.offer_local(sheet_id=sheet_id, message=message)
    return message


async def _send_to_layer(*, sheet_id: int, message: dict[str, Any], what: str) -> None:
    layer = get_channel_layer()
    try:
        await layer.group_send(group_name(sheet_id), message)
    except (ChannelFull, RedisError, OSError) as exc:
        logger.warning("broadcast of %s on sheet %s failed: %s", what, sheet_id, exc)


# Announcements scheduled on a running loop, referenced until done (the
# event loop holds tasks only weakly).
_scheduled: set[asyncio.Task[None]] = set()


def notify_sheet_from_sync(*, sheet_id: int, message: dict[str, Any], what: str) -> None:
    """notify_sheet from synchronous code, such as an on-commit hook; never raise.

    Usually no event loop runs in the calling thread and the message is
    sent before this returns. A thread that runs its own loop (a sync API
    built on one, such as Playwright's) cannot block on it: there the
    message is scheduled on that loop instead.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(notify_sheet)(sheet_id=sheet_id, message=message, what=what)
        return
    task = loop.create_task(notify_sheet(sheet_id=sheet_id, message=message, what=what))
    _scheduled.add(task)
    task.add_done_callback(_scheduled.discard)


def _events_announcement(events: Sequence[Event]) -> tuple[dict[str, Any], str]:
    return events_message(events=events), f"seqs {events[0].seq}-{events[-1].seq}"


# Per event loop and sheet: the last announcement whose layer copy has not left yet.
_last_sent: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Task[None]]] = (
    weakref.WeakKeyDictionary()
)


def announce_events_now(*, sheet_id: int, events: Sequence[Event]) -> None:
    """Announce committed events from the event loop without waiting for the layer; never raise.

    This process's sockets have them on return; the other processes' copy
    leaves after the sheet's previous announcement's, so copies reach the
    layer in seq order while the caller (sheets.writes.group_commit) already
    commits the next batch.
    """
    if not events:
        return
    message, what = _events_announcement(events)
    sent = _offer_here(sheet_id=sheet_id, message=message)
    if sent is None:
        return
    pending = _last_sent.setdefault(asyncio.get_running_loop(), {})
    previous = pending.get(sheet_id)

    async def send() -> None:
        if previous is not None:
            await asyncio.shield(previous)
        await _send_to_layer(sheet_id=sheet_id, message=sent, what=what)

    task = pending[sheet_id] = asyncio.ensure_future(send())

    def done(finished: asyncio.Task[None]) -> None:
        if pending.get(sheet_id) is finished:
            del pending[sheet_id]

    task.add_done_callback(done)


def broadcast_events(*, sheet_id: int, events: Sequence[Event]) -> None:
    """Announce committed events from synchronous code (an on-commit hook); never raise."""
    if events:
        message, what = _events_announcement(events)
        notify_sheet_from_sync(sheet_id=sheet_id, message=message, what=what)
