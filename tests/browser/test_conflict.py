"""An edit based on a value that changed meanwhile is refused, shown to the user, and the grid shows the winner."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_an_offline_edit_of_a_cell_changed_meanwhile_is_a_visible_conflict(open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    alice.type_into(0, 0, "first")
    bob.expect_cell(0, 0, "first")
    alice.wait_live(pending=0)
    alice.wait_seq(1)

    alice.context.set_offline(True)
    alice.wait_status("offline")
    alice.type_into(0, 0, "alice late")  # based on seq 1
    bob.type_into(0, 0, "bob first")  # seq 2
    bob.wait_live(pending=0)
    alice.context.set_offline(False)
    alice.wait_live(pending=0)

    notice = alice.messages("conflict")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("A1")
    expect(notice).to_contain_text("bob first")
    expect(notice).to_contain_text("alice late")
    alice.expect_cell(0, 0, "bob first")
    bob.expect_cell(0, 0, "bob first")
    late = alice.sent("edit")[-1]
    assert late["changes"] == [{"row_id": "r0", "col_id": "c0", "value": "alice late", "base_seq": 1}]
    (error,) = alice.received("error")
    assert (error["code"], error["client_event_id"]) == ("conflict", late["client_event_id"])
    assert error["cells"] == [{"row_id": "r0", "col_id": "c0", "row": 0, "col": 0, "value": "bob first", "last_seq": 2}]
    events = api.get_json(f"/api/sheets/{team.sheet.name}/events/")["events"]
    assert [event["new_value"] for event in events] == ["first", "bob first"]
