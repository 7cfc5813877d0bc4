"""On a sheet of 300 rows the grid keeps only 100 in the page (lazy loading); structure changes still line up."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Team
from tests.browser.test_structure import server_cells, settle

pytestmark = pytest.mark.browser


@pytest.fixture
def team(committed_db, make_user, make_sheet) -> Team:
    alice, bob, carol = make_user(), make_user(), make_user()
    sheet = make_sheet(rows=300, cols=5, editors=[alice, bob], viewers=[carol])
    return Team(sheet=sheet, alice=alice, bob=bob, carol=carol)


def test_far_rows_are_typed_into_and_pasted_past_the_end_while_rows_move_above_them(open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    alice.paste(0, 0, [[f"row{n}"] for n in range(1, 7)])
    settle(api, team.sheet, alice, bob)
    bob.select(1, 0)
    bob.page.keyboard.press("Control+Alt+Equal")  # a row above row 2
    settle(api, team.sheet, alice, bob)

    alice.page.evaluate("ledgersheet.select(250, 1)")  # B251, not in the page until selected
    alice.page.keyboard.type("far below")
    alice.page.keyboard.press("Enter")
    bob.select(0, 0)
    bob.page.keyboard.press("Control+Alt+Minus")  # row1
    settle(api, team.sheet, alice, bob)
    alice.page.evaluate("ledgersheet.select(299, 1)")  # the last row: the paste needs two more
    alice.page.evaluate("text => navigator.clipboard.writeText(text)", "p1\np2\np3")
    alice.page.keyboard.press("Control+V")
    settle(api, team.sheet, alice, bob)

    expected = {"A2": "row2", "A3": "row3", "A4": "row4", "A5": "row5", "A6": "row6",
                "B250": "far below", "B300": "p1", "B301": "p2", "B302": "p3"}
    assert alice.cells() == bob.cells() == server_cells(api, team.sheet) == expected
    (insert,) = alice.sent("insert_rows")
    assert len(insert["row_ids"]) == 2 and insert["after"] == "r299"
