"""Structure operations and the edits that use their rows are resent in order, with their ids, after a lost line."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.browser.relay import Relay
from tests.browser.test_structure import server_cells, settle

pytestmark = pytest.mark.browser

OPERATIONS = {"edit", "insert_rows", "delete_rows", "insert_cols", "delete_cols"}


def test_operations_whose_ack_was_lost_are_resent_in_the_order_made_with_their_ids_and_applied_once(
        open_sheet, team, api):
    line = Relay()
    alice = open_sheet(team.alice, before_open=line.install)
    bob = open_sheet(team.bob)

    line.cut_after("ack")  # the first ack never arrives and the line drops
    alice.select(2, 0)
    alice.page.keyboard.press("Control+Alt+Equal")  # a row above row 3
    alice.type_into(2, 0, "in the new row")
    alice.select(5, 0)
    alice.page.keyboard.press("Control+Alt+Minus")  # the row shown sixth (r4)
    alice.type_into(5, 1, "moved up")  # r5, now sixth
    settle(api, team.sheet, alice, bob)

    made = [frame for _, direction, frame in line.frames if direction == "out" and frame["type"] in OPERATIONS]
    first = [frame for n, direction, frame in line.frames
             if n == 1 and direction == "out" and frame["type"] in OPERATIONS]
    later = [frame for n, direction, frame in line.frames
             if n > 1 and direction == "out" and frame["type"] in OPERATIONS]
    assert line.connections >= 2
    assert [frame["type"] for frame in later] == ["insert_rows", "edit", "delete_rows", "edit"], (
        "after the reconnect every unacknowledged operation goes again, in the order it was made")
    assert later[:len(first)] == first, "the retries carry the original client_event_ids and contents"
    assert len({frame["client_event_id"] for frame in made}) == 4
    insert, typed, delete, moved = later
    assert insert["after"] == "r1"
    assert typed["changes"] == [{"row_id": insert["row_ids"][0], "col_id": "c0", "value": "in the new row",
                                 "base_seq": 0}]
    assert delete["row_ids"] == ["r4"]
    assert [change["row_id"] for change in moved["changes"]] == ["r5"]

    events = api.get_json(f"/api/sheets/{team.sheet.name}/events/")["events"]
    assert [event["type"] for event in events] == ["RowsInserted", "CellChanged", "RowsDeleted", "CellChanged"]
    assert Counter(event["client_event_id"] for event in events) == Counter(
        frame["client_event_id"] for frame in later)
    assert alice.cells() == bob.cells() == server_cells(api, team.sheet) == {"A3": "in the new row", "B6": "moved up"}
