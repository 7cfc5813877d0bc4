"""The replay's plain rows render exactly as event_to_dict renders the same events (docs/protocol.md, section 3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.selectors import event_rows_after, events_after
from ledger.serialization import event_rows_to_dicts, event_to_dict
from tests.conftest import edit

pytestmark = pytest.mark.django_db

# Zero microseconds (SQLite stores no fraction then), leading zeros, the
# largest fraction, a leap day.
INSTANTS = [
    datetime(2026, 1, 2, 3, 4, 5, 0, tzinfo=UTC),
    datetime(2026, 11, 25, 23, 59, 59, 7, tzinfo=UTC),
    datetime(2028, 2, 29, 0, 0, 0, 999_999, tzinfo=UTC),
]


@pytest.fixture
def sheet_with_events(monkeypatch, make_user, make_sheet):
    alice, bob = make_user(username="álice-ünïcode"), make_user()
    sheet = make_sheet(rows=10, cols=5, editors=[alice, bob], name="sheet-rows")
    clock = iter(INSTANTS)
    monkeypatch.setattr("sheets.writes.edits.timezone.now", lambda: next(clock))
    edit(sheet, alice, (0, 0, "naïve café ✓ 日本語 \"quoted\" \\ back\nslash"), (1, 1, ""))
    edit(sheet, bob, (0, 0, ""), (2, 3, "😀 emoji"))
    edit(sheet, alice, (0, 0, "again"), (1, 1, "x" * 1000))
    return sheet


def test_rows_render_as_event_to_dict(sheet_with_events):
    sheet = sheet_with_events
    expected = [event_to_dict(e, sheet_name=sheet.name) for e in events_after(stream_id=sheet.stream_id, after=0, limit=100)]
    actual = event_rows_to_dicts(event_rows_after(stream_id=sheet.stream_id, after=0, limit=100), sheet_name=sheet.name)
    assert actual == expected
    # Dict equality ignores order; the protocol's key order is part of the shape.
    assert [list(d) for d in actual] == [list(d) for d in expected]
    assert [d["recorded_at"] for d in actual] == [
        "2026-01-02T03:04:05.000000Z", "2026-01-02T03:04:05.000000Z",
        "2026-11-25T23:59:59.000007Z", "2026-11-25T23:59:59.000007Z",
        "2028-02-29T00:00:00.999999Z", "2028-02-29T00:00:00.999999Z",
    ]
    assert actual[0]["broadcaster"] == "álice-ünïcode"
    assert actual[0]["old_value"] == "" and actual[2]["new_value"] == ""


def test_rows_honour_after_upto_and_limit(sheet_with_events):
    sheet = sheet_with_events
    assert [record.seq for record, _ in event_rows_after(stream_id=sheet.stream_id, after=1, upto=5, limit=3)] == [2, 3, 4]
    assert [record.seq for record, _ in event_rows_after(stream_id=sheet.stream_id, after=4, upto=5, limit=10)] == [5]
    assert [record.seq for record, _ in event_rows_after(stream_id=sheet.stream_id, after=4, limit=10)] == [5, 6]
    assert event_rows_after(stream_id=sheet.stream_id, after=6, limit=10) == []
