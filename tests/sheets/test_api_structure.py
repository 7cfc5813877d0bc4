"""The read API once rows and columns move: cells by window, events by row_id, col_id and type, history in words."""

from __future__ import annotations

import csv
import io

import pytest

from ledger.hashing import COLUMNS_DELETED, COLUMNS_INSERTED, ROWS_DELETED, ROWS_INSERTED
from tests.conftest import edit, restructure

pytestmark = pytest.mark.django_db


@pytest.fixture
def sheet(make_sheet, alice, bob):
    """Six rows; a value in r2; two rows inserted above it; r0 deleted; a column inserted at the left."""
    sheet = make_sheet(rows=6, cols=3, editors=[alice, bob])
    edit(sheet, alice, (2, 1, "in r2"))  # 1
    restructure(sheet, alice, ROWS_INSERTED, ["n1", "n2"], after="r0")  # 2: rows r0 n1 n2 r1 r2 ...
    edit(sheet, bob, (4, 1, "r2 again"), (1, 0, "in n1"))  # 3, 4: r2 is at 4 now
    restructure(sheet, bob, ROWS_DELETED, ["r0"])  # 5: n1 n2 r1 r2 r3 r4 r5
    restructure(sheet, alice, COLUMNS_INSERTED, ["k"], after=None)  # 6: k c0 c1 c2
    sheet.refresh_from_db()
    return sheet


def get(client, user, url, **params):
    client.force_login(user)
    return client.get(url, params)


def cells(client, user, sheet, **params):
    return get(client, user, f"/api/sheets/{sheet.name}/cells/", **params)


def events(client, user, sheet, **params):
    return get(client, user, f"/api/sheets/{sheet.name}/events/", **params)


def test_the_cells_api_gives_the_order_and_cells_by_id_and_position(client, alice, sheet):
    body = cells(client, alice, sheet).json()
    assert body["row_ids"] == ["n1", "n2", "r1", "r2", "r3", "r4", "r5"]
    assert body["col_ids"] == ["k", "c0", "c1", "c2"]
    assert (body["row_count"], body["col_count"], body["row_from"], body["head"], body["at"]) == (7, 4, 0, 6, 6)
    assert [(c["row_id"], c["col_id"], c["row"], c["col"], c["value"]) for c in body["cells"]] == [
        ("n1", "c0", 0, 1, "in n1"), ("r2", "c1", 3, 2, "r2 again"),
    ]


def test_a_window_of_rows_has_their_ids_and_cells_only(client, alice, sheet):
    body = cells(client, alice, sheet, row_from=2, row_count=3).json()
    assert (body["row_from"], body["row_ids"], body["row_count"]) == (2, ["r1", "r2", "r3"], 7)
    assert body["col_ids"] == ["k", "c0", "c1", "c2"]
    assert [(c["row_id"], c["row"]) for c in body["cells"]] == [("r2", 3)]
    past_the_end = cells(client, alice, sheet, row_from=6, row_count=10).json()
    assert (past_the_end["row_ids"], past_the_end["cells"]) == (["r5"], [])
    assert cells(client, alice, sheet, row_from=50, row_count=10).json()["row_ids"] == []


@pytest.mark.parametrize("params", [{"row_count": 10_001}, {"row_count": -1}, {"row_from": "x"}, {"row_from": -2}])
def test_a_bad_window_is_400(client, alice, sheet, params):
    response = cells(client, alice, sheet, **params)
    assert response.status_code == 400 and response.json()["error"]


def test_time_travel_shows_the_rows_as_they_stood_deleted_ones_included(client, alice, sheet):
    before_delete = cells(client, alice, sheet, at=4).json()
    assert before_delete["row_ids"] == ["r0", "n1", "n2", "r1", "r2", "r3", "r4", "r5"]
    assert before_delete["col_ids"] == ["c0", "c1", "c2"]
    assert [(c["row_id"], c["row"], c["col"], c["value"]) for c in before_delete["cells"]] == [
        ("n1", 1, 0, "in n1"), ("r2", 4, 1, "r2 again"),
    ]
    at_start = cells(client, alice, sheet, at=0).json()
    assert (at_start["row_ids"], at_start["cells"]) == ([f"r{i}" for i in range(6)], [])
    windowed = cells(client, alice, sheet, at=1, row_from=2, row_count=1).json()
    assert [(c["row_id"], c["row"], c["value"]) for c in windowed["cells"]] == [("r2", 2, "in r2")]


def test_events_of_one_row_follow_it_across_inserts_above_it(client, alice, sheet):
    body = events(client, alice, sheet, row_id="r2").json()
    assert [(e["seq"], e["row"]) for e in body["events"]] == [(1, 2), (3, 4)]


def test_events_of_an_inserted_row_include_its_insert(client, alice, sheet):
    body = events(client, alice, sheet, row_id="n1").json()
    assert [(e["seq"], e["type"]) for e in body["events"]] == [(2, "RowsInserted"), (4, "CellChanged")]


def test_events_of_a_deleted_row_include_its_delete(client, alice, sheet):
    assert [e["seq"] for e in events(client, alice, sheet, row_id="r0").json()["events"]] == [5]


def test_events_of_a_column_and_of_one_cell(client, alice, sheet):
    assert [e["seq"] for e in events(client, alice, sheet, col_id="c1").json()["events"]] == [1, 3]
    assert [e["seq"] for e in events(client, alice, sheet, col_id="k").json()["events"]] == [6]
    assert [e["seq"] for e in events(client, alice, sheet, row_id="n1", col_id="c0").json()["events"]] == [4]


def test_positions_in_the_events_filter_mean_the_rows_standing_there_now(client, alice, sheet):
    # Row 3 is r2 now: all of r2's history, from when it stood at 2.
    assert [e["seq"] for e in events(client, alice, sheet, row=3).json()["events"]] == [1, 3]
    assert events(client, alice, sheet, row=99).json()["events"] == []


def test_events_by_type(client, alice, sheet):
    assert [e["seq"] for e in events(client, alice, sheet, type="RowsInserted").json()["events"]] == [2]
    both = events(client, alice, sheet, type=f"{ROWS_DELETED},{COLUMNS_INSERTED}").json()
    assert [e["seq"] for e in both["events"]] == [5, 6]
    assert [e["seq"] for e in events(client, alice, sheet, type=COLUMNS_DELETED).json()["events"]] == []


@pytest.mark.parametrize("params", [{"type": "Nope"}, {"row_id": "has space"}, {"col_id": "x" * 37}])
def test_bad_structure_filters_are_400(client, alice, sheet, params):
    response = events(client, alice, sheet, **params)
    assert response.status_code == 400 and response.json()["error"]


def test_structure_events_carry_their_fields_and_hashes(client, alice, sheet):
    body = events(client, alice, sheet, type=f"{ROWS_INSERTED},{ROWS_DELETED},{COLUMNS_INSERTED}").json()
    inserted, deleted, column = body["events"]
    assert {k: inserted[k] for k in ("type", "row_ids", "row", "after")} == {
        "type": "RowsInserted", "row_ids": ["n1", "n2"], "row": 1, "after": "r0",
    }
    assert {k: deleted[k] for k in ("type", "row_ids", "rows")} == {"type": "RowsDeleted", "row_ids": ["r0"], "rows": [0]}
    assert {k: column[k] for k in ("type", "col_ids", "col", "after")} == {
        "type": "ColumnsInserted", "col_ids": ["k"], "col": 0, "after": None,
    }
    assert all(len(e["hash"]) == 64 and len(e["prev_hash"]) == 64 for e in body["events"])


def log_of(html: str) -> str:
    """The history page's table of events."""
    return html.split('<table class="log">', 1)[1].split("</table>", 1)[0] if '<table class="log">' in html else ""


def test_the_history_page_tells_structure_events_in_words(client, alice, bob, sheet):
    table = log_of(get(client, alice, f"/sheets/{sheet.name}/history/").content.decode())
    assert f"{alice.username} inserted 2 rows below row 1" in table
    assert f"{bob.username} deleted row 1" in table
    assert f"{alice.username} inserted 1 column at the left" in table


def test_the_history_page_filters_by_type_and_by_row(client, alice, sheet):
    only_deletes = log_of(get(client, alice, f"/sheets/{sheet.name}/history/", type=ROWS_DELETED).content.decode())
    assert "deleted row 1" in only_deletes and "inserted" not in only_deletes
    one_row = log_of(get(client, alice, f"/sheets/{sheet.name}/history/", row_id="r2").content.decode())
    assert "r2 again" in one_row and "in r2" in one_row and "in n1" not in one_row


def test_the_csv_export_carries_every_type(client, alice, sheet):
    response = get(client, alice, f"/sheets/{sheet.name}/history/", format="csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["type"] for row in rows] == [
        "CellChanged", "RowsInserted", "CellChanged", "CellChanged", "RowsDeleted", "ColumnsInserted",
    ]
    assert (rows[1]["row_ids"], rows[1]["after"], rows[4]["rows"]) == ('["n1", "n2"]', "r0", "[0]")


def test_the_diff_matches_cells_by_id_and_places_them_as_of_its_end(client, alice, sheet):
    body = get(client, alice, f"/api/sheets/{sheet.name}/diff/", **{"from": 1, "to": 6}).json()
    # r2's cell moved from row 2 to row 3 (two rows in, one out above it) and changed.
    assert [(c["cell"], c["from_value"], c["to_value"]) for c in body["cells"]] == [
        ("B1", "", "in n1"), ("C4", "in r2", "r2 again"),
    ]


def test_a_cell_of_a_deleted_row_is_in_the_diff_where_it_stood(client, alice, sheet):
    restructure(sheet, alice, ROWS_DELETED, ["r2"])  # 7
    body = get(client, alice, f"/api/sheets/{sheet.name}/diff/", **{"from": 6, "to": 7}).json()
    assert [(c["cell"], c["from_value"], c["to_value"]) for c in body["cells"]] == [("C4", "r2 again", "")]
