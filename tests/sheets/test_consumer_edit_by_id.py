"""edit naming cells by row_id and col_id: the cell of that row and column, or no_such_row / no_such_col."""

from __future__ import annotations

from typing import Any

import pytest
import pytest_asyncio

from tests.sheets.conftest import answer, edit_async, ledger_of, receive, send_edit, subscribe

pytestmark = pytest.mark.asyncio


def by_id(row_id: str, col_id: str, value: str, base_seq: int | None = None) -> dict[str, Any]:
    change: dict[str, Any] = {"row_id": row_id, "col_id": col_id, "value": value}
    if base_seq is not None:
        change["base_seq"] = base_seq
    return change


@pytest_asyncio.fixture
async def editing(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))  # 20 x 5
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    return communicator, sheet, alice


async def test_an_edit_by_id_lands_on_the_cell_of_that_row_and_column(editing):
    communicator, sheet, _ = editing
    cid = await send_edit(communicator, by_id("r3", "c1", "12"), by_id("r19", "c4", "last"))
    frame, events = await answer(communicator)
    assert frame == {"type": "ack", "client_event_id": cid, "seqs": [1, 2]}
    assert [(e["row_id"], e["col_id"], e["row"], e["col"], e["new_value"]) for e in events] == [
        ("r3", "c1", 3, 1, "12"), ("r19", "c4", 19, 4, "last"),
    ]


async def test_an_unknown_row_refuses_the_whole_edit_naming_the_missing_rows(editing):
    communicator, sheet, _ = editing
    before = await ledger_of(sheet.pk)
    cid = await send_edit(communicator, by_id("r0", "c0", "fine"), by_id("r20", "c0", "x"), by_id("nope", "c1", "y"))
    frame, _ = await answer(communicator)
    assert frame["code"] == "no_such_row" and frame["client_event_id"] == cid
    assert frame["row_ids"] == ["nope", "r20"]
    assert await ledger_of(sheet.pk) == before


async def test_an_unknown_column_refuses_the_edit_naming_the_missing_columns(editing):
    communicator, sheet, _ = editing
    before = await ledger_of(sheet.pk)
    await send_edit(communicator, by_id("r0", "c5", "x"))
    frame, _ = await answer(communicator)
    assert (frame["code"], frame["col_ids"]) == ("no_such_col", ["c5"])
    assert await ledger_of(sheet.pk) == before


@pytest.mark.parametrize(
    "change",
    [
        {"row_id": "r1", "col": 1, "value": "x"},
        {"row_id": "r1", "col_id": "c1", "row": 1, "value": "x"},
        {"row_id": "r1", "value": "x"},
        {"row_id": "", "col_id": "c1", "value": "x"},
        {"row_id": "r" * 37, "col_id": "c1", "value": "x"},
        {"row_id": "r 1", "col_id": "c1", "value": "x"},
        {"row_id": 1, "col_id": "c1", "value": "x"},
    ],
)
async def test_a_change_must_name_its_cell_one_way_with_valid_ids(editing, change):
    communicator, sheet, _ = editing
    before = await ledger_of(sheet.pk)
    await send_edit(communicator, change)
    frame, _ = await answer(communicator)
    assert frame["code"] == "invalid_message"
    assert await ledger_of(sheet.pk) == before


async def test_a_conflict_names_the_cell_by_id_and_position(editing):
    communicator, sheet, alice = editing
    await edit_async(sheet, alice, (2, 3, "theirs"))
    await receive(communicator)  # their event
    await send_edit(communicator, by_id("r2", "c3", "mine", base_seq=0))
    frame, _ = await answer(communicator)
    assert frame["code"] == "conflict"
    assert frame["cells"] == [{"row_id": "r2", "col_id": "c3", "row": 2, "col": 3, "value": "theirs", "last_seq": 1}]
