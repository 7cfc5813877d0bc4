"""The grid's keys: copy and paste as spreadsheets do (TSV, quoted fields), typing over, F2, Delete, undo, arrows."""

from __future__ import annotations

import pytest

from tests.browser.test_structure import server_cells, settle

pytestmark = pytest.mark.browser


def test_copy_paste_typing_over_f2_delete_undo_and_arrows(open_sheet, team, api):
    alice = open_sheet(team.alice)
    # As Excel puts it on the clipboard: a field with a tab, a newline or a quote is quoted.
    alice.select(0, 0)
    alice.page.evaluate("text => navigator.clipboard.writeText(text)",
                        'plain\t"two\nlines"\r\n"say ""hi"""\t"a\tb"\r\n')
    alice.page.keyboard.press("Control+V")
    settle(api, team.sheet, alice)
    expected = {"A1": "plain", "B1": "two\nlines", "A2": 'say "hi"', "B2": "a\tb"}
    assert alice.cells() == server_cells(api, team.sheet) == expected
    assert alice.selection() | {"whole": None} == {"top": 0, "bottom": 1, "left": 0, "right": 1, "whole": None}

    alice.page.keyboard.press("Control+C")
    copied = alice.page.evaluate("navigator.clipboard.readText()")
    assert copied == 'plain\t"two\nlines"\n"say ""hi"""\t"a\tb"'

    alice.type_into(0, 0, "over")  # typing over replaces the value
    alice.select(0, 0)
    alice.page.keyboard.press("F2")  # F2 keeps it, the caret at its end
    alice.page.keyboard.type(" and more")
    alice.page.keyboard.press("Enter")
    assert alice.selection()["top"] == 1, "Enter commits and moves down"
    settle(api, team.sheet, alice)
    assert server_cells(api, team.sheet)["A1"] == "over and more"

    alice.select_block(1, 0, 1, 1)
    alice.page.keyboard.press("Delete")
    settle(api, team.sheet, alice)
    assert alice.cells() == {"A1": "over and more", "B1": "two\nlines"}
    alice.page.keyboard.press("Control+Z")
    settle(api, team.sheet, alice)
    assert alice.cells() == server_cells(api, team.sheet) == {
        "A1": "over and more", "B1": "two\nlines", "A2": 'say "hi"', "B2": "a\tb"}

    alice.select(3, 3)
    for key in ("ArrowDown", "ArrowDown", "ArrowRight", "ArrowLeft", "ArrowLeft", "ArrowUp"):
        alice.page.keyboard.press(key)
    assert alice.selection() | {"whole": None} == {"top": 4, "bottom": 4, "left": 2, "right": 2, "whole": None}
    alice.page.keyboard.press("Control+Home")
    assert (alice.selection()["top"], alice.selection()["left"]) == (0, 0)
    alice.page.keyboard.press("Control+End")
    assert (alice.selection()["top"], alice.selection()["left"]) == (29, 7)
