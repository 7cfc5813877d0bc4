"""The server dies while people edit; when it is back, every window catches up and every edit is saved once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_edits_made_while_the_server_is_down_are_saved_once_it_is_back(open_sheet, team, server, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    alice.type_into(0, 0, "before")
    bob.expect_cell(0, 0, "before")
    alice.wait_live(pending=0)

    server.kill()  # SIGKILL: no goodbye to the sockets
    alice.wait_status("reconnecting")
    bob.wait_status("reconnecting")
    alice.type_into(1, 0, "while down")
    alice.paste(2, 0, [["x", "y"]])
    expect(alice.status).to_have_text("Reconnecting… · 2 edits waiting")

    server.start()
    alice.wait_live(pending=0, timeout=30_000)
    bob.wait_live(timeout=30_000)
    alice.wait_seq(4)
    bob.wait_seq(4)

    expected = {"A1": "before", "A2": "while down", "A3": "x", "B3": "y"}
    assert alice.cells() == bob.cells() == expected
    events = api.get_json(f"/api/sheets/{team.sheet.name}/events/")["events"]
    assert [event["seq"] for event in events] == [1, 2, 3, 4]
    ids = [event["client_event_id"] for event in events]
    assert ids[2] == ids[3] and len(set(ids)) == 3, "the pasted pair is one edit"
    assert sorted(edit["client_event_id"] for edit in alice.sent("edit")) == sorted(set(ids))
