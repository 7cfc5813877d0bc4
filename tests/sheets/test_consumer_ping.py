"""ping → pong with the head; the pong never reports a head this connection was not sent (docs/protocol.md, section 6)."""

from __future__ import annotations

import pytest

from tests.sheets.conftest import broadcasts_lost, edit_async, ping, receive, seqs_in, subscribe

pytestmark = pytest.mark.asyncio


async def test_pong_reports_the_head(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    await edit_async(sheet, alice, (0, 0, "a"), (0, 1, "b"))
    communicator = await connect(sheet, alice)
    await subscribe(communicator, since=2)
    assert await ping(communicator) == [{"type": "pong", "head": 2}]


async def test_ping_ignores_fields_it_does_not_define(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    await communicator.send_json_to({"type": "ping", "head": 99, "nonce": "abc"})
    assert await receive(communicator) == {"type": "pong", "head": 0}


async def test_pong_after_another_users_edit_follows_its_events(connect, ws_sheet, member):
    alice, bob = await member(), await member()
    sheet = await ws_sheet(editors=(alice, bob))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    await edit_async(sheet, bob, (1, 1, "bob was here"))
    frames = await ping(communicator)
    assert seqs_in(frames) == [1]
    assert frames[-1] == {"type": "pong", "head": 1}


async def test_ping_sends_events_whose_live_message_was_lost_before_the_pong(settings, connect, ws_sheet, member):
    settings.SHEETS_REPLAY_FRAME_SIZE = 2
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    with broadcasts_lost():
        await edit_async(sheet, alice, (0, 0, "a"), (0, 1, "b"))
        await edit_async(sheet, alice, (0, 2, "c"))
    frames = await ping(communicator)
    assert [frame["type"] for frame in frames] == ["events", "events", "pong"]
    assert seqs_in(frames) == [1, 2, 3]
    assert frames[-1] == {"type": "pong", "head": 3}
    assert await ping(communicator) == [{"type": "pong", "head": 3}]
