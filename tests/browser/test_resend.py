"""An edit the server committed but whose ack never arrived is resent with its original id and appended once."""

from __future__ import annotations

import pytest

from tests.browser.relay import Relay

pytestmark = pytest.mark.browser


def test_an_edit_whose_ack_was_lost_is_resent_with_its_original_id_and_appended_once(open_sheet, team, api):
    line = Relay()
    alice = open_sheet(team.alice, before_open=line.install)
    bob = open_sheet(team.bob)

    line.cut_after("ack")  # the line drops between the commit and the reply
    alice.type_into(0, 0, "exactly once")

    bob.expect_cell(0, 0, "exactly once")  # the server committed it
    alice.wait_live(pending=0)  # reconnected, caught up, resent, acknowledged
    alice.wait_seq(1)
    assert line.connections == 2
    (edit,) = line.select("out", "edit", connection=1)
    (resent,) = line.select("out", "edit", connection=2)
    assert resent == edit, "the retry must carry the original client_event_id and changes"
    assert line.select("dropped", "ack") == [{"type": "ack", "client_event_id": edit["client_event_id"], "seqs": [1]}]
    assert line.select("in", "ack", connection=2) == [
        {"type": "ack", "client_event_id": edit["client_event_id"], "seqs": [1]}]
    assert line.select("out", "subscribe", connection=2) == [{"type": "subscribe", "since": 0}]
    events = api.get_json(f"/api/sheets/{team.sheet.name}/events/")["events"]
    assert [(event["seq"], event["client_event_id"]) for event in events] == [(1, edit["client_event_id"])]
    assert alice.cells() == bob.cells() == {"A1": "exactly once"}
