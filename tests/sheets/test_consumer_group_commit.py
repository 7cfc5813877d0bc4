"""Group commit: edits that queue on a sheet while its transaction runs are committed, and announced, together."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction

from ledger.models import Stream
from sheets.writes import group_commit
from tests.sheets.conftest import TIMEOUT, cell, ledger_of, receive, send_edit, subscribe, wait_for

pytestmark = pytest.mark.asyncio


@contextlib.contextmanager
def sheet_locked(sheet_id: int) -> Iterator[None]:
    """Hold the lock of the sheet's stream (the one every append takes) from another thread until the block ends."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                Stream.objects.select_for_update().get(sheet=sheet_id)
                locked.set()
                release.wait(TIMEOUT)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(TIMEOUT), "could not lock the sheet"
        yield
    finally:
        release.set()
        holder.join(TIMEOUT)


def queue_of(sheet_id: int) -> Any:
    return group_commit._appenders.get(asyncio.get_running_loop(), {}).get(sheet_id)


async def ack_of(communicator) -> dict[str, Any]:
    while (frame := await receive(communicator))["type"] != "ack":
        assert frame["type"] == "events", frame
    return frame


async def test_edits_queued_behind_a_running_transaction_share_the_next_one(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    writers = [await connect(sheet, alice) for _ in range(5)]
    watcher = await connect(sheet, alice)
    for communicator in [*writers, watcher]:
        await subscribe(communicator)

    async def first_batch_running() -> bool:
        queue = queue_of(sheet.pk)
        return queue is not None and queue.task is not None and not queue.queue

    with sheet_locked(sheet.pk):
        ids = [await send_edit(writers[0], cell(0, 0, "first"))]
        await wait_for(first_batch_running)
        for n, communicator in enumerate(writers[1:], start=1):
            ids.append(await send_edit(communicator, cell(n, 0, f"queued {n}")))

            async def queued(count: int = n) -> bool:
                return len(queue_of(sheet.pk).queue) == count

            await wait_for(queued)

    acks = [await ack_of(communicator) for communicator in writers]
    assert [(ack["client_event_id"], ack["seqs"]) for ack in acks] == list(zip(ids, [[1], [2], [3], [4], [5]], strict=True))
    frames = [await receive(watcher), await receive(watcher)]
    # One events frame for the transaction that ran alone, one for the four that waited.
    assert [[event["seq"] for event in frame["events"]] for frame in frames] == [[1], [2, 3, 4, 5]]
    assert [event["client_event_id"] for event in frames[1]["events"]] == ids[1:]
    assert await ledger_of(sheet.pk) == (5, [1, 2, 3, 4, 5])


async def test_a_refused_edit_in_a_batch_gets_its_error_and_the_others_their_acks(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(rows=5, editors=(alice,))
    writers = [await connect(sheet, alice) for _ in range(3)]
    for communicator in writers:
        await subscribe(communicator)

    async def queued(count: int) -> bool:
        queue = queue_of(sheet.pk)
        return queue is not None and queue.task is not None and len(queue.queue) == count

    with sheet_locked(sheet.pk):
        await send_edit(writers[0], cell(0, 0, "alone"))
        await wait_for(lambda: queued(0))
        await send_edit(writers[1], cell(99, 0, "outside the sheet"))
        await wait_for(lambda: queued(1))
        kept = await send_edit(writers[2], cell(1, 1, "kept"))
        await wait_for(lambda: queued(2))

    assert (await ack_of(writers[0]))["seqs"] == [1]
    error = await receive(writers[1])
    while error["type"] == "events":
        error = await receive(writers[1])
    assert (error["type"], error["code"]) == ("error", "out_of_range")
    assert await ack_of(writers[2]) == {"type": "ack", "client_event_id": kept, "seqs": [2]}
    assert await ledger_of(sheet.pk) == (2, [1, 2])
