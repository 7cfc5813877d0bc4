"""The history page: filters, keyset pages newest first, the streamed CSV export, refusals."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from django.utils import timezone

from ledger.hashing import format_timestamp
from ledger.verify import LedgerRecord, verify_chain
from sheets.web import export
from tests.conftest import edit

pytestmark = pytest.mark.django_db


@pytest.fixture
def timeline(make_sheet, alice, bob):
    """A sheet with 8 edits by two users, and the times between its edits."""
    sheet = make_sheet(rows=10, cols=5, editors=[alice, bob])
    marks: list[datetime] = []
    edit(sheet, alice, (0, 0, "a"), (1, 1, "b"))  # 1, 2
    marks.append(timezone.now())
    edit(sheet, bob, (3, 1, "budget"))  # 3
    edit(sheet, bob, (2, 2, "x" * 200))  # 4
    marks.append(timezone.now())
    edit(sheet, alice, (3, 1, "forecast"), (4, 4, "far"))  # 5, 6
    edit(sheet, bob, (0, 0, ""))  # 7
    marks.append(timezone.now())
    edit(sheet, alice, (1, 2, "c"))  # 8
    sheet.refresh_from_db()
    return sheet, marks


@pytest.fixture
def sheet(timeline):
    return timeline[0]


def page(client, sheet, **params):
    response = client.get(f"/sheets/{sheet.name}/history/", params)
    assert response.status_code == 200, response.content
    return response


def seqs(response) -> list[int]:
    return [row["seq"] for row in response.context["rows"]]


def iso(moment: datetime) -> str:
    return format_timestamp(moment)


def test_events_are_listed_newest_first_with_cell_names(client, sheet, alice):
    client.force_login(alice)
    response = page(client, sheet)
    assert seqs(response) == [8, 7, 6, 5, 4, 3, 2, 1]
    first = response.context["rows"][0]
    assert (first["cell"], first["row"], first["col"], first["user"], first["old"], first["new"]) == (
        "C2", 1, 2, alice.username, "", "c"
    )
    html = response.content.decode()
    assert f'<time datetime="{first["recorded_at"]}" title="{first["recorded_at"]} (UTC)">' in html


def test_a_long_value_is_shortened_with_the_whole_value_on_demand(client, sheet, alice):
    client.force_login(alice)
    html = page(client, sheet, seq_from=4, seq_to=4).content.decode()
    assert "<details><summary>" + "x" * 79 + "…</summary>" + "x" * 200 + "</details>" in html


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"user": "bob"}, [7, 4, 3]),
        ({"cell": "B4"}, [5, 3]),
        ({"cell": "b4"}, [5, 3]),
        ({"cell": "A1:C3"}, [8, 7, 4, 2, 1]),
        ({"cell": "C3:A1"}, [8, 7, 4, 2, 1]),
        ({"row": "3"}, [5, 3]),
        ({"col": "1"}, [5, 3, 2]),
        ({"seq_from": "3"}, [8, 7, 6, 5, 4, 3]),
        ({"seq_to": "3"}, [3, 2, 1]),
        ({"seq_from": "3", "seq_to": "5"}, [5, 4, 3]),
        ({"from": 0}, [3, 4, 5, 6, 7, 8][::-1]),
        ({"to": 1}, [4, 3, 2, 1]),
        ({"from": 0, "to": 1}, [4, 3]),
        ({"user": "alice", "cell": "A1:E5", "seq_from": "2"}, [8, 6, 5, 2]),
        ({"user": "bob", "from": 1, "cell": "A1"}, [7]),
    ],
)
def test_each_filter_alone_and_combined(client, timeline, alice, bob, params, expected):
    sheet, marks = timeline
    names = {"alice": alice.username, "bob": bob.username}
    query = {
        key: iso(marks[value]) if key in ("from", "to") else names.get(value, value) for key, value in params.items()
    }
    client.force_login(alice)
    assert seqs(page(client, sheet, **query)) == expected


def test_user_filter_takes_a_pk_too(client, sheet, alice, bob):
    client.force_login(alice)
    assert seqs(page(client, sheet, user=bob.pk)) == [7, 4, 3]


def test_keyset_pages_walk_older_and_back_newer(client, sheet, alice):
    client.force_login(alice)
    first = page(client, sheet, limit=3)
    assert seqs(first) == [8, 7, 6]
    assert first.context["newer_link"] is None
    assert first.context["older_link"] == "?limit=3&before=6"
    second = client.get(f"/sheets/{sheet.name}/history/{first.context['older_link']}")
    assert seqs(second) == [5, 4, 3]
    assert second.context["newer_link"] == "?limit=3&after=5"
    last = page(client, sheet, limit=3, before=3)
    assert seqs(last) == [2, 1]
    assert last.context["older_link"] is None
    back = client.get(f"/sheets/{sheet.name}/history/{second.context['newer_link']}")
    assert seqs(back) == [8, 7, 6]
    assert back.context["newer_link"] is None
    assert seqs(page(client, sheet, limit=3, after=1)) == [4, 3, 2]


def test_keyset_boundaries_past_either_end(client, sheet, alice):
    client.force_login(alice)
    below = page(client, sheet, before=1)
    assert seqs(below) == []
    assert below.context["older_link"] is None
    assert below.context["newer_link"] == "?after=0"
    above = page(client, sheet, after=8)
    assert seqs(above) == []
    assert above.context["newer_link"] is None
    assert above.context["older_link"] == "?before=9"
    assert seqs(page(client, sheet, limit=8)) == [8, 7, 6, 5, 4, 3, 2, 1]
    assert page(client, sheet, limit=8).context["older_link"] is None
    assert page(client, sheet, limit=7).context["older_link"] == "?limit=7&before=2"


def test_keyset_pages_keep_the_filters(client, sheet, alice):
    client.force_login(alice)
    first = page(client, sheet, cell="A1:E5", limit=2)
    assert seqs(first) == [8, 7]
    older = first.context["older_link"]
    assert older == "?cell=A1%3AE5&limit=2&before=7"
    assert seqs(client.get(f"/sheets/{sheet.name}/history/{older}")) == [6, 5]


def export_rows(client, sheet, **params) -> list[dict[str, str]]:
    response = client.get(f"/sheets/{sheet.name}/history/", {**params, "format": "csv"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="{sheet.name}-history.csv"'
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def api_events(client, sheet, **params) -> list[dict[str, object]]:
    body = client.get(f"/api/sheets/{sheet.name}/events/", {**params, "limit": 1000}).json()
    assert body["next_after"] is None
    return body["events"]


# The export's columns that an edit's API object does not have: the cell's
# name, the canonical form's version, and the fields of structure events.
NOT_IN_AN_EDIT = ("cell", "format", "after", "row_ids", "col_ids", "rows", "cols")


def as_api(row: dict[str, str]) -> dict[str, object]:
    assert all(row[key] == "" for key in NOT_IN_AN_EDIT[2:])
    converted: dict[str, object] = {k: v for k, v in row.items() if k not in NOT_IN_AN_EDIT}
    for key in ("seq", "row", "col", "broadcaster_id"):
        converted[key] = int(row[key])
    return converted


@pytest.mark.parametrize(
    "params",
    [{}, {"user": "bob"}, {"row": "3", "col": "1"}, {"seq_from": "2", "seq_to": "6"}, {"from": 0, "to": 2},
     {"user": "alice", "from": 1}],
)
def test_csv_holds_exactly_the_apis_events_for_the_same_filters(client, timeline, alice, bob, params, monkeypatch):
    sheet, marks = timeline
    # Batches of 3 make the export take several keyset steps.
    monkeypatch.setattr(export, "BATCH", 3)
    names = {"alice": alice.username, "bob": bob.username}
    query = {key: iso(marks[value]) if key in ("from", "to") else names.get(value, value) for key, value in params.items()}
    client.force_login(alice)
    expected = api_events(client, sheet, **query)
    rows = export_rows(client, sheet, **query)
    assert expected  # every case matches something
    assert [as_api(row) for row in rows] == expected


def test_csv_ignores_the_page_cursor_and_size_but_honours_a_cell_range(client, sheet, alice):
    client.force_login(alice)
    assert [row["seq"] for row in export_rows(client, sheet, cell="B4", before=5, limit=1)] == ["3", "5"]
    assert [row["cell"] for row in export_rows(client, sheet, cell="B4")] == ["B4", "B4"]


def test_csv_has_the_documented_columns_and_reverifies_with_the_pure_check(client, sheet, alice):
    client.force_login(alice)
    rows = export_rows(client, sheet)
    assert list(rows[0]) == export.COLUMNS
    records = (
        LedgerRecord(int(r["seq"]), int(r["row"]), int(r["col"]), r["old_value"], r["new_value"],
                     int(r["broadcaster_id"]), r["client_event_id"], r["recorded_at"], r["prev_hash"], r["hash"],
                     type=r["type"], format=int(r["format"]), row_id=r["row_id"], col_id=r["col_id"])
        for r in rows
    )
    checked, finding = verify_chain(records, sheet=sheet.name, head=sheet.head, head_hash=sheet.stream.head_hash)
    assert (checked, finding) == (8, None)


def test_csv_keeps_values_with_newlines_commas_and_quotes_intact(client, make_sheet, alice):
    sheet = make_sheet(editors=[alice])
    tricky = 'line one\nline "two", three\r\n=SUM(A1)'
    edit(sheet, alice, (0, 0, tricky))
    client.force_login(alice)
    assert export_rows(client, sheet)[0]["new_value"] == tricky


@pytest.mark.parametrize(
    "params, message",
    [
        ({"user": "nobody-by-that-name"}, "no user named"),
        ({"cell": "B0"}, "cell must be a cell such as B4"),
        ({"cell": "4B"}, "cell must be a cell such as B4"),
        ({"cell": "A1:B2:C3"}, "cell must be a cell such as B4"),
        ({"before": "3", "after": "1"}, "not both"),
        ({"before": "0"}, "before must be at least 1"),
        ({"after": "x"}, "after must be an integer"),
        ({"limit": "0"}, "limit must be from 1 to 1000"),
        ({"limit": "1001"}, "limit must be from 1 to 1000"),
        ({"format": "xml"}, "format must be html, csv or chart"),
        ({"from": "yesterday"}, "from must be an ISO 8601 time"),
        ({"from": "2026-11-25T10:00:00Z", "to": "2026-11-24T10:00:00Z"}, "from must not be later than to"),
        ({"seq_from": "-1"}, "seq_from must be at least 0"),
        ({"format": "csv", "row": "a"}, "row must be an integer"),
    ],
)
def test_bad_parameters_answer_400_with_a_json_error(client, sheet, alice, params, message):
    client.force_login(alice)
    response = client.get(f"/sheets/{sheet.name}/history/", params)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_anonymous_is_sent_to_the_login_page(client, sheet):
    response = client.get(f"/sheets/{sheet.name}/history/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_no_rights_is_403_and_no_sheet_is_404(client, sheet, make_user):
    client.force_login(make_user())
    assert client.get(f"/sheets/{sheet.name}/history/").status_code == 403
    assert client.get(f"/sheets/{sheet.name}/history/?format=csv").status_code == 403
    assert client.get("/sheets/no-such-sheet/history/").status_code == 404


def test_viewers_may_read_the_history(client, make_sheet, alice, make_user):
    viewer = make_user()
    sheet = make_sheet(editors=[alice], viewers=[viewer])
    edit(sheet, alice, (0, 0, "a"))
    client.force_login(viewer)
    assert seqs(page(client, sheet)) == [1]


def test_the_activity_chart_stacks_the_filtered_edits_by_user(client, sheet, alice, bob):
    client.force_login(alice)
    html = page(client, sheet, user=bob.username).content.decode()
    assert f'data-src="?user={bob.username}&amp;format=chart"' in html
    chart = page(client, sheet, format="chart").context["chart"]
    assert chart.kind == "minute"
    assert [user for user, _ in chart.legend] == sorted([alice.username, bob.username])
    counted = sum(int(bar.title.rsplit(", ", 1)[1].split()[0]) for bar in chart.bars)
    assert counted == 8
    only_bob = page(client, sheet, user=bob.username, format="chart")
    assert [user for user, _ in only_bob.context["chart"].legend] == [bob.username]
    assert "<svg" in only_bob.content.decode()
    empty = page(client, sheet, seq_from=99, format="chart")
    assert empty.context["chart"] is None
    assert "No edit to chart." in empty.content.decode()


def test_the_diff_page_lists_every_changed_cell_with_both_values(client, sheet, alice):
    client.force_login(alice)
    response = client.get(f"/sheets/{sheet.name}/diff/", {"from": 2, "to": 7})
    assert response.status_code == 200
    assert [(r["cell"], r["old"], r["new"]) for r in response.context["rows"]] == [
        ("A1", "a", ""), ("C3", "", "x" * 200), ("B4", "", "forecast"), ("E5", "", "far"),
    ]
    assert "4 cells differ." in response.content.decode()


def test_the_diff_page_answers_bad_bounds_with_400_and_refuses_strangers(client, sheet, alice, make_user):
    client.force_login(alice)
    response = client.get(f"/sheets/{sheet.name}/diff/", {"from": 5, "to": 2})
    assert response.status_code == 400
    assert "must not be after" in response.json()["error"]
    assert client.get(f"/sheets/{sheet.name}/diff/", {"from": 9}).status_code == 400
    client.force_login(make_user())
    assert client.get(f"/sheets/{sheet.name}/diff/", {"from": 0}).status_code == 403
