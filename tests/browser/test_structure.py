"""Rows and columns inserted and deleted from the grid while someone else types: every cell stays on its row.

Each test seeds a column of labels ("row1", "row2" …) and has the other
window type next to labels. Wherever rows and columns move, a value typed
next to "rowK" must end next to "rowK" in both windows and on the server:
the edit names the row its author saw, not a position.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.sheet_page import SheetPage, cell_name

pytestmark = pytest.mark.browser

LABELS = [[f"row{n}"] for n in range(1, 9)]  # A1:A8


def server_cells(api, sheet) -> dict[str, str]:
    cells = api.get_json(f"/api/sheets/{sheet.name}/cells/")["cells"]
    return {cell_name(cell["row"], cell["col"]): cell["value"] for cell in cells}


def settle(api, sheet, *windows: SheetPage) -> int:
    """Wait until every window has sent everything and applied every event up to the server's head."""
    for window in windows:
        window.wait_live(pending=0)
    head = api.get_json(f"/api/sheets/{sheet.name}/events/?limit=1")["head"]
    for window in windows:
        window.wait_seq(head)
    return head


def seed(api, team, writer: SheetPage, *others: SheetPage) -> None:
    writer.paste(0, 0, LABELS)
    settle(api, team.sheet, writer, *others)


def position_of(window: SheetPage, value: str) -> tuple[int, int]:
    """The (row, col) at which the window shows this value."""
    cells = window.cells()
    (name,) = [name for name, shown in cells.items() if shown == value]
    match = re.fullmatch(r"([A-Z]+)(\d+)", name)
    assert match is not None
    col = 0
    for letter in match.group(1):
        col = col * 26 + ord(letter) - 64
    return int(match.group(2)) - 1, col - 1


def event_types(api, sheet) -> list[str]:
    return [event["type"] for event in api.get_json(f"/api/sheets/{sheet.name}/events/?limit=1000")["events"]]


def test_menu_inserts_and_deletes_on_a_selection_while_the_other_window_types_offline_below(open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    seed(api, team, bob, alice)

    # Bob types next to row5, row7 and row8 as he sees them, with his edits held back.
    bob.context.set_offline(True)
    bob.wait_status("offline")
    bob.type_into(4, 1, "by bob 5")
    bob.paste(6, 1, [["by bob 7"], ["by bob 8"]])

    # Alice: two rows above a two-row selection, then delete row4, then a column left of A.
    alice.select_block(1, 0, 2, 0)
    alice.cell(2, 0).click(button="right")
    expect(alice.menu_item("Insert 2 rows above")).to_be_visible()
    expect(alice.context_menu).to_contain_text("Ctrl+Alt+=")
    alice.menu_item("Insert 2 rows above").click()
    # Shown at once, before any ack: row2 and row3 moved down, the selection with them.
    assert alice.cells()["A4"] == "row2" and alice.cells()["A5"] == "row3"
    assert (alice.selection()["top"], alice.selection()["bottom"]) == (3, 4)
    assert alice.row_count() == 32
    alice.menu(5, 0, "Delete row 6")  # row4, now the sixth row
    alice.menu(0, 0, "Insert column left")
    expect(alice.column_header(0)).to_have_text("A")  # column letters stay positions
    alice.expect_cell(0, 1, "row1")
    settle(api, team.sheet, alice)

    bob.context.set_offline(False)
    settle(api, team.sheet, alice, bob)

    expected = {
        "B1": "row1", "B4": "row2", "B5": "row3",
        "B6": "row5", "C6": "by bob 5",
        "B7": "row6",
        "B8": "row7", "C8": "by bob 7",
        "B9": "row8", "C9": "by bob 8",
    }
    assert alice.cells() == bob.cells() == server_cells(api, team.sheet) == expected
    assert alice.row_count() == bob.row_count() == 31
    assert bob.column_headers()[:3] == ["A", "B", "C"]
    inserts = alice.sent("insert_rows")
    assert [(frame["after"], len(frame["row_ids"])) for frame in inserts] == [("r0", 2)]
    assert all(re.fullmatch(r"[0-9a-f-]{36}", row_id) for row_id in inserts[0]["row_ids"])
    assert [frame["row_ids"] for frame in alice.sent("delete_rows")] == [["r3"]]
    assert [frame["after"] for frame in alice.sent("insert_cols")] == [None]
    # Bob's edits named his rows by id, and went out only once he was back.
    assert [[change["row_id"] for change in edit["changes"]] for edit in bob.sent("edit")] == [
        ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"], ["r4"], ["r6", "r7"]]
    assert event_types(api, team.sheet).count("RowsInserted") == 1


def test_keyboard_inserts_and_deletes_rows_and_a_column_while_the_other_window_types_and_pastes(open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    seed(api, team, bob, alice)
    bob.paste(2, 2, [["c of row3"], ["c of row4"]])  # C3:C4, in the column alice deletes
    settle(api, team.sheet, alice, bob)

    bob.type_into(5, 1, "next to row6")  # sent now: it races alice's insert to the server
    alice.select_block(2, 0, 4, 1)  # three rows: row3 … row5
    alice.page.keyboard.press("Control+Alt+Equal")
    alice.expect_cell(5, 0, "row3")
    settle(api, team.sheet, alice, bob)
    assert bob.cells()["A6"] == "row3", "bob sees alice's three new rows"

    # Bob pastes next to row7 and row8 where he sees them now.
    row7, _ = position_of(bob, "row7")
    bob.paste(row7, 1, [["next to row7"], ["next to row8"]])
    # Alice deletes row1 and row2 (a two-row selection), then column C (a whole column).
    alice.select_block(0, 0, 1, 0)
    alice.page.keyboard.press("Control+Alt+Minus")
    alice.expect_cell(0, 0, "")
    alice.expect_cell(1, 0, "")
    alice.select_column(2)
    alice.page.keyboard.press("Control+Alt+Minus")
    settle(api, team.sheet, alice, bob)

    expected = {
        "A4": "row3", "A5": "row4", "A6": "row5",
        "A7": "row6", "B7": "next to row6",
        "A8": "row7", "B8": "next to row7",
        "A9": "row8", "B9": "next to row8",
    }
    assert alice.cells() == bob.cells() == server_cells(api, team.sheet) == expected
    assert alice.row_count() == bob.row_count() == 31
    assert len(bob.column_headers()) == 7
    (insert,) = alice.sent("insert_rows")
    assert insert["after"] == "r1" and len(insert["row_ids"]) == 3
    assert [frame["row_ids"] for frame in alice.sent("delete_rows")] == [["r0", "r1"]]
    assert [frame["col_ids"] for frame in alice.sent("delete_cols")] == [["c2"]]
    assert event_types(api, team.sheet).count("ColumnsDeleted") == 1


def test_a_paste_past_the_last_row_inserts_the_rows_it_needs_then_edits_them_by_id(open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)  # 30 rows

    alice.paste(28, 0, [["a29", "b29"], ["a30", "b30"], ["a31", "b31"], ["a32", "b32"]])

    settle(api, team.sheet, alice, bob)
    assert alice.row_count() == bob.row_count() == 32
    expected = {f"{col}{row}": f"{col.lower()}{row}" for row in (29, 30, 31, 32) for col in "AB"}
    assert alice.cells() == bob.cells() == server_cells(api, team.sheet) == expected
    operations = [frame for direction, frame in alice.frames if direction == "out" and frame["type"] != "ping"][1:]
    assert [frame["type"] for frame in operations] == ["insert_rows", "edit"], "one insert, then the edit"
    insert, edit = operations
    assert insert["after"] == "r29" and len(insert["row_ids"]) == 2
    assert sorted({change["row_id"] for change in edit["changes"]}) == sorted(["r28", "r29", *insert["row_ids"]])
    bob.expect_cell(31, 1, "b32")


def test_an_edit_of_a_row_deleted_meanwhile_says_who_deleted_it_and_the_rest_of_the_paste_is_saved(
        open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    seed(api, team, bob, alice)

    alice.context.set_offline(True)
    alice.wait_status("offline")
    alice.type_into(6, 1, "lost")  # B7, next to row7
    alice.paste(3, 2, [["kept 4"], ["lost too"], ["kept 6"]])  # C4:C6; row5 will go
    bob.select(6, 0)  # his paste left A1:A8 selected, and the menu acts on the selection
    bob.menu(6, 0, "Delete row 7")
    bob.select_block(4, 0, 4, 2)
    bob.page.keyboard.press("Control+Alt+Minus")  # row5
    settle(api, team.sheet, bob)
    alice.context.set_offline(False)
    settle(api, team.sheet, alice, bob)

    notices = alice.messages("no_such_row")
    expect(notices).to_have_count(2)
    expect(notices.nth(0)).to_contain_text(f"Your edit to B7 was not saved: {team.bob.username} deleted row 7")
    expect(notices.nth(1)).to_contain_text(f"Your edit to C5 was not saved: {team.bob.username} deleted row 5")
    expect(notices.nth(1)).to_contain_text("Your other changes in that edit were sent again.")
    expected = {"A1": "row1", "A2": "row2", "A3": "row3", "A4": "row4", "C4": "kept 4",
                "A5": "row6", "C5": "kept 6", "A6": "row8"}
    assert alice.cells() == bob.cells() == server_cells(api, team.sheet) == expected
    assert {frame["code"] for frame in alice.received("error")} == {"no_such_row"}


def test_an_editor_open_in_a_row_someone_deletes_closes_and_says_what_was_not_saved(open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    seed(api, team, bob, alice)

    alice.edit_cell(6, 1)  # B7, next to row7
    alice.page.keyboard.type("half typed")
    bob.select(6, 0)
    bob.page.keyboard.press("Control+Alt+Minus")
    alice.wait_seq(9)

    notice = alice.messages("editor_lost")
    expect(notice).to_contain_text(f"{team.bob.username} deleted row 7 while you were editing B7")
    expect(notice).to_contain_text("“half typed”")
    assert not alice.editor_open()
    alice.page.keyboard.press("Enter")
    settle(api, team.sheet, alice, bob)
    assert alice.sent("edit") == []
    assert alice.cells() == bob.cells() == {f"A{n}": f"row{n + (n >= 7)}" for n in range(1, 8)}


def test_undo_after_rows_moved_undoes_the_cell_the_user_changed_in_its_new_place(open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    seed(api, team, bob, alice)
    alice.type_into(4, 1, "to undo")  # B5, next to row5
    settle(api, team.sheet, alice, bob)
    bob.select(0, 0)
    bob.page.keyboard.press("Control+Alt+Equal")  # a row above row 1: row5 is now the sixth
    settle(api, team.sheet, alice, bob)

    alice.select(0, 3)
    alice.page.keyboard.press("Control+Z")
    settle(api, team.sheet, alice, bob)

    assert alice.cells() == bob.cells() == {f"A{n + 1}": f"row{n}" for n in range(1, 9)}
    undo = alice.sent("edit")[-1]
    assert [(change["row_id"], change["value"]) for change in undo["changes"]] == [("r4", "")]


def test_an_editor_open_in_a_row_that_moves_stays_open_and_saves_in_its_row(open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    seed(api, team, bob, alice)

    alice.edit_cell(5, 1)  # B6, next to row6
    alice.page.keyboard.type("typed while rows moved")
    bob.select_block(0, 0, 1, 0)
    bob.page.keyboard.press("Control+Alt+Shift+Equal")  # two rows below row2
    alice.wait_seq(9)
    assert alice.editor_open()
    alice.page.keyboard.press("Enter")
    settle(api, team.sheet, alice, bob)

    assert alice.cells()["B8"] == bob.cells()["B8"] == "typed while rows moved"
    assert alice.cells()["A8"] == "row6"
    (edit,) = alice.sent("edit")
    assert [change["row_id"] for change in edit["changes"]] == ["r5"]


def test_the_automation_handle_selects_cells_by_position_and_counts_structure_operations(open_sheet, team, api):
    alice = open_sheet(team.alice)
    alice.context.set_offline(True)
    alice.wait_status("offline")

    alice.page.evaluate("ledgersheet.select(3, 2)")
    alice.page.keyboard.press("Control+Alt+Equal")
    alice.page.evaluate("ledgersheet.select(3, 2)")
    alice.page.keyboard.type("in the new row")
    alice.page.keyboard.press("Enter")

    assert alice.pending == 2
    expect(alice.status).to_have_text("Offline · 2 changes waiting")
    assert alice.cells() == {"C4": "in the new row"}
    alice.context.set_offline(False)
    settle(api, team.sheet, alice)
    assert server_cells(api, team.sheet) == {"C4": "in the new row"}
    assert event_types(api, team.sheet) == ["RowsInserted", "CellChanged"]
    insert, edit = [frame for direction, frame in alice.frames if direction == "out" and frame["type"] != "subscribe"
                    and frame["type"] != "ping"]
    assert (insert["type"], insert["after"]) == ("insert_rows", "r2")
    assert edit["type"] == "edit" and edit["changes"][0]["row_id"] == insert["row_ids"][0]


def test_a_viewer_gets_no_row_or_column_commands(open_sheet, team):
    carol = open_sheet(team.carol)
    carol.cell(3, 1).click(button="right")
    menu = carol.context_menu
    expect(menu).to_contain_text("Cell history")
    expect(menu).not_to_contain_text("Insert")
    expect(menu).not_to_contain_text("Delete")
    carol.page.keyboard.press("Escape")
    carol.select(3, 1)
    carol.page.keyboard.press("Control+Alt+Equal")
    carol.page.keyboard.press("Control+Alt+Minus")
    carol.column_header(1).click(button="right")
    carol.page.evaluate("1")  # a round trip: whatever those keys made the page send has been sent
    assert [frame for direction, frame in carol.frames if direction == "out" and frame["type"] not in (
        "subscribe", "ping")] == []
    assert carol.row_count() == 30 and len(carol.column_headers()) == 8


def test_a_selected_column_stays_selected_whole_when_a_row_is_inserted_so_the_shortcut_deletes_the_column(
        open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    seed(api, team, bob, alice)
    alice.select_column(0)  # column A
    bob.select(0, 3)
    bob.page.keyboard.press("Control+Alt+Equal")  # a row above row 1
    alice.wait_seq(9)

    alice.page.keyboard.press("Control+Alt+Minus")
    settle(api, team.sheet, alice, bob)

    assert alice.cells() == bob.cells() == {}
    assert [frame["col_ids"] for frame in alice.sent("delete_cols")] == [["c0"]]
    assert alice.sent("delete_rows") == []
    assert alice.row_count() == 31
