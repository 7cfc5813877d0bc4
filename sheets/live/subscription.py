"""What one socket has been sent of its sheet's ledger, and how it keeps that gapless.

A plain object over three reads (the head, a replay frame, a snapshot
frame) and a send, all async callables: the consumer gives it the real
ones, a test gives it its own, and no socket is needed to check the rules.

The rules (docs/protocol.md, "subscribe"): ``last_sent`` is the highest seq
delivered, and every events frame continues it without a gap. Subscribe
joins the group before reading (docs/architecture.md, decision 3), so live
messages committed during the replay are buffered by the channel layer and
arrive after it; then every live message is trimmed of what the replay
already sent, and one that would leave a hole (the layer dropped one) or
that comes without its events (too large to inline) is replaced by a read
from the ledger.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from sheets import metrics

Frame = dict[str, Any]


class SinceAhead(Exception):
    """The client claims a seq beyond the sheet's head."""

    def __init__(self, since: int, head: int) -> None:
        super().__init__(f"since {since} is ahead of the sheet's head {head}")
        self.since, self.head = since, head


@dataclass
class Ledger:
    """The reads a subscription makes, each async (the consumer runs them on a database thread)."""

    head: Callable[[], Awaitable[int]]
    events: Callable[..., Awaitable[Frame]]  # events(after=, upto=, limit=) -> an events frame
    snapshot: Callable[[], Awaitable[Frame | None]]  # a snapshot frame, or None when too large to send


class Subscription:
    """The replay-then-live stream of one socket on one sheet."""

    def __init__(self, ledger: Ledger, send: Callable[[Frame], Awaitable[None]]) -> None:
        self.ledger = ledger
        self.send = send
        self.live = False  # caught up and streaming
        self.last_sent = 0

    async def start(self, since: int) -> None:
        """Send everything after ``since`` (a snapshot first when far behind), then ``caught_up``."""
        head = await self.ledger.head()
        if since > head:
            raise SinceAhead(since, head)
        self.live = False
        self.last_sent = since
        if head - since > settings.SHEETS_SNAPSHOT_THRESHOLD:
            frame = await self.ledger.snapshot()
            # A snapshot too large for one frame is skipped: the replay
            # below then sends the same state as events, in frames that fit.
            if frame is not None:
                await self.send(frame)
                metrics.SNAPSHOTS.inc()
                self.last_sent = frame["head"]
                head = max(head, frame["head"])
        await self.fill(upto=head)
        self.live = True
        metrics.REPLAYS.inc()
        await self.send({"type": "caught_up", "head": self.last_sent})

    async def deliver(self, message: dict[str, Any]) -> None:
        """Deliver a group message announcing events ``first..last`` (inline, or to be read)."""
        if not self.live or message["last"] <= self.last_sent:
            return
        if message["first"] > self.last_sent + 1 or "events" not in message:
            if message["first"] > self.last_sent + 1:
                metrics.GAPS.labels("server").inc()
            await self.fill(upto=message["last"])
            return
        events = [event for event in message["events"] if event["seq"] > self.last_sent]
        await self.send({"type": "events", "events": events})
        self.last_sent = events[-1]["seq"]

    async def head_after_fill(self) -> int:
        """Return the head for a pong, having first sent whatever this socket lacks of it.

        A live message the channel layer dropped at the tail of a burst
        leaves no later message to reveal the gap; filling here means a
        pong never reports a head this socket has not been sent.
        """
        head = await self.ledger.head()
        if head > self.last_sent:
            await self.fill(upto=head)
        return head

    async def fill(self, *, upto: int) -> None:
        """Send the ledger's events after ``last_sent`` up to ``upto``, in frames that fit."""
        while self.last_sent < upto:
            frame = await self.ledger.events(after=self.last_sent, upto=upto, limit=settings.SHEETS_REPLAY_FRAME_SIZE)
            if not frame["events"]:
                return
            await self.send(frame)
            metrics.EVENTS_REPLAYED.inc(len(frame["events"]))
            self.last_sent = frame["events"][-1]["seq"]
