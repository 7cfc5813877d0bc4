"""GET /api/sheets/<name>/diff/?from=&to=: every differing cell with both values."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD, edit

pytestmark = pytest.mark.django_db


@pytest.fixture
def sheet(make_sheet, alice):
    sheet = make_sheet(rows=10, cols=5, editors=[alice])
    edit(sheet, alice, (0, 0, "a"), (3, 1, "b"))  # 1, 2
    edit(sheet, alice, (0, 0, "c"))  # 3
    edit(sheet, alice, (3, 1, "b"))  # 4: same value again
    edit(sheet, alice, (2, 2, "new"), (0, 0, ""))  # 5, 6
    sheet.refresh_from_db()
    return sheet


@pytest.fixture
def client_of(client):
    def login(user):
        assert client.login(username=user.username, password=PASSWORD)
        return client

    return login


def test_diff_lists_every_changed_cell_with_both_values(client_of, alice, sheet):
    response = client_of(alice).get(f"/api/sheets/{sheet.name}/diff/?from=1&to=6")
    assert response.status_code == 200
    assert response.json() == {
        "head": 6,
        "from": 1,
        "to": 6,
        "cells": [
            {"row": 0, "col": 0, "cell": "A1", "from_value": "a", "to_value": ""},
            {"row": 2, "col": 2, "cell": "C3", "from_value": "", "to_value": "new"},
            {"row": 3, "col": 1, "cell": "B4", "from_value": "", "to_value": "b"},
        ],
    }


def test_to_defaults_to_the_head_and_an_unchanged_cell_is_not_listed(client_of, alice, sheet):
    body = client_of(alice).get(f"/api/sheets/{sheet.name}/diff/?from=2").json()
    assert body["to"] == 6
    assert [cell["cell"] for cell in body["cells"]] == ["A1", "C3"]


def test_equal_seqs_have_no_difference(client_of, alice, sheet):
    assert client_of(alice).get(f"/api/sheets/{sheet.name}/diff/?from=4&to=4").json()["cells"] == []


@pytest.mark.parametrize(
    "query, message",
    [
        ("", "from is required"),
        ("from=x", "from must be an integer"),
        ("from=3&to=2", "from (3) must not be after to (2)"),
        ("from=1&to=7", "to must be from 0 to 6"),
        ("from=-1", "from must be from 0 to 6"),
    ],
)
def test_bad_parameters_answer_400(client_of, alice, sheet, query, message):
    response = client_of(alice).get(f"/api/sheets/{sheet.name}/diff/?{query}")
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_refusals_follow_the_api(client, client_of, make_user, sheet):
    assert client.get(f"/api/sheets/{sheet.name}/diff/?from=0").status_code == 401
    stranger = client_of(make_user())
    assert stranger.get(f"/api/sheets/{sheet.name}/diff/?from=0").status_code == 403
    assert stranger.get("/api/sheets/no-such-sheet/diff/?from=0").status_code == 404
