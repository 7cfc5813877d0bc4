"""Edits typed or pasted in one window reach the other through the real server."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.browser


def test_a_typed_edit_appears_in_the_other_window_and_is_not_echoed_back(open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    alice.watch_highlights()
    bob.watch_highlights()

    alice.type_into(1, 1, "hello")

    bob.expect_cell(1, 1, "hello")
    alice.wait_live(pending=0)
    alice.wait_seq(1)
    assert bob.highlighted() == [(1, 1)], "a remote edit is highlighted briefly"
    assert alice.highlighted() == [], "one's own edit coming back is not"
    (edit,) = alice.sent("edit")
    # The grid names cells by the ids of their row and column (r1, c1 on a new sheet), never by position.
    assert edit["changes"] == [{"row_id": "r1", "col_id": "c1", "value": "hello", "base_seq": 0}]
    assert uuid.UUID(edit["client_event_id"]).version == 4
    (event,) = bob.received_events()
    assert (event["seq"], event["broadcaster"], event["client_event_id"]) == (
        1, team.alice.username, edit["client_event_id"])
    assert bob.sent("edit") == [], "a remote update must never be sent back as an edit"
    assert alice.cells() == bob.cells() == {"B2": "hello"}
    assert api.get_json(f"/api/sheets/{team.sheet.name}/cells/")["cells"] == [
        {"row_id": "r1", "col_id": "c1", "row": 1, "col": 1, "value": "hello", "last_seq": 1}]


def test_a_pasted_block_is_one_edit_with_one_ack_and_nine_events(open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    block = [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"]]

    alice.paste(2, 1, block)

    bob.expect_cell(4, 3, "9")
    alice.wait_live(pending=0)
    bob.wait_seq(9)
    alice.wait_seq(9)
    (edit,) = alice.sent("edit")
    expected = {(f"r{2 + r}", f"c{1 + c}", block[r][c]) for r in range(3) for c in range(3)}
    assert {(ch["row_id"], ch["col_id"], ch["value"]) for ch in edit["changes"]} == expected
    assert len(edit["changes"]) == 9
    (ack,) = alice.received("ack")
    assert ack == {"type": "ack", "client_event_id": edit["client_event_id"], "seqs": list(range(1, 10))}
    for window in (alice, bob):
        events = window.received_events()
        assert [e["seq"] for e in events] == list(range(1, 10))
        assert {e["client_event_id"] for e in events} == {edit["client_event_id"]}
    names = {f"{'BCD'[c]}{3 + r}": block[r][c] for r in range(3) for c in range(3)}
    assert alice.cells() == bob.cells() == names
    assert api.get_json(f"/api/sheets/{team.sheet.name}/events/")["head"] == 9


def test_a_paste_larger_than_one_frame_is_split_into_edits_that_all_land(open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    # 12 cells of 10,000 characters: about 120 KB, over the server's 64 KiB frame limit.
    block = [[f"{r}" * 10_000] for r in range(12)]

    alice.paste(0, 0, block)

    alice.wait_live(pending=0)
    bob.wait_seq(12)
    edits = alice.sent("edit")
    assert len(edits) >= 2, "the paste was sent as more than one edit"
    assert sorted((int(ch["row_id"][1:]), ch["value"]) for e in edits for ch in e["changes"]) == [
        (r, f"{r}" * 10_000) for r in range(12)
    ]
    assert [len(ack["seqs"]) for ack in alice.received("ack")] == [len(e["changes"]) for e in edits]
    assert api.get_json(f"/api/sheets/{team.sheet.name}/events/")["head"] == 12
    assert alice.cells() == bob.cells()
