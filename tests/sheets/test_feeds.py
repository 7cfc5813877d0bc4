"""events_frame: the replay frames, their events and their byte budget."""

from __future__ import annotations

import pytest

from ledger.selectors import events_after
from ledger.serialization import event_to_dict
from sheets.broadcast.encoding import encode_frame
from sheets.broadcast.frames import events_frame, snapshot_frame
from tests.conftest import edit

pytestmark = pytest.mark.django_db


@pytest.fixture
def sheet(make_user, make_sheet):
    alice = make_user()
    sheet = make_sheet(rows=10, cols=5, editors=[alice])
    for row in range(10):
        edit(sheet, alice, (row, 0, f"välue {row} " + "x" * 100 * row))
    return sheet


def frame(sheet, *, after=0, upto=10, limit=100):
    return events_frame(stream_id=sheet.stream_id, sheet_name=sheet.name, after=after, upto=upto, limit=limit)


def test_a_frame_holds_the_events_as_event_to_dict_renders_them(sheet):
    expected = [event_to_dict(e, sheet_name=sheet.name) for e in events_after(stream_id=sheet.stream_id, after=2, limit=5)]
    assert frame(sheet, after=2, upto=7, limit=5) == {"type": "events", "events": expected}
    assert [e["seq"] for e in frame(sheet, after=2, upto=4)["events"]] == [3, 4]


def test_a_frame_stops_before_the_event_that_would_overflow_the_budget(sheet, settings):
    whole = frame(sheet)["events"]
    sizes = [len(encode_frame(e)) + 1 for e in whole]
    # The budget is the setting less 64 bytes for the frame around the events.
    settings.SHEETS_MAX_OUTGOING_FRAME_BYTES = sum(sizes[:6]) + 64
    assert frame(sheet)["events"] == whole[:6]
    settings.SHEETS_MAX_OUTGOING_FRAME_BYTES = sum(sizes[:6]) + 63
    assert frame(sheet)["events"] == whole[:5]
    # The later, larger events: as many as fit, then the next frame goes on.
    budget = settings.SHEETS_MAX_OUTGOING_FRAME_BYTES - 64
    later = frame(sheet, after=5)["events"]
    count = len(later)
    assert later == whole[5:5 + count] and 0 < count < 5
    assert sum(sizes[5:5 + count]) <= budget < sum(sizes[5:6 + count])


def test_one_event_is_sent_even_when_it_alone_is_over_the_budget(sheet, settings):
    settings.SHEETS_MAX_OUTGOING_FRAME_BYTES = 100
    assert [e["seq"] for e in frame(sheet, after=8)["events"]] == [9]
    assert [e["seq"] for e in frame(sheet, after=8, limit=1)["events"]] == [9]


def test_a_snapshot_holds_the_current_non_empty_cells_in_row_major_order(make_user, make_sheet, settings):
    alice = make_user()
    sheet = make_sheet(rows=20, cols=5, editors=[alice])
    edit(sheet, alice, (12, 4, "zwölf"), (3, 1, "日本"), (3, 0, "a"), (0, 2, "gone"), (11, 0, "b"))
    edit(sheet, alice, (0, 2, ""), (3, 1, "😀"))
    frame = snapshot_frame(stream_id=sheet.stream_id)
    assert frame["head"] == 7
    assert frame["row_ids"] == [f"r{i}" for i in range(20)]
    assert frame["col_ids"] == [f"c{i}" for i in range(5)]
    assert frame["cells"] == [
        {"row_id": f"r{row}", "col_id": f"c{col}", "row": row, "col": col, "value": value, "last_seq": seq}
        for row, col, value, seq in [(3, 0, "a", 3), (3, 1, "😀", 7), (11, 0, "b", 5), (12, 4, "zwölf", 1)]
    ]
    settings.SHEETS_MAX_OUTGOING_FRAME_BYTES = len(encode_frame(frame)) - 1
    assert snapshot_frame(stream_id=sheet.stream_id) is None
