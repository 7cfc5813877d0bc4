"""Live delivery: every subscriber of a sheet, the sender included, receives each committed edit."""

from __future__ import annotations

import pytest

from tests.sheets.conftest import cell, edit_async, ping, receive, send_edit, seqs_in, subscribe

pytestmark = pytest.mark.asyncio


async def test_edit_reaches_every_subscriber_with_the_same_events(connect, ws_sheet, member):
    alice, bob = await member(), await member()
    sheet = await ws_sheet(editors=(alice,), viewers=(bob,))
    alices, bobs = await connect(sheet, alice), await connect(sheet, bob)
    await subscribe(alices)
    await subscribe(bobs)
    client_event_id = await send_edit(alices, cell(0, 0, "a"), cell(0, 1, "b"))
    alice_frames = [await receive(alices), await receive(alices)]
    [alice_events] = [frame for frame in alice_frames if frame["type"] == "events"]
    bob_events = await receive(bobs)
    assert bob_events == alice_events
    assert [(e["seq"], e["new_value"], e["client_event_id"]) for e in bob_events["events"]] == [
        (1, "a", client_event_id),
        (2, "b", client_event_id),
    ]
    # The ack goes to the sender only.
    assert await ping(bobs) == [{"type": "pong", "head": 2}]


async def test_edits_from_two_editors_reach_both_in_seq_order_without_gaps(connect, ws_sheet, member):
    alice, bob = await member(), await member()
    sheet = await ws_sheet(editors=(alice, bob))
    alices, bobs = await connect(sheet, alice), await connect(sheet, bob)
    await subscribe(alices)
    await subscribe(bobs)
    for round_ in range(5):
        await send_edit(alices, cell(round_, 0, f"alice {round_}"))
        await send_edit(bobs, cell(round_, 1, f"bob {round_}"), cell(round_, 2, f"bob {round_}"))
    for communicator in (alices, bobs):
        frames: list[dict] = []
        while len(seqs_in(frames)) < 15 or sum(frame["type"] == "ack" for frame in frames) < 5:
            frames.append(await receive(communicator))
        assert seqs_in(frames) == list(range(1, 16))
        assert await ping(communicator) == [{"type": "pong", "head": 15}]


async def test_edit_committed_by_any_writer_reaches_subscribers(connect, ws_sheet, member):
    alice, bob = await member(), await member()
    sheet = await ws_sheet(editors=(alice, bob))
    alices = await connect(sheet, alice)
    await subscribe(alices)
    await edit_async(sheet, bob, (3, 3, "from a script"))
    frame = await receive(alices)
    assert frame["type"] == "events"
    [event] = frame["events"]
    assert (event["seq"], event["broadcaster"], event["new_value"]) == (1, bob.username, "from a script")


async def test_subscriber_of_another_sheet_receives_nothing(connect, ws_sheet, member):
    alice = await member()
    sheet, other = await ws_sheet(editors=(alice,)), await ws_sheet(editors=(alice,))
    watching_other = await connect(other, alice)
    await subscribe(watching_other)
    editing = await connect(sheet, alice)
    await subscribe(editing)
    await send_edit(editing, cell(0, 0, "here"))
    assert {(await receive(editing))["type"], (await receive(editing))["type"]} == {"ack", "events"}
    assert await ping(watching_other) == [{"type": "pong", "head": 0}]


async def test_connected_but_unsubscribed_socket_receives_no_live_events(connect, ws_sheet, member):
    alice, bob = await member(), await member()
    sheet = await ws_sheet(editors=(alice, bob))
    idle = await connect(sheet, bob)
    editing = await connect(sheet, alice)
    await subscribe(editing)
    await send_edit(editing, cell(0, 0, "x"))
    assert {(await receive(editing))["type"], (await receive(editing))["type"]} == {"ack", "events"}
    # Its first frame is the replay it asks for, not a live event it was never subscribed to.
    frames = await subscribe(idle, since=0)
    assert seqs_in(frames) == [1] and frames[-1] == {"type": "caught_up", "head": 1}
    assert await ping(idle) == [{"type": "pong", "head": 1}]


async def test_a_subscriber_leaving_does_not_disturb_the_others(connect, ws_sheet, member):
    alice, bob = await member(), await member()
    sheet = await ws_sheet(editors=(alice, bob))
    alices, bobs = await connect(sheet, alice), await connect(sheet, bob)
    await subscribe(alices)
    await subscribe(bobs)
    await alices.disconnect()
    await send_edit(bobs, cell(0, 0, "still here"))
    assert {(await receive(bobs))["type"], (await receive(bobs))["type"]} == {"ack", "events"}
