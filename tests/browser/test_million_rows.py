"""A sheet of 1,000,000 rows opens in windows: jump to the end, type, paste in the middle, delete and insert
rows near the top from a second window; both windows and the server agree throughout."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Team
from tests.browser.sheet_page import SheetPage

pytestmark = pytest.mark.browser

ROWS = 1_000_000
COLS = 26


@pytest.fixture
def team(committed_db, make_user, make_sheet) -> Team:
    alice, bob, carol = make_user(), make_user(), make_user()
    sheet = make_sheet(rows=ROWS, cols=COLS, editors=[alice, bob], viewers=[carol])  # no events: two numbers
    return Team(sheet=sheet, alice=alice, bob=bob, carol=carol)


def settle(api, sheet, *windows: SheetPage) -> int:
    for window in windows:
        window.wait_live(pending=0)
    head = api.get_json(f"/api/sheets/{sheet.name}/events/?limit=1")["head"]
    for window in windows:
        window.wait_seq(head)
    return head


def server_window(api, sheet, row_from: int, row_count: int) -> dict[tuple[int, int], str]:
    answer = api.get_json(f"/api/sheets/{sheet.name}/cells/?row_from={row_from}&row_count={row_count}")
    return {(cell["row"], cell["col"]): cell["value"] for cell in answer["cells"]}


def shown(window: SheetPage, row: int, col: int) -> str:
    """What the window shows at (row, col), after scrolling there and waiting for the row's window."""
    window.page.evaluate("row => ledgersheet.scrollTo(row)", row)
    window.wait_loaded(row)
    return str(window.page.evaluate("([row, col]) => ledgersheet.getCell(row, col)", [row, col]))


def test_a_million_rows_open_in_windows_and_two_windows_stay_in_step(open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    assert alice.row_count() == bob.row_count() == ROWS
    held = alice.page.evaluate("Object.keys(ledgersheet.cells()).length")
    assert held == 0

    # Ctrl+End: the last row and column, fetched as the grid scrolls there; type into it once it is shown.
    alice.select(0, 0)
    alice.page.keyboard.press("Control+End")
    alice.wait_loaded(ROWS - 1)
    alice.page.keyboard.type("the last cell")
    alice.page.keyboard.press("Enter")
    assert alice.selection()["top"] == ROWS - 1 and alice.selection()["left"] == COLS - 1

    # A block pasted in the middle.
    middle = ROWS // 2
    alice.paste(middle, 1, [["m1", "n1"], ["m2", "n2"], ["m3", "n3"]])
    settle(api, team.sheet, alice, bob)

    # The sheet is at the limit (1,000,000 rows): bob deletes two rows near the top, then inserts two above row 3.
    bob.select_block(5, 0, 6, 0)
    bob.page.keyboard.press("Control+Alt+Minus")
    settle(api, team.sheet, alice, bob)
    assert alice.row_count() == bob.row_count() == ROWS - 2
    assert shown(alice, ROWS - 3, COLS - 1) == "the last cell"
    assert shown(alice, middle - 2, 1) == "m1"
    bob.select_block(2, 0, 3, 0)
    bob.page.keyboard.press("Control+Alt+Equal")
    settle(api, team.sheet, alice, bob)

    assert alice.row_count() == bob.row_count() == ROWS
    for window in (alice, bob):
        assert shown(window, ROWS - 1, COLS - 1) == "the last cell"
        assert [shown(window, middle + i, 1) for i in range(3)] == ["m1", "m2", "m3"]
        assert [shown(window, middle + i, 2) for i in range(3)] == ["n1", "n2", "n3"]
        held_rows = window.page.evaluate("ledgersheet.heldRows")
        assert held_rows <= 25_000, "only windows around what was visible are held"
    assert server_window(api, team.sheet, ROWS - 3, 3) == {(ROWS - 1, COLS - 1): "the last cell"}
    assert server_window(api, team.sheet, middle, 3) == {
        (middle + i, col): f"{letter}{i + 1}" for i in range(3) for col, letter in ((1, "m"), (2, "n"))}
    (insert,) = bob.sent("insert_rows")
    assert insert["after"] == "r1" and len(insert["row_ids"]) == 2
    assert [frame["row_ids"] for frame in bob.sent("delete_rows")] == [["r5", "r6"]]

    # Both go on typing after the insert: each sees the other's edit where the rows now stand.
    bob.type_into(ROWS - 1, 0, "bob at the end")
    alice.type_into(1, 0, "alice near the top")
    settle(api, team.sheet, alice, bob)
    assert shown(alice, ROWS - 1, 0) == "bob at the end"
    assert shown(bob, 1, 0) == "alice near the top"
