"""The JSON API of docs/protocol.md, section 10: events and cells."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ledger.models import Event
from tests.conftest import edit

pytestmark = pytest.mark.django_db


@pytest.fixture
def sheet(make_sheet, alice, bob):
    sheet = make_sheet(rows=10, cols=5, editors=[alice, bob])
    edit(sheet, alice, (0, 0, "a1"), (0, 1, "b1"))  # 1, 2
    edit(sheet, bob, (1, 0, "a2"))  # 3
    edit(sheet, alice, (0, 0, "a1 again"))  # 4
    edit(sheet, bob, (0, 1, ""))  # 5: clears B1
    sheet.refresh_from_db()
    return sheet


def events_url(sheet, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/sheets/{sheet.name}/events/" + (f"?{query}" if query else "")


def cells_url(sheet, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/sheets/{sheet.name}/cells/" + (f"?{query}" if query else "")


def test_events_lists_every_event_with_hashes_in_seq_order(client, sheet, alice):
    client.force_login(alice)
    body = client.get(events_url(sheet)).json()
    assert body["head"] == 5
    assert body["next_after"] is None
    assert [e["seq"] for e in body["events"]] == [1, 2, 3, 4, 5]
    first = body["events"][0]
    assert first["type"] == "CellChanged"
    assert first["sheet"] == sheet.name
    assert (first["row"], first["col"], first["old_value"], first["new_value"]) == (0, 0, "", "a1")
    assert (first["broadcaster_id"], first["broadcaster"]) == (alice.pk, alice.username)
    assert first["recorded_at"].endswith("Z")
    stored = Event.objects.get(stream__sheet=sheet, seq=1)
    assert (first["prev_hash"], first["hash"]) == (stored.prev_hash, stored.hash)
    assert first["client_event_id"] == str(stored.client_event_id)
    assert body["events"][1]["prev_hash"] == first["hash"]


def test_events_pages_by_after_and_limit(client, sheet, alice):
    client.force_login(alice)
    page1 = client.get(events_url(sheet, limit=2)).json()
    assert [e["seq"] for e in page1["events"]] == [1, 2]
    assert page1["next_after"] == 2
    page2 = client.get(events_url(sheet, limit=2, after=page1["next_after"])).json()
    assert [e["seq"] for e in page2["events"]] == [3, 4]
    page3 = client.get(events_url(sheet, limit=2, after=page2["next_after"])).json()
    assert [e["seq"] for e in page3["events"]] == [5]
    assert page3["next_after"] is None


def test_events_filter_by_user_id_or_username(client, sheet, alice, bob):
    client.force_login(alice)
    by_id = client.get(events_url(sheet, user=bob.pk)).json()
    by_name = client.get(events_url(sheet, user=bob.username)).json()
    assert [e["seq"] for e in by_id["events"]] == [e["seq"] for e in by_name["events"]] == [3, 5]


def test_events_filter_by_cell_alone_and_combined_with_user(client, sheet, alice):
    client.force_login(alice)
    assert [e["seq"] for e in client.get(events_url(sheet, row=0, col=0)).json()["events"]] == [1, 4]
    assert [e["seq"] for e in client.get(events_url(sheet, row=0)).json()["events"]] == [1, 2, 4, 5]
    assert [e["seq"] for e in client.get(events_url(sheet, col=1, user=alice.pk)).json()["events"]] == [2]


def test_events_filter_by_time(client, sheet, alice):
    client.force_login(alice)
    future = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    past = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S%%2B00:00")
    assert client.get(events_url(sheet, **{"from": future})).json()["events"] == []
    assert len(client.get(events_url(sheet, **{"from": past, "to": future})).json()["events"]) == 5


@pytest.mark.parametrize(
    "params",
    [
        {"after": "x"},
        {"after": "-1"},
        {"limit": "0"},
        {"limit": "1001"},
        {"row": "a"},
        {"col": "-3"},
        {"from": "yesterday"},
        {"to": "2026-13-45T00:00:00Z"},
        {"user": "nobody-by-that-name"},
        {"from": "2026-11-25T10:00:00Z", "to": "2026-11-24T10:00:00Z"},
    ],
)
def test_bad_event_parameters_answer_400_with_a_message(client, sheet, alice, params):
    client.force_login(alice)
    response = client.get(events_url(sheet, **params))
    assert response.status_code == 400
    assert response.json()["error"]


def test_cells_now_lists_non_empty_cells_with_last_seq(client, sheet, alice):
    client.force_login(alice)
    body = client.get(cells_url(sheet)).json()
    assert body == {
        "head": 5,
        "at": 5,
        "row_count": 10,
        "col_count": 5,
        "row_from": 0,
        "row_ids": [f"r{i}" for i in range(10)],
        "col_ids": [f"c{i}" for i in range(5)],
        "cells": [
            {"row_id": "r0", "col_id": "c0", "row": 0, "col": 0, "value": "a1 again", "last_seq": 4},
            {"row_id": "r1", "col_id": "c0", "row": 1, "col": 0, "value": "a2", "last_seq": 3},
        ],
    }


def test_cells_at_a_seq_show_the_sheet_right_after_that_event(client, sheet, alice):
    client.force_login(alice)
    body = client.get(cells_url(sheet, at=2)).json()
    assert body == {
        "head": 5,
        "at": 2,
        "row_count": 10,
        "col_count": 5,
        "row_from": 0,
        "row_ids": [f"r{i}" for i in range(10)],
        "col_ids": [f"c{i}" for i in range(5)],
        "cells": [
            {"row_id": "r0", "col_id": "c0", "row": 0, "col": 0, "value": "a1", "last_seq": 1},
            {"row_id": "r0", "col_id": "c1", "row": 0, "col": 1, "value": "b1", "last_seq": 2},
        ],
    }
    assert client.get(cells_url(sheet, at=0)).json()["cells"] == []


@pytest.mark.parametrize("at", ["6", "-1", "two"])
def test_cells_at_beyond_the_head_or_malformed_is_400(client, sheet, alice, at):
    client.force_login(alice)
    response = client.get(cells_url(sheet, at=at))
    assert response.status_code == 400
    assert "at" in response.json()["error"]


@pytest.mark.parametrize("url", [events_url, cells_url])
def test_anonymous_gets_401(client, sheet, url):
    response = client.get(url(sheet))
    assert response.status_code == 401
    assert response.json()["error"]


@pytest.mark.parametrize("url", [events_url, cells_url])
def test_user_without_membership_gets_403(client, sheet, make_user, url):
    client.force_login(make_user())
    response = client.get(url(sheet))
    assert response.status_code == 403
    assert response.json()["error"]


@pytest.mark.parametrize("path", ["/api/sheets/no-such-sheet/events/", "/api/sheets/no-such-sheet/cells/"])
def test_unknown_sheet_gets_404(client, alice, path):
    client.force_login(alice)
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]


def test_viewers_may_read(client, sheet, make_user):
    from sheets.services import grant

    viewer = make_user()
    grant(sheet=sheet, username=viewer.username, role="viewer")
    client.force_login(viewer)
    assert client.get(events_url(sheet)).status_code == 200
    assert client.get(cells_url(sheet)).status_code == 200


def test_api_is_read_only(client, sheet, alice):
    client.force_login(alice)
    assert client.post(events_url(sheet)).status_code == 405
