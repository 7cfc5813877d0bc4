"""A lost or overlapping group message never costs a subscriber an event (docs/architecture.md, decision 2).

Group messages are sent here straight through the channel layer, in the
shape ledger.broadcast gives them, to stand in for what another process
announces; the events themselves are always real ledger rows.
"""

from __future__ import annotations

from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from ledger.models import Event
from sheets.broadcast.announce import group_name
from sheets.broadcast.frames import events_message
from tests.sheets.conftest import broadcasts_lost, edit_async, ping, receive, seqs_in, subscribe

pytestmark = pytest.mark.asyncio


@database_sync_to_async
def announcement(sheet_id: int, first: int, last: int, *, inline: bool = True) -> dict[str, Any]:
    """Build the group message ledger.broadcast would send for events first..last."""
    events = list(
        Event.objects.filter(stream__sheet=sheet_id, seq__gte=first, seq__lte=last)
        .select_related("stream", "broadcaster")
        .order_by("seq")
    )
    message = events_message(events=events)
    if not inline:
        message.pop("events", None)
    return message


async def announce(sheet_id: int, message: dict[str, Any]) -> None:
    # As sheets.broadcast.announce sends it: naming its sheet for the process's hub.
    await get_channel_layer().group_send(group_name(sheet_id), {**message, "sheet": sheet_id})


@pytest.fixture
def small_frames(settings):
    settings.SHEETS_REPLAY_FRAME_SIZE = 3


@pytest.fixture(autouse=True)
def no_head_checks(settings):
    """Leave the lost announcements to the paths under test here: the hub's own checks have theirs (test_hub.py)."""
    settings.SHEETS_LIVE_CHECK_SECONDS = 3600


async def test_next_live_message_after_a_lost_one_brings_the_missing_events_from_the_ledger(
    small_frames, connect, ws_sheet, member
):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    with broadcasts_lost():
        await edit_async(sheet, alice, (0, 0, "a"), (0, 1, "b"))  # 1, 2
        await edit_async(sheet, alice, (0, 2, "c"))  # 3
    await edit_async(sheet, alice, (1, 0, "d"))  # 4: its message arrives
    frames = [await receive(communicator)]
    while len(seqs_in(frames)) < 4:
        frames.append(await receive(communicator))
    assert seqs_in(frames) == [1, 2, 3, 4]
    assert all(len(frame["events"]) <= 3 for frame in frames)
    assert await ping(communicator) == [{"type": "pong", "head": 4}]


async def test_message_with_a_later_seq_range_makes_the_consumer_read_the_gap(small_frames, connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    with broadcasts_lost():
        for row in range(5):
            await edit_async(sheet, alice, (row, 0, f"lost {row}"))  # 1..5
    await announce(sheet.pk, await announcement(sheet.pk, 5, 5))
    frames = [await receive(communicator), await receive(communicator)]
    assert [[event["seq"] for event in frame["events"]] for frame in frames] == [[1, 2, 3], [4, 5]]
    assert [event["new_value"] for event in frames[0]["events"] + frames[1]["events"]] == [
        f"lost {row}" for row in range(5)
    ]
    assert await ping(communicator) == [{"type": "pong", "head": 5}]


async def test_message_carrying_only_a_seq_range_is_read_from_the_ledger(small_frames, connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    with broadcasts_lost():
        await edit_async(sheet, alice, (0, 0, "x"), (0, 1, "y"))
    await announce(sheet.pk, await announcement(sheet.pk, 1, 2, inline=False))
    frame = await receive(communicator)
    assert [(event["seq"], event["new_value"]) for event in frame["events"]] == [(1, "x"), (2, "y")]


async def test_message_already_delivered_is_dropped(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    await edit_async(sheet, alice, (0, 0, "a"), (0, 1, "b"), (0, 2, "c"))
    communicator = await connect(sheet, alice)
    await subscribe(communicator, since=0)
    await announce(sheet.pk, await announcement(sheet.pk, 1, 3))
    await announce(sheet.pk, await announcement(sheet.pk, 2, 2))
    assert await ping(communicator) == [{"type": "pong", "head": 3}]


async def test_overlapping_message_sends_only_the_events_not_yet_delivered(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    await edit_async(sheet, alice, (0, 0, "a"), (0, 1, "b"))
    communicator = await connect(sheet, alice)
    await subscribe(communicator, since=0)
    with broadcasts_lost():
        await edit_async(sheet, alice, (1, 0, "c"), (1, 1, "d"))  # 3, 4
    await announce(sheet.pk, await announcement(sheet.pk, 1, 4))
    frame = await receive(communicator)
    assert [event["seq"] for event in frame["events"]] == [3, 4]
    assert await ping(communicator) == [{"type": "pong", "head": 4}]

