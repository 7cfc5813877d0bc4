"""POST /api/sheets/<name>/ops/: every operation over HTTP, its status codes and its bad inputs (docs/protocol.md, 10)."""

from __future__ import annotations

import json
import uuid
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

from ledger.hashing import ROWS_DELETED
from ledger.models import Event
from projections.selectors import read_now
from sheets.tokens import create_token
from tests.conftest import edit, restructure

pytestmark = pytest.mark.django_db


@pytest.fixture
def sheet(make_sheet, alice):
    return make_sheet(rows=5, cols=3, editors=[alice])


@pytest.fixture
def api(alice):
    """A client that sends alice's API token."""
    secret = create_token(user=alice, name="tests").secret
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def post(client, sheet, body, **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(f"/api/sheets/{sheet.name}/ops/", data=data, content_type="application/json", **extra)


def an_edit(*changes, client_event_id=None):
    return {"type": "edit", "client_event_id": client_event_id or str(uuid.uuid4()), "changes": list(changes)}


def stored(sheet):
    sheet.refresh_from_db()
    return sheet.head, list(Event.objects.filter(stream__sheet=sheet).values_list("seq", flat=True))


def test_an_edit_by_id_answers_its_seqs_and_lands(api, sheet, alice):
    response = post(api, sheet, an_edit({"row_id": "r1", "col_id": "c2", "value": "12"}, {"row": 0, "col": 0, "value": "x"}))
    assert response.status_code == 200
    assert response.json() == {"seqs": [1, 2]}
    sheet.refresh_from_db()
    cells = {(c["row_id"], c["col_id"]): c["value"] for c in read_now(stream=sheet.stream).as_json()["cells"]}
    assert cells == {("r1", "c2"): "12", ("r0", "c0"): "x"}
    assert Event.objects.get(stream__sheet=sheet, seq=1).broadcaster_id == alice.pk


@pytest.mark.parametrize("kind,fields,row_ids,col_ids", [
    ("insert_rows", {"after": "r0", "row_ids": ["n1", "n2"]}, ["r0", "n1", "n2", "r1", "r2", "r3", "r4"], None),
    ("delete_rows", {"row_ids": ["r4"]}, ["r0", "r1", "r2", "r3"], None),
    ("insert_cols", {"after": None, "col_ids": ["k"]}, None, ["k", "c0", "c1", "c2"]),
    ("delete_cols", {"col_ids": ["c0"]}, None, ["c1", "c2"]),
])
def test_every_structure_operation(api, sheet, kind, fields, row_ids, col_ids):
    response = post(api, sheet, {"type": kind, "client_event_id": str(uuid.uuid4()), **fields})
    assert (response.status_code, response.json()) == (200, {"seqs": [1]})
    sheet.refresh_from_db()
    now = read_now(stream=sheet.stream).as_json()
    assert now["row_ids"] == (row_ids or [f"r{i}" for i in range(5)])
    assert now["col_ids"] == (col_ids or ["c0", "c1", "c2"])


def test_a_retry_with_the_same_client_event_id_appends_nothing_and_answers_the_original_seqs(api, sheet):
    message = an_edit({"row": 0, "col": 0, "value": "once"})
    first = post(api, sheet, message)
    post(api, sheet, an_edit({"row": 1, "col": 0, "value": "other"}))
    again = post(api, sheet, message)
    assert first.json() == again.json() == {"seqs": [1]}
    assert stored(sheet) == (2, [1, 2])


def test_session_auth_works_and_needs_csrf(sheet, alice):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    refused = post(browser, sheet, an_edit({"row": 0, "col": 0, "value": "x"}))
    assert refused.status_code == 403 and "CSRF" in refused.json()["error"]
    browser.get("/account/")  # sets the csrftoken cookie
    token = browser.cookies["csrftoken"].value
    accepted = post(browser, sheet, an_edit({"row": 0, "col": 0, "value": "x"}), HTTP_X_CSRFTOKEN=token)
    assert (accepted.status_code, accepted.json()) == (200, {"seqs": [1]})


def test_without_auth_401(sheet):
    response = post(Client(), sheet, an_edit({"row": 0, "col": 0, "value": "x"}))
    assert (response.status_code, response.json()) == (401, {"error": "log in first"})


def test_a_bad_token_is_401(sheet):
    response = post(Client(HTTP_AUTHORIZATION="Bearer lst_bad"), sheet, an_edit({"row": 0, "col": 0, "value": "x"}))
    assert response.status_code == 401 and response.json()["error"]
    assert stored(sheet) == (0, [])


def test_an_unknown_sheet_is_404(api):
    response = api.post("/api/sheets/no-such-sheet/ops/", data="{}", content_type="application/json")
    assert response.status_code == 404 and response.json()["error"]


def test_a_viewer_is_403_forbidden(sheet, bob):
    from sheets.services import grant

    grant(sheet=sheet, username=bob.username, role="viewer")
    viewer = Client(HTTP_AUTHORIZATION=f"Bearer {create_token(user=bob, name='v').secret}")
    cid = str(uuid.uuid4())
    response = post(viewer, sheet, an_edit({"row": 0, "col": 0, "value": "x"}, client_event_id=cid))
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden" and response.json()["message"]
    assert response.json()["client_event_id"] == cid
    assert stored(sheet) == (0, [])


def test_a_user_without_a_role_is_403_forbidden(sheet, bob):
    stranger = Client(HTTP_AUTHORIZATION=f"Bearer {create_token(user=bob, name='s').secret}")
    response = post(stranger, sheet, an_edit({"row": 0, "col": 0, "value": "x"}))
    assert (response.status_code, response.json()["error"]) == (403, "forbidden")


@pytest.mark.parametrize("body,code", [
    ("{not json", "invalid_json"),
    (b"\xff\xfe", "invalid_json"),
    ("", "invalid_json"),
    ("[1, 2]", "invalid_message"),
    ('{"changes": []}', "invalid_message"),
    ('{"type": "subscribe", "since": 0}', "invalid_message"),
    ('{"type": "ping"}', "invalid_message"),
    ('{"type": "edit", "client_event_id": "not-a-uuid", "changes": [{"row": 0, "col": 0, "value": "x"}]}',
     "invalid_message"),
    (json.dumps(an_edit()), "invalid_message"),
    (json.dumps(an_edit({"row": 0, "col": 0, "value": 5})), "invalid_message"),
    (json.dumps(an_edit({"row": 0, "col": 0})), "invalid_message"),
    (json.dumps(an_edit({"row": "0", "col": 0, "value": "x"})), "invalid_message"),
    (json.dumps(an_edit({"row_id": "r0", "col": 0, "value": "x"})), "invalid_message"),
    (json.dumps(an_edit({"row": 0, "col": 0, "value": "x", "base_seq": -1})), "invalid_message"),
    (json.dumps(an_edit({"row": 0, "col": 0, "value": "x" * 40_000})), "value_too_long"),
    (json.dumps(an_edit({"row": 9, "col": 0, "value": "x"})), "out_of_range"),
    (json.dumps({"type": "insert_rows", "client_event_id": str(uuid.uuid4()), "row_ids": ["n"]}), "invalid_message"),
    (json.dumps({"type": "delete_rows", "client_event_id": str(uuid.uuid4()), "row_ids": ["bad id!"]}), "invalid_message"),
])
def test_bad_input_is_400_with_its_code_and_appends_nothing(api, sheet, body, code):
    response = post(api, sheet, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == code and response.json()["message"]
    assert stored(sheet) == (0, [])


def test_too_many_changes_is_413(api, sheet):
    response = post(api, sheet, an_edit(*({"row": 0, "col": 0, "value": str(i)} for i in range(1001))))
    assert (response.status_code, response.json()["error"]) == (413, "too_many_changes")


def test_too_many_ids_is_413(api, sheet):
    ids = [f"n{i}" for i in range(10_001)]
    response = post(api, sheet, {"type": "insert_rows", "client_event_id": str(uuid.uuid4()), "after": None, "row_ids": ids})
    assert (response.status_code, response.json()["error"]) == (413, "too_many_changes")


def test_an_insert_past_the_sheets_limit_is_413_too_large(api, sheet, settings):
    settings.SHEETS_MAX_ROWS = 6
    response = post(api, sheet, {"type": "insert_rows", "client_event_id": str(uuid.uuid4()), "after": None,
                                 "row_ids": ["a", "b"]})
    assert (response.status_code, response.json()["error"]) == (413, "too_large")


def test_a_body_over_the_frame_limit_is_413(api, sheet, settings):
    settings.SHEETS_MAX_FRAME_BYTES = 200
    response = post(api, sheet, an_edit({"row": 0, "col": 0, "value": "x" * 300}))
    assert (response.status_code, response.json()["error"]) == (413, "too_large")


def test_a_deleted_row_is_409_no_such_row_with_its_ids(api, sheet, alice):
    restructure(sheet, alice, ROWS_DELETED, ["r2"])
    response = post(api, sheet, an_edit({"row_id": "r2", "col_id": "c0", "value": "lost"}))
    assert response.status_code == 409
    assert response.json()["error"] == "no_such_row" and response.json()["row_ids"] == ["r2"]
    assert stored(sheet) == (1, [1])


def test_an_unknown_column_is_409_no_such_col(api, sheet):
    response = post(api, sheet, an_edit({"row_id": "r0", "col_id": "nope", "value": "x"}))
    assert (response.status_code, response.json()["error"], response.json()["col_ids"]) == (409, "no_such_col", ["nope"])


def test_an_id_used_before_is_409_id_taken(api, sheet):
    response = post(api, sheet, {"type": "insert_rows", "client_event_id": str(uuid.uuid4()), "after": None, "row_ids": ["r1"]})
    assert (response.status_code, response.json()["error"], response.json()["ids"]) == (409, "id_taken", ["r1"])


def test_a_stale_base_seq_is_409_conflict_with_the_cells(api, sheet, bob, alice):
    edit(sheet, alice, (0, 0, "theirs"))
    response = post(api, sheet, an_edit({"row_id": "r0", "col_id": "c0", "value": "mine", "base_seq": 0}))
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "conflict"
    assert body["cells"] == [{"row_id": "r0", "col_id": "c0", "row": 0, "col": 0, "value": "theirs", "last_seq": 1}]


def test_rate_limited_is_429_per_token(sheet, alice, settings):
    settings.SHEETS_RATE_LIMIT_BURST = 2
    settings.SHEETS_RATE_LIMIT_PER_SECOND = 0
    first = Client(HTTP_AUTHORIZATION=f"Bearer {create_token(user=alice, name='a').secret}")
    second = Client(HTTP_AUTHORIZATION=f"Bearer {create_token(user=alice, name='b').secret}")
    statuses = [post(first, sheet, an_edit({"row": 0, "col": 0, "value": str(i)})).status_code for i in range(3)]
    assert statuses == [200, 200, 429]
    limited = post(first, sheet, an_edit({"row": 0, "col": 0, "value": "x"}))
    assert limited.json()["error"] == "rate_limited" and limited["Retry-After"]
    # Another token has its own bucket.
    assert post(second, sheet, an_edit({"row": 0, "col": 0, "value": "y"})).status_code == 200
    assert stored(sheet)[0] == 3


def test_rate_limited_per_session(sheet, alice, settings):
    settings.SHEETS_RATE_LIMIT_BURST = 1
    settings.SHEETS_RATE_LIMIT_PER_SECOND = 0
    browser = Client()
    browser.force_login(alice)
    assert post(browser, sheet, an_edit({"row": 0, "col": 0, "value": "1"})).status_code == 200
    assert post(browser, sheet, an_edit({"row": 0, "col": 0, "value": "2"})).status_code == 429


def test_database_down_is_503_unavailable(api, sheet):
    with mock.patch("sheets.web.api.ops.append_one", side_effect=OperationalError("connection refused")):
        response = post(api, sheet, an_edit({"row": 0, "col": 0, "value": "x"}))
    assert (response.status_code, response.json()["error"]) == (503, "unavailable")


def test_ops_takes_only_post(api, sheet):
    response = api.get(f"/api/sheets/{sheet.name}/ops/")
    assert response.status_code == 405 and response.json()["error"]
    assert response["Allow"] == "POST"
