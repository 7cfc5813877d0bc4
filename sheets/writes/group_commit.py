"""Group commit on the websocket path: the edits that queue on a sheet share one transaction.

Appends to one sheet are serialised by its stream's lock anyway
(docs/architecture.md, decision 1), so while one transaction runs, the edits arriving for the same
sheet can only wait. Here they wait in a queue, and the next transaction
takes all of them (``sheets.writes.edits.append_edits``): the lock, the reads,
the inserts, the commit and the broadcast are paid once per batch instead
of once per edit. Each edit is still judged on its own and answered on its
own. Sheets do not wait for each other: each batch runs on a pool of
threads with their own database connections (``SHEETS_APPEND_THREADS``),
not on the one thread that Channels gives every other database call.
"""

from __future__ import annotations

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import close_old_connections

from sheets.broadcast.announce import announce_events_now
from sheets.exceptions import EditRejected
from sheets.writes.edits import AppendResult, Outcome, Request, append_edits

# A batch stops growing at this many changes (it always takes one edit):
# a queue of pastes becomes several transactions of bounded size.
BATCH_MAX_CHANGES = 2_000

_pool: ThreadPoolExecutor | None = None
_appenders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, SheetAppender]] = (
    weakref.WeakKeyDictionary()
)


def _append_in_pool(**kwargs: Any) -> list[Outcome]:
    # Channels' database_sync_to_async closes old connections outside the
    # context the call runs in, where a pool thread's connection is not
    # visible: it stayed open past CONN_MAX_AGE, and after a database
    # restart a broken one would be reused. Close them where they live.
    close_old_connections()
    try:
        return append_edits(**kwargs)
    finally:
        close_old_connections()


def _runner() -> Any:
    """Return append_edits wrapped for the event loop, on the append pool or (0 threads) Channels' shared thread."""
    global _pool
    threads = max(0, settings.SHEETS_APPEND_THREADS)
    if threads == 0:
        return database_sync_to_async(append_edits)
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="append")
    return sync_to_async(_append_in_pool, thread_sensitive=False, executor=_pool)


async def append(request: Request, *, sheet_id: int) -> AppendResult:
    """Append one edit through its sheet's queue; raise EditRejected if it is refused."""
    loop = asyncio.get_running_loop()
    appenders = _appenders.setdefault(loop, {})
    appender = appenders.get(sheet_id)
    if appender is None:
        appender = appenders[sheet_id] = SheetAppender(sheet_id, appenders)
    return await appender.submit(request)


class SheetAppender:
    """The queue of one sheet's edits in one event loop, drained one transaction at a time."""

    def __init__(self, sheet_id: int, registry: dict[int, SheetAppender]) -> None:
        self.sheet_id = sheet_id
        self.registry = registry
        self.queue: list[tuple[Request, asyncio.Future[AppendResult]]] = []
        self.task: asyncio.Task[None] | None = None

    async def submit(self, request: Request) -> AppendResult:
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self.queue.append((request, future))
        if self.task is None:
            self.task = asyncio.ensure_future(self._drain())
        return await future

    def _next_batch(self) -> list[tuple[Request, asyncio.Future[AppendResult]]]:
        # An edit whose socket went away before its turn is not appended:
        # it was never acknowledged, so its client sends it again.
        self.queue = [item for item in self.queue if not item[1].cancelled()]
        size, taken = 0, 0
        for request, _ in self.queue:
            size += request.size
            if taken and size > BATCH_MAX_CHANGES:
                break
            taken += 1
        batch, self.queue = self.queue[:taken], self.queue[taken:]
        return batch

    async def _drain(self) -> None:
        run = _runner()
        try:
            while batch := self._next_batch():
                try:
                    outcomes = await run(
                        sheet_id=self.sheet_id, requests=[request for request, _ in batch], announce=False
                    )
                except Exception as exc:  # the database is down, say: every edit of the batch hears it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, EditRejected):
                        future.set_exception(outcome)
                    else:
                        future.set_result(outcome)
                # Committed, and the acks are on their way: now the
                # announcement (the protocol leaves ack and events unordered).
                # This process's sockets get it at once; the layer's copy
                # leaves after the previous batch's, while the next batch
                # commits (its round trip to Redis is off the writers' path).
                announce_events_now(
                    sheet_id=self.sheet_id,
                    events=[event for outcome in outcomes if isinstance(outcome, AppendResult) and not outcome.duplicate
                            for event in outcome.events],
                )
        finally:
            self.task = None
            for _, future in self.queue:
                future.cancel()
            self.queue = []
            if self.registry.get(self.sheet_id) is self:
                del self.registry[self.sheet_id]
