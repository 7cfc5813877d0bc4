"""subscribe: replay in bounded frames, snapshot for the far behind, then caught_up (docs/protocol.md, sections 6 and 8)."""

from __future__ import annotations

import re
import uuid

import pytest

from sheets.writes.edits import Change
from tests.sheets.conftest import edit_async, ledger_of, ping, receive, seqs_in, subscribe

pytestmark = pytest.mark.asyncio

RECORDED_AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


@pytest.fixture
def small_frames(settings):
    settings.SHEETS_REPLAY_FRAME_SIZE = 3
    settings.SHEETS_SNAPSHOT_THRESHOLD = 5


async def seed(sheet, user, count: int) -> None:
    """Append ``count`` one-cell edits: seq i sets row i-1 of column 0 to "v<i>"."""
    for index in range(count):
        await edit_async(sheet, user, (index, 0, f"v{index + 1}"))


async def test_empty_sheet_answers_caught_up_at_zero(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    assert await subscribe(await connect(sheet, alice)) == [{"type": "caught_up", "head": 0}]


async def test_replay_sends_every_event_after_since_in_frames_of_at_most_the_frame_size(
    small_frames, connect, ws_sheet, member
):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    await seed(sheet, alice, 5)
    frames = await subscribe(await connect(sheet, alice), since=0)
    assert [frame["type"] for frame in frames] == ["events", "events", "caught_up"]
    assert [len(frame["events"]) for frame in frames[:-1]] == [3, 2]
    assert seqs_in(frames) == [1, 2, 3, 4, 5]
    assert frames[-1] == {"type": "caught_up", "head": 5}


async def test_replay_starts_after_since(small_frames, connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    await seed(sheet, alice, 5)
    frames = await subscribe(await connect(sheet, alice), since=3)
    assert seqs_in(frames) == [4, 5]
    assert frames[-1] == {"type": "caught_up", "head": 5}


async def test_subscribe_at_the_head_sends_only_caught_up(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    await seed(sheet, alice, 2)
    assert await subscribe(await connect(sheet, alice), since=2) == [{"type": "caught_up", "head": 2}]


async def test_replayed_event_has_every_field_of_an_edit(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    client_event_id = uuid.uuid4()
    await edit_async(sheet, alice, (2, 1, "10"))
    await edit_async(sheet, alice, Change(row=2, col=1, value="12"), client_event_id=client_event_id)
    frames = await subscribe(await connect(sheet, alice), since=1)
    [event] = frames[0]["events"]
    assert RECORDED_AT.match(event.pop("recorded_at"))
    assert event == {
        "seq": 2,
        "type": "CellChanged",
        "sheet": sheet.name,
        "row_id": "r2",
        "col_id": "c1",
        "row": 2,
        "col": 1,
        "old_value": "10",
        "new_value": "12",
        "broadcaster_id": alice.pk,
        "broadcaster": alice.username,
        "client_event_id": str(client_event_id),
    }


async def test_since_ahead_of_the_head_is_an_error_and_the_socket_stays_usable(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    await seed(sheet, alice, 2)
    communicator = await connect(sheet, alice)
    await communicator.send_json_to({"type": "subscribe", "since": 3})
    error = await receive(communicator)
    assert error["type"] == "error" and error["code"] == "since_ahead" and error["message"]
    assert "client_event_id" not in error
    assert await subscribe(communicator, since=2) == [{"type": "caught_up", "head": 2}]
    assert await ledger_of(sheet.pk) == (2, [1, 2])


async def test_client_more_than_the_threshold_behind_gets_a_snapshot_instead_of_the_events(
    small_frames, connect, ws_sheet, member
):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    await seed(sheet, alice, 6)
    await edit_async(sheet, alice, (0, 0, "v1 again"), (1, 0, ""))  # seqs 7 and 8; row 1 is cleared
    frames = await subscribe(await connect(sheet, alice), since=0)
    assert [frame["type"] for frame in frames] == ["snapshot", "caught_up"]
    snapshot = frames[0]
    assert snapshot["head"] == 8
    # Non-empty cells only, row-major: the cleared row 1 is absent.
    assert snapshot["cells"] == [
        {"row_id": f"r{row}", "col_id": "c0", "row": row, "col": 0, "value": value, "last_seq": seq}
        for row, value, seq in [(0, "v1 again", 7), (2, "v3", 3), (3, "v4", 4), (4, "v5", 5), (5, "v6", 6)]
    ]
    assert snapshot["row_ids"] == [f"r{i}" for i in range(20)]
    assert snapshot["col_ids"] == [f"c{i}" for i in range(5)]
    assert frames[1] == {"type": "caught_up", "head": 8}


async def test_snapshot_also_serves_a_resuming_client_far_behind(small_frames, connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    await seed(sheet, alice, 9)
    frames = await subscribe(await connect(sheet, alice), since=3)
    assert [frame["type"] for frame in frames] == ["snapshot", "caught_up"]
    assert frames[0]["head"] == 9 and len(frames[0]["cells"]) == 9


async def test_client_exactly_the_threshold_behind_gets_events(small_frames, connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    await seed(sheet, alice, 7)
    frames = await subscribe(await connect(sheet, alice), since=2)
    assert [frame["type"] for frame in frames] == ["events", "events", "caught_up"]
    assert seqs_in(frames) == [3, 4, 5, 6, 7]


async def test_resubscribe_on_the_same_socket_replays_from_the_new_since(small_frames, connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    await seed(sheet, alice, 4)
    communicator = await connect(sheet, alice)
    assert seqs_in(await subscribe(communicator, since=0)) == [1, 2, 3, 4]
    frames = await subscribe(communicator, since=1)
    assert seqs_in(frames) == [2, 3, 4]
    assert frames[-1] == {"type": "caught_up", "head": 4}
    assert await ping(communicator) == [{"type": "pong", "head": 4}]


async def test_viewer_receives_the_replay_like_an_editor(small_frames, connect, ws_sheet, member):
    alice, vera = await member(), await member()
    sheet = await ws_sheet(editors=(alice,), viewers=(vera,))
    await seed(sheet, alice, 4)
    frames = await subscribe(await connect(sheet, vera), since=0)
    assert seqs_in(frames) == [1, 2, 3, 4]
