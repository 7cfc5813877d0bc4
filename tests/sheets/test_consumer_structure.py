"""insert_rows, delete_rows, insert_cols, delete_cols over the websocket (docs/protocol.md, section 4.4)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async

from projections.selectors import read_now
from sheets.models import Sheet
from tests.sheets.conftest import _client, answer, ledger_of, receive, send_edit, subscribe

pytestmark = pytest.mark.asyncio


async def operate(communicator, kind: str, client_event_id: str | None = None, **fields: Any) -> str:
    return await _client(communicator).send_operation(kind, client_event_id, **fields)


@database_sync_to_async
def sheet_now(sheet: Sheet) -> dict[str, Any]:
    sheet.refresh_from_db()
    return read_now(stream=sheet.stream).as_json()


@pytest_asyncio.fixture
async def editing(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(rows=6, cols=3, editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    return communicator, sheet, alice


async def test_inserted_rows_take_their_place_and_cells_follow_their_row(editing):
    communicator, sheet, alice = editing
    await send_edit(communicator, {"row": 3, "col": 0, "value": "was row 3"})
    await answer(communicator)
    cid = await operate(communicator, "insert_rows", after="r1", row_ids=["n1", "n2"])
    frame, events = await answer(communicator)
    assert frame == {"type": "ack", "client_event_id": cid, "seqs": [2]}
    (event,) = events
    assert {k: event[k] for k in ("seq", "type", "row_ids", "row", "after", "broadcaster_id")} == {
        "seq": 2, "type": "RowsInserted", "row_ids": ["n1", "n2"], "row": 2, "after": "r1", "broadcaster_id": alice.pk,
    }
    now = await sheet_now(sheet)
    assert now["row_ids"] == ["r0", "r1", "n1", "n2", "r2", "r3", "r4", "r5"]
    assert now["row_count"] == 8
    assert now["cells"] == [{"row_id": "r3", "col_id": "c0", "row": 5, "col": 0, "value": "was row 3", "last_seq": 1}]


async def test_a_new_row_can_be_edited_by_id_and_by_its_position(editing):
    communicator, sheet, _ = editing
    await operate(communicator, "insert_rows", after=None, row_ids=["top"])
    await answer(communicator)
    await send_edit(communicator, {"row_id": "top", "col_id": "c2", "value": "by id"}, {"row": 1, "col": 0, "value": "r0 now"})
    frame, events = await answer(communicator)
    assert frame["type"] == "ack"
    assert [(e["row_id"], e["col_id"], e["row"], e["col"]) for e in events] == [("top", "c2", 0, 2), ("r0", "c0", 1, 0)]


async def test_deleted_rows_record_their_positions_and_take_their_cells(editing):
    communicator, sheet, _ = editing
    await send_edit(communicator, {"row": 4, "col": 1, "value": "doomed"}, {"row": 5, "col": 1, "value": "kept"})
    await answer(communicator)
    await operate(communicator, "delete_rows", row_ids=["r4", "r1"])
    frame, events = await answer(communicator)
    assert frame["type"] == "ack"
    (event,) = events
    # Ids in the order they stood, their positions just before, ascending.
    assert (event["type"], event["row_ids"], event["rows"]) == ("RowsDeleted", ["r1", "r4"], [1, 4])
    now = await sheet_now(sheet)
    assert now["row_ids"] == ["r0", "r2", "r3", "r5"]
    assert now["cells"] == [{"row_id": "r5", "col_id": "c1", "row": 3, "col": 1, "value": "kept", "last_seq": 2}]


async def test_an_edit_of_a_deleted_row_is_no_such_row_and_appends_nothing(editing):
    communicator, sheet, _ = editing
    await operate(communicator, "delete_rows", row_ids=["r2"])
    await answer(communicator)
    before = await ledger_of(sheet.pk)
    cid = await send_edit(communicator, {"row_id": "r2", "col_id": "c0", "value": "late"})
    frame, _ = await answer(communicator)
    assert (frame["code"], frame["client_event_id"], frame["row_ids"]) == ("no_such_row", cid, ["r2"])
    assert await ledger_of(sheet.pk) == before


async def test_inserting_after_a_deleted_row_puts_the_new_rows_where_it_stood(editing):
    communicator, sheet, _ = editing
    await operate(communicator, "delete_rows", row_ids=["r2", "r3"])
    await answer(communicator)
    await operate(communicator, "insert_rows", after="r3", row_ids=["x"])
    frame, events = await answer(communicator)
    assert frame["type"] == "ack" and events[0]["row"] == 2
    assert (await sheet_now(sheet))["row_ids"] == ["r0", "r1", "x", "r4", "r5"]


async def test_columns_insert_and_delete_like_rows(editing):
    communicator, sheet, _ = editing
    await send_edit(communicator, {"row": 0, "col": 2, "value": "C1"})
    await answer(communicator)
    await operate(communicator, "insert_cols", after=None, col_ids=["first"])
    frame, events = await answer(communicator)
    assert (events[0]["type"], events[0]["col_ids"], events[0]["col"], events[0]["after"]) == (
        "ColumnsInserted", ["first"], 0, None,
    )
    await operate(communicator, "delete_cols", col_ids=["c0"])
    frame, events = await answer(communicator)
    assert (events[0]["type"], events[0]["col_ids"], events[0]["cols"]) == ("ColumnsDeleted", ["c0"], [1])
    now = await sheet_now(sheet)
    assert now["col_ids"] == ["first", "c1", "c2"]
    assert now["cells"] == [{"row_id": "r0", "col_id": "c2", "row": 0, "col": 2, "value": "C1", "last_seq": 1}]


@pytest.mark.parametrize(
    "kind,fields,code,details",
    [
        ("insert_rows", {"after": "r0", "row_ids": ["r3"]}, "id_taken", {"ids": ["r3"]}),
        ("insert_rows", {"after": "r0", "row_ids": ["a", "b", "a"]}, "id_taken", {"ids": ["a"]}),
        ("insert_rows", {"after": "never", "row_ids": ["a"]}, "no_such_row", {"row_ids": ["never"]}),
        ("insert_cols", {"after": "c9", "col_ids": ["a"]}, "no_such_col", {"col_ids": ["c9"]}),
        ("delete_rows", {"row_ids": ["r0", "r6", "zz"]}, "no_such_row", {"row_ids": ["r6", "zz"]}),
        ("delete_cols", {"col_ids": ["c3"]}, "no_such_col", {"col_ids": ["c3"]}),
        ("delete_rows", {"row_ids": ["r0", "r0"]}, "invalid_message", {}),
        ("insert_rows", {"after": None, "row_ids": []}, "invalid_message", {}),
        ("insert_rows", {"after": None, "row_ids": ["has space"]}, "invalid_message", {}),
        ("insert_rows", {"after": None, "row_ids": ["x" * 37]}, "invalid_message", {}),
        ("insert_rows", {"after": 5, "row_ids": ["a"]}, "invalid_message", {}),
        ("delete_cols", {"col_ids": "c0"}, "invalid_message", {}),
    ],
)
async def test_a_refused_structure_change_names_why_and_appends_nothing(editing, kind, fields, code, details):
    communicator, sheet, _ = editing
    before = await ledger_of(sheet.pk)
    cid = await operate(communicator, kind, **fields)
    frame, _ = await answer(communicator)
    assert (frame["type"], frame["code"], frame["client_event_id"]) == ("error", code, cid)
    assert {key: frame[key] for key in details} == details
    assert await ledger_of(sheet.pk) == before


async def test_after_is_required_on_an_insert(editing):
    communicator, sheet, _ = editing
    await communicator.send_json_to({"type": "insert_rows", "client_event_id": str(uuid.uuid4()), "row_ids": ["a"]})
    frame, _ = await answer(communicator)
    assert (frame["code"], "after" in frame["message"]) == ("invalid_message", True)


async def test_more_than_ten_thousand_ids_is_too_many_changes(editing):
    communicator, sheet, _ = editing
    await operate(communicator, "insert_rows", after=None, row_ids=[f"n{i}" for i in range(10_001)])
    frame, _ = await answer(communicator)
    assert frame["code"] == "too_many_changes"


async def test_an_insert_past_the_row_limit_is_too_large(editing, settings):
    communicator, sheet, _ = editing
    settings.SHEETS_MAX_ROWS = 8
    await operate(communicator, "insert_rows", after=None, row_ids=["a", "b", "c"])
    frame, _ = await answer(communicator)
    assert frame["code"] == "too_large"
    await operate(communicator, "insert_rows", after=None, row_ids=["a", "b"])
    frame, _ = await answer(communicator)
    assert frame["type"] == "ack"


async def test_deleting_every_row_is_allowed_and_then_rows_can_be_inserted_again(editing):
    communicator, sheet, _ = editing
    await operate(communicator, "delete_rows", row_ids=[f"r{i}" for i in range(6)])
    frame, _ = await answer(communicator)
    assert frame["type"] == "ack"
    assert (await sheet_now(sheet))["row_ids"] == []
    await send_edit(communicator, {"row": 0, "col": 0, "value": "x"})
    frame, _ = await answer(communicator)
    assert frame["code"] == "out_of_range"
    await operate(communicator, "insert_rows", after="r5", row_ids=["again"])
    frame, events = await answer(communicator)
    assert events[0]["row"] == 0
    assert (await sheet_now(sheet))["row_ids"] == ["again"]


async def test_a_retried_structure_change_is_acknowledged_with_its_first_seq(editing):
    communicator, sheet, _ = editing
    cid = await operate(communicator, "insert_rows", after="r0", row_ids=["once"])
    first, _ = await answer(communicator)
    await operate(communicator, "insert_rows", cid, after="r0", row_ids=["once"])
    again = await receive(communicator)
    assert again == first == {"type": "ack", "client_event_id": cid, "seqs": [1]}
    assert await ledger_of(sheet.pk) == (1, [1])


async def test_a_viewer_may_not_change_the_structure(connect, ws_sheet, member):
    carol = await member()
    sheet = await ws_sheet(viewers=(carol,))
    communicator = await connect(sheet, carol)
    await subscribe(communicator)
    await operate(communicator, "delete_cols", col_ids=["c0"])
    frame, _ = await answer(communicator)
    assert frame["code"] == "forbidden"


async def test_a_structure_change_before_subscribe_is_not_subscribed(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    cid = await operate(communicator, "insert_cols", after=None, col_ids=["x"])
    frame = await receive(communicator)
    assert (frame["code"], frame["client_event_id"]) == ("not_subscribed", cid)


async def test_operations_on_one_socket_apply_in_the_order_sent(editing):
    # Sent back to back without waiting: the edit names the row the insert
    # before it makes, so it only succeeds if they are applied in order.
    communicator, sheet, _ = editing
    insert = await operate(communicator, "insert_rows", after="r5", row_ids=["fresh"])
    edit = await send_edit(communicator, {"row_id": "fresh", "col_id": "c0", "value": "typed at once"})
    delete = await operate(communicator, "delete_rows", row_ids=["fresh"])
    acks = {}
    while len(acks) < 3:
        frame = await receive(communicator)
        if frame["type"] == "ack":
            acks[frame["client_event_id"]] = frame["seqs"]
        assert frame["type"] != "error", frame
    assert (acks[insert], acks[edit], acks[delete]) == ([1], [2], [3])
