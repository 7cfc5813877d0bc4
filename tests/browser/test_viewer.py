"""A viewer watches the sheet live but cannot change it, by keyboard, mouse or clipboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_a_viewer_sees_live_edits_and_cannot_make_any(open_sheet, team, api):
    carol, alice = open_sheet(team.carol), open_sheet(team.alice)
    expect(carol.page.locator(".badge-readonly")).to_have_text("View only")
    alice.type_into(0, 0, "by alice")
    carol.expect_cell(0, 0, "by alice")

    carol.edit_cell(1, 1)
    carol.page.keyboard.type("typed by carol")
    carol.page.keyboard.press("Enter")
    carol.select(0, 0)
    carol.page.keyboard.press("Delete")
    carol.paste(2, 2, [["x", "y"], ["z", "w"]])
    carol.page.evaluate("1")  # a round trip: whatever those keys made the page send has been sent

    assert carol.sent("edit") == []
    assert carol.cells() == {"A1": "by alice"}
    expect(carol.page.locator("#grid td[data-y='1'] >> text=typed by carol")).to_have_count(0)
    assert api.get_json(f"/api/sheets/{team.sheet.name}/events/")["head"] == 1
