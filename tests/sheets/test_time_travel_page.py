"""The grid page's time-travel mode: /sheets/<name>/?at=<seq> validates the seq and hands it to the page."""

import pytest

from tests.conftest import edit

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_and_sheet(client, make_user, make_sheet):
    editor, viewer = make_user(), make_user()
    sheet = make_sheet(rows=5, cols=3, editors=[editor], viewers=[viewer])
    edit(sheet, editor, (0, 0, "one"))
    edit(sheet, editor, (0, 0, "two"))
    edit(sheet, editor, (1, 1, "three"))
    client.force_login(viewer)
    return sheet


@pytest.mark.parametrize("at", [0, 2, 3])
def test_a_seq_from_zero_to_the_head_opens_the_time_travel_view(client, viewer_and_sheet, at):
    sheet = viewer_and_sheet
    response = client.get(f"/sheets/{sheet.name}/?at={at}")
    assert response.status_code == 200
    config = response.context["config"]
    assert (config["at"], config["head"]) == (at, 3)
    assert b"read-only" in response.content.lower()


def test_without_at_the_page_is_the_live_grid(client, viewer_and_sheet):
    response = client.get(f"/sheets/{viewer_and_sheet.name}/")
    assert response.status_code == 200
    assert response.context["config"]["at"] is None
    assert response.context["config"]["head"] == 3
    assert b'id="timetravel"' not in response.content


@pytest.mark.parametrize("at", ["4", "-1", "abc", "1.5", "99999999999999999999"])
def test_a_seq_outside_zero_to_the_head_or_not_a_number_is_a_400(client, viewer_and_sheet, at):
    response = client.get(f"/sheets/{viewer_and_sheet.name}/", {"at": at})
    assert response.status_code == 400
    assert b"at must be" in response.content


def test_time_travel_still_refuses_strangers_and_unknown_sheets(client, make_user, make_sheet):
    client.force_login(make_user())
    assert client.get(f"/sheets/{make_sheet().name}/?at=0").status_code == 403
    assert client.get("/sheets/no-such-sheet/?at=0").status_code == 404
