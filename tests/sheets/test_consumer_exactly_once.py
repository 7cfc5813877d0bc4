"""Join first, then read: events committed during a replay arrive exactly once, in order (docs/architecture.md, decision 3)."""

from __future__ import annotations

import asyncio

import pytest

from tests.sheets.conftest import edit_async, ping, receive, seqs_in

pytestmark = pytest.mark.asyncio


async def seed(sheet, user, count: int) -> None:
    for index in range(count):
        await edit_async(sheet, user, (index % 20, 0, f"seed {index + 1}"))


async def test_events_committed_after_the_replay_read_its_head_arrive_live_exactly_once(
    settings, connect, ws_sheet, member
):
    # One event per replay frame makes the replay many database calls long,
    # so the two commits below land while it is still being read.
    settings.SHEETS_REPLAY_FRAME_SIZE = 1
    alice, bob = await member(), await member()
    sheet = await ws_sheet(editors=(alice, bob))
    await seed(sheet, alice, 40)
    communicator = await connect(sheet, alice)
    await communicator.send_json_to({"type": "subscribe", "since": 0})
    first = await receive(communicator)
    # The consumer read the head (40) before it sent this first replay
    # frame, so these commits come after it: only the group it joined
    # before reading can bring them.
    await edit_async(sheet, bob, (0, 1, "during replay 1"))
    await edit_async(sheet, bob, (0, 2, "during replay 2"))
    frames = [first]
    while len(seqs_in(frames)) < 42:
        frames.append(await receive(communicator))
    assert seqs_in(frames) == list(range(1, 43))
    caught_up = [index for index, frame in enumerate(frames) if frame["type"] == "caught_up"]
    assert len(caught_up) == 1 and frames[caught_up[0]] == {"type": "caught_up", "head": 40}
    assert seqs_in(frames[: caught_up[0]]) == list(range(1, 41))
    assert await ping(communicator) == [{"type": "pong", "head": 42}]


async def test_subscriber_joining_during_a_stream_of_edits_gets_every_seq_once_in_order(
    settings, connect, ws_sheet, member
):
    settings.SHEETS_REPLAY_FRAME_SIZE = 3
    alice, bob = await member(), await member()
    sheet = await ws_sheet(editors=(alice, bob))
    await seed(sheet, alice, 20)
    communicator = await connect(sheet, bob)

    async def write_more() -> None:
        for index in range(40):
            await edit_async(sheet, alice, (index % 20, 3, f"stream {index}"))

    writer = asyncio.create_task(write_more())
    await communicator.send_json_to({"type": "subscribe", "since": 0})
    frames = []
    while len(seqs_in(frames)) < 60:
        frames.append(await receive(communicator))
    await writer
    assert seqs_in(frames) == list(range(1, 61))
    [head] = [frame["head"] for frame in frames if frame["type"] == "caught_up"]
    at = next(index for index, frame in enumerate(frames) if frame["type"] == "caught_up")
    assert seqs_in(frames[:at]) == list(range(1, head + 1))
    assert await ping(communicator) == [{"type": "pong", "head": 60}]


async def test_resubscribe_while_live_events_are_queued_does_not_repeat_or_skip(settings, connect, ws_sheet, member):
    settings.SHEETS_REPLAY_FRAME_SIZE = 2
    alice, bob = await member(), await member()
    sheet = await ws_sheet(editors=(alice, bob))
    communicator = await connect(sheet, bob)
    await communicator.send_json_to({"type": "subscribe", "since": 0})
    assert await receive(communicator) == {"type": "caught_up", "head": 0}
    await seed(sheet, alice, 5)
    # Resubscribe from 2 without reading the live frames of 1..5 first, as a
    # client does that saw a gap: whatever was already sent, from the
    # resubscription on every seq after 2 comes exactly once.
    await communicator.send_json_to({"type": "subscribe", "since": 2})
    frames = []
    while not frames or frames[-1]["type"] != "caught_up":
        frames.append(await receive(communicator))
    assert frames[-1] == {"type": "caught_up", "head": 5}
    # Live frames the socket handled before the resubscribe (1..m, in order)
    # may precede the replay; the replay then sends 3..5, each once, and
    # live messages that arrive after it are dropped as already sent.
    assert seqs_in(frames) in [list(range(1, live + 1)) + [3, 4, 5] for live in range(6)]
    assert await ping(communicator) == [{"type": "pong", "head": 5}]


async def test_events_after_a_snapshot_follow_it_exactly_once_while_edits_stream_in(
    settings, connect, ws_sheet, member
):
    settings.SHEETS_SNAPSHOT_THRESHOLD = 5
    settings.SHEETS_REPLAY_FRAME_SIZE = 2
    alice, bob = await member(), await member()
    sheet = await ws_sheet(editors=(alice, bob))
    await seed(sheet, alice, 10)
    communicator = await connect(sheet, bob)

    async def write_more() -> None:
        for index in range(20):
            await edit_async(sheet, alice, (index % 20, 4, f"stream {index}"))

    writer = asyncio.create_task(write_more())
    await communicator.send_json_to({"type": "subscribe", "since": 0})
    snapshot = await receive(communicator)
    assert snapshot["type"] == "snapshot" and snapshot["head"] >= 10
    frames: list[dict] = []

    def seen() -> int:
        return max([snapshot["head"], *seqs_in(frames)])

    while seen() < 30 or not any(frame["type"] == "caught_up" for frame in frames):
        frames.append(await receive(communicator))
    await writer
    assert seqs_in(frames) == list(range(snapshot["head"] + 1, 31))
    [caught_up] = [frame for frame in frames if frame["type"] == "caught_up"]
    assert caught_up["head"] >= snapshot["head"]
    assert await ping(communicator) == [{"type": "pong", "head": 30}]
