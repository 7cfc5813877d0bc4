"""edit: ack after commit, events to the sender, idempotent retries, conflicts, rights (docs/protocol.md, section 7)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import pytest_asyncio

from tests.sheets.conftest import cell, edit_async, ledger_of, ping, receive, send_edit, seqs_in, subscribe

pytestmark = pytest.mark.asyncio


async def ack_and_events(communicator, event_count: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Return the ack and the events of one edit; the protocol does not order the two."""
    frames: list[dict[str, Any]] = []
    while not any(frame["type"] == "ack" for frame in frames) or len(seqs_in(frames)) < event_count:
        frames.append(await receive(communicator))
    [ack] = [frame for frame in frames if frame["type"] == "ack"]
    assert {frame["type"] for frame in frames} == {"ack", "events"}, frames
    return ack, [event for frame in frames if frame["type"] == "events" for event in frame["events"]]


@pytest_asyncio.fixture
async def editing(connect, ws_sheet, member):
    """An editor subscribed to an empty 20x5 sheet: (communicator, sheet, user)."""
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    return communicator, sheet, alice


async def test_edit_is_acknowledged_with_its_seq_and_sent_back_as_an_event(editing):
    communicator, sheet, alice = editing
    client_event_id = await send_edit(communicator, cell(3, 1, "12"))
    ack, events = await ack_and_events(communicator, 1)
    assert ack == {"type": "ack", "client_event_id": client_event_id, "seqs": [1]}
    [event] = events
    assert (event["seq"], event["row"], event["col"], event["old_value"], event["new_value"]) == (1, 3, 1, "", "12")
    assert (event["broadcaster_id"], event["broadcaster"]) == (alice.pk, alice.username)
    assert event["client_event_id"] == client_event_id and event["sheet"] == sheet.name
    assert await ledger_of(sheet.pk) == (1, [1])


async def test_multi_change_edit_gets_consecutive_seqs_in_one_ack(editing):
    communicator, sheet, _ = editing
    await send_edit(communicator, cell(0, 0, "a"))
    await ack_and_events(communicator, 1)
    client_event_id = await send_edit(communicator, cell(1, 0, "b"), cell(1, 1, "c"), cell(1, 0, "d"))
    ack, events = await ack_and_events(communicator, 3)
    assert ack["seqs"] == [2, 3, 4] and ack["client_event_id"] == client_event_id
    assert [(e["seq"], e["row"], e["col"], e["old_value"], e["new_value"]) for e in events] == [
        (2, 1, 0, "", "b"),
        (3, 1, 1, "", "c"),
        (4, 1, 0, "b", "d"),
    ]
    assert await ledger_of(sheet.pk) == (4, [1, 2, 3, 4])


async def test_retry_with_the_same_client_event_id_is_acked_again_and_appends_nothing(editing):
    communicator, sheet, _ = editing
    client_event_id = await send_edit(communicator, cell(0, 0, "a"), cell(0, 1, "b"))
    first_ack, _ = await ack_and_events(communicator, 2)
    # A retry after a reconnect may even carry other changes: the first arrival wins.
    await send_edit(communicator, cell(5, 0, "other"), client_event_id=client_event_id)
    assert await receive(communicator) == first_ack == {
        "type": "ack", "client_event_id": client_event_id, "seqs": [1, 2]
    }
    assert await ping(communicator) == [{"type": "pong", "head": 2}]
    assert await ledger_of(sheet.pk) == (2, [1, 2])


async def test_retry_on_a_new_connection_is_acked_with_the_original_seqs(editing, connect):
    communicator, sheet, alice = editing
    client_event_id = await send_edit(communicator, cell(0, 0, "a"))
    await ack_and_events(communicator, 1)
    await communicator.disconnect()
    again = await connect(sheet, alice)
    await subscribe(again, since=0)
    await send_edit(again, cell(0, 0, "a"), client_event_id=client_event_id)
    assert await receive(again) == {"type": "ack", "client_event_id": client_event_id, "seqs": [1]}
    assert await ledger_of(sheet.pk) == (1, [1])


async def test_client_event_id_of_another_user_is_refused_and_appends_nothing(connect, ws_sheet, member):
    alice, bob = await member(), await member()
    sheet = await ws_sheet(editors=(alice, bob))
    client_event_id = uuid.uuid4()
    await edit_async(sheet, alice, (0, 0, "alice's"), client_event_id=client_event_id)
    bobs = await connect(sheet, bob)
    await subscribe(bobs, since=1)
    await send_edit(bobs, cell(1, 1, "bob's"), client_event_id=str(client_event_id))
    error = await receive(bobs)
    assert (error["type"], error["code"]) == ("error", "invalid_message")
    assert error["client_event_id"] == str(client_event_id)
    assert await ledger_of(sheet.pk) == (1, [1])
    assert await ping(bobs) == [{"type": "pong", "head": 1}]


async def test_stale_base_seq_is_a_conflict_with_the_cells_current_state(editing):
    communicator, sheet, alice = editing
    await edit_async(sheet, alice, (2, 2, "first"))  # seq 1
    await edit_async(sheet, alice, (2, 2, "second"))  # seq 2
    await ping(communicator)  # drain the two live events
    client_event_id = await send_edit(communicator, cell(2, 2, "mine", base_seq=1))
    error = await receive(communicator)
    assert error["type"] == "error" and error["code"] == "conflict" and error["message"]
    assert error["client_event_id"] == client_event_id
    assert error["cells"] == [{"row_id": "r2", "col_id": "c2", "row": 2, "col": 2, "value": "second", "last_seq": 2}]
    assert await ledger_of(sheet.pk) == (2, [1, 2])
    assert await ping(communicator) == [{"type": "pong", "head": 2}]


async def test_conflict_on_one_change_rejects_the_whole_edit(editing):
    communicator, sheet, alice = editing
    await edit_async(sheet, alice, (0, 0, "a"), (0, 1, "b"))  # seqs 1, 2
    await edit_async(sheet, alice, (0, 1, "b2"))  # seq 3
    await ping(communicator)
    await send_edit(communicator, cell(0, 0, "fresh", base_seq=1), cell(0, 1, "stale", base_seq=2), cell(4, 4, "new"))
    error = await receive(communicator)
    assert error["code"] == "conflict"
    assert error["cells"] == [{"row_id": "r0", "col_id": "c1", "row": 0, "col": 1, "value": "b2", "last_seq": 3}]
    assert await ledger_of(sheet.pk) == (3, [1, 2, 3])


async def test_conflict_on_a_cleared_cell_reports_the_empty_value(editing):
    communicator, sheet, alice = editing
    await edit_async(sheet, alice, (1, 1, "x"))
    await edit_async(sheet, alice, (1, 1, ""))
    await ping(communicator)
    await send_edit(communicator, cell(1, 1, "y", base_seq=1))
    error = await receive(communicator)
    assert error["code"] == "conflict"
    assert error["cells"] == [{"row_id": "r1", "col_id": "c1", "row": 1, "col": 1, "value": "", "last_seq": 2}]


async def test_base_seq_at_or_after_the_cells_last_change_is_accepted(editing):
    communicator, sheet, alice = editing
    await edit_async(sheet, alice, (0, 0, "a"))  # seq 1
    await ping(communicator)
    await send_edit(communicator, cell(0, 0, "b", base_seq=1), cell(3, 3, "never written before", base_seq=0))
    ack, _ = await ack_and_events(communicator, 2)
    assert ack["seqs"] == [2, 3]


async def test_viewer_edit_is_forbidden_and_appends_nothing(connect, ws_sheet, member):
    vera = await member()
    sheet = await ws_sheet(viewers=(vera,))
    communicator = await connect(sheet, vera)
    await subscribe(communicator)
    client_event_id = await send_edit(communicator, cell(0, 0, "x"))
    error = await receive(communicator)
    assert (error["type"], error["code"], error["client_event_id"]) == ("error", "forbidden", client_event_id)
    assert error["message"]
    assert await ledger_of(sheet.pk) == (0, [])
    assert await ping(communicator) == [{"type": "pong", "head": 0}]


async def test_broadcaster_comes_from_the_session_not_from_the_message(editing):
    communicator, sheet, alice = editing
    await communicator.send_json_to({
        "type": "edit",
        "client_event_id": str(uuid.uuid4()),
        "changes": [cell(0, 0, "x")],
        "broadcaster_id": alice.pk + 1000,
        "broadcaster": "mallory",
    })
    _, [event] = await ack_and_events(communicator, 1)
    assert (event["broadcaster_id"], event["broadcaster"]) == (alice.pk, alice.username)


async def test_edit_too_large_to_announce_inline_still_reaches_the_sender_as_events(settings, editing):
    settings.SHEETS_INLINE_BROADCAST_BYTES = 10
    settings.SHEETS_REPLAY_FRAME_SIZE = 2
    communicator, sheet, _ = editing
    await send_edit(communicator, cell(0, 0, "x" * 20), cell(0, 1, "y" * 20), cell(0, 2, "z" * 20))
    ack, events = await ack_and_events(communicator, 3)
    assert ack["seqs"] == [1, 2, 3]
    assert [event["new_value"] for event in events] == ["x" * 20, "y" * 20, "z" * 20]


async def test_an_edit_whose_escaped_frame_would_overflow_is_sent_in_frames_that_fit(settings, editing):
    # 300 characters each, 1,800 bytes each once escaped as \u0001: within
    # the inline limit by characters, over the frame budget by bytes.
    settings.SHEETS_MAX_OUTGOING_FRAME_BYTES = 2_500
    communicator, _, _ = editing
    values = ["\x01" * 300, "\x02" * 300, "\x03" * 300]
    await send_edit(communicator, *(cell(0, col, value) for col, value in enumerate(values)))
    frames = []
    while len(seqs_in(frames)) < 3 or not any(frame["type"] == "ack" for frame in frames):
        frames.append(await communicator.receive_from(timeout=10))
        assert len(frames[-1].encode()) <= 2_500
        frames[-1] = json.loads(frames[-1])
    assert [e["new_value"] for f in frames if f["type"] == "events" for e in f["events"]] == values
