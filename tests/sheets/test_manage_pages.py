"""The pages for a new sheet (blank or from a file) and for a sheet's members."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from projections.selectors import current_state
from sheets.models import Membership, Role, Sheet
from sheets.services import grant

pytestmark = pytest.mark.django_db


def test_the_sheet_list_offers_a_new_sheet(client, alice):
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert 'href="/new-sheet/"' in html and "make one" in html


def test_a_blank_sheet_is_made_of_the_size_asked_and_opens(client, alice):
    client.force_login(alice)
    response = client.post("/new-sheet/", {"name": "plan", "title": "The plan", "rows": "30", "cols": "4"})
    assert response.status_code == 302 and response["Location"] == "/sheets/plan/"
    sheet = Sheet.objects.get(name="plan")
    assert (sheet.title, sheet.stream.rows, sheet.stream.cols) == ("The plan", 30, 4)
    assert Membership.objects.get(sheet=sheet).role == Role.OWNER


def test_a_sheet_from_a_file_is_filled_from_it(client, alice):
    client.force_login(alice)
    response = client.post("/new-sheet/", {"name": "fromfile", "file": SimpleUploadedFile("x.csv", b"a,b\r\nc,d\r\n")})
    assert response.status_code == 302
    sheet = Sheet.objects.get(name="fromfile")
    assert {c: s.value for c, s in current_state(stream_id=sheet.stream_id).cells.items()} == {
        (0, 0): "a", (0, 1): "b", (1, 0): "c", (1, 1): "d",
    }


@pytest.mark.parametrize("data,status,words", [
    ({"name": "bad name", "rows": "3", "cols": "3"}, 400, "name"),
    ({"name": "ok", "rows": "0", "cols": "3"}, 400, "rows"),
    ({"name": "ok", "rows": "x", "cols": "3"}, 400, "whole numbers"),
])
def test_bad_input_shows_the_form_again_with_the_reason_and_makes_nothing(client, alice, data, status, words):
    client.force_login(alice)
    response = client.post("/new-sheet/", data)
    assert response.status_code == status and words in response.content.decode()
    assert not Sheet.objects.filter(name=data["name"]).exists()


def test_a_corrupt_file_is_refused_in_the_page(client, alice):
    client.force_login(alice)
    response = client.post("/new-sheet/", {"name": "broken", "file": SimpleUploadedFile("x.xlsx", b"PK garbage")})
    assert response.status_code == 400 and "not a readable XLSX" in response.content.decode()
    assert not Sheet.objects.filter(name="broken").exists()


def test_a_taken_name_is_409(client, alice, make_sheet):
    make_sheet(name="taken")
    client.force_login(alice)
    assert client.post("/new-sheet/", {"name": "taken", "rows": "1", "cols": "1"}).status_code == 409


def test_the_new_sheet_page_needs_a_login(client):
    assert client.get("/new-sheet/").status_code == 302


@pytest.fixture
def shared(make_sheet, alice, bob):
    sheet = make_sheet(editors=[bob])
    grant(sheet=sheet, username=alice.username, role=Role.OWNER)
    return sheet


def test_an_owner_sees_and_changes_roles(client, alice, bob, make_user, shared):
    carol = make_user()
    client.force_login(alice)
    page = client.get(f"/sheets/{shared.name}/members/").content.decode()
    assert bob.username in page and "Add someone" in page
    url = f"/sheets/{shared.name}/members/change/"
    assert client.post(url, {"username": carol.username, "role": "viewer"}).status_code == 302
    assert client.post(url, {"username": bob.username, "role": "owner"}).status_code == 302
    assert client.post(url, {"username": carol.username, "role": "remove"}).status_code == 302
    roles = dict(Membership.objects.filter(sheet=shared).values_list("user__username", "role"))
    assert roles == {alice.username: "owner", bob.username: "owner"}


def test_the_last_owner_cannot_be_removed_nor_lowered(client, alice, shared):
    client.force_login(alice)
    url = f"/sheets/{shared.name}/members/change/"
    response = client.post(url, {"username": alice.username, "role": "editor"})
    assert response.status_code == 409 and "owner" in response.content.decode()
    assert client.post(url, {"username": alice.username, "role": "remove"}).status_code == 409
    assert Membership.objects.get(sheet=shared, user=alice).role == Role.OWNER


def test_an_editor_sees_the_members_but_cannot_change_them(client, bob, shared, make_user):
    client.force_login(bob)
    page = client.get(f"/sheets/{shared.name}/members/").content.decode()
    assert "Add someone" not in page
    response = client.post(f"/sheets/{shared.name}/members/change/", {"username": make_user().username, "role": "editor"})
    assert response.status_code == 403
    assert Membership.objects.filter(sheet=shared).count() == 2


def test_an_outsider_gets_403_and_an_unknown_user_a_message(client, alice, make_user, shared):
    client.force_login(make_user())
    assert client.get(f"/sheets/{shared.name}/members/").status_code == 403
    client.force_login(alice)
    response = client.post(f"/sheets/{shared.name}/members/change/", {"username": "ghost", "role": "editor"})
    assert response.status_code == 400 and "ghost" in response.content.decode()
