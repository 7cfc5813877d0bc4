"""GET and POST /api/sheets/, and a sheet's members over the API (docs/protocol.md, section 10)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from sheets.models import Membership, Role, Sheet
from sheets.services import grant
from sheets.tokens import create_token
from tests.conftest import edit, restructure, unique

pytestmark = pytest.mark.django_db


def token_client(user):
    return Client(HTTP_AUTHORIZATION=f"Bearer {create_token(user=user, name='t').secret}")


def put_json(client, url, body):
    return client.put(url, data=json.dumps(body), content_type="application/json")


def test_the_list_holds_the_sheets_with_a_role_and_their_sizes(make_sheet, alice, bob):
    from ledger.hashing import ROWS_INSERTED

    mine = make_sheet(rows=4, cols=3, editors=[alice])
    edit(mine, alice, (0, 0, "x"))
    restructure(mine, alice, ROWS_INSERTED, ["n"], after=None)
    viewed = make_sheet(rows=2, cols=2, viewers=[alice])
    make_sheet(rows=2, cols=2, editors=[bob])
    body = token_client(alice).get("/api/sheets/").json()
    listed = {entry["name"]: entry for entry in body["sheets"]}
    assert set(listed) == {mine.name, viewed.name}
    assert listed[mine.name] == {"name": mine.name, "title": mine.name, "row_count": 5, "col_count": 3, "head": 2,
                                 "role": "editor"}
    assert listed[viewed.name]["role"] == "viewer"


def test_the_list_needs_a_login():
    assert Client().get("/api/sheets/").status_code == 401


def test_creating_a_sheet_makes_the_caller_its_owner(alice):
    name = unique("new")
    response = token_client(alice).post("/api/sheets/", data=json.dumps({"name": name, "title": "Budget", "rows": 10,
                                                                          "cols": 4}), content_type="application/json")
    assert response.status_code == 201
    assert response.json() == {"name": name, "title": "Budget", "row_count": 10, "col_count": 4, "head": 0, "role": "owner"}
    assert Membership.objects.get(sheet__name=name).role == Role.OWNER


def test_the_title_defaults_to_the_name(alice):
    name = unique("new")
    response = token_client(alice).post("/api/sheets/", data=json.dumps({"name": name, "rows": 1, "cols": 1}),
                                        content_type="application/json")
    assert response.json()["title"] == name


def test_a_taken_name_is_409(make_sheet, alice):
    taken = make_sheet()
    response = token_client(alice).post("/api/sheets/", data=json.dumps({"name": taken.name, "rows": 1, "cols": 1}),
                                        content_type="application/json")
    assert response.status_code == 409 and "already exists" in response.json()["error"]


@pytest.mark.parametrize("body", [
    "{not json",
    "[]",
    {"rows": 1, "cols": 1},
    {"name": "ok", "rows": 0, "cols": 1},
    {"name": "ok", "rows": 1, "cols": 18_279},
    {"name": "ok", "rows": 1_000_001, "cols": 1},
    {"name": "ok", "rows": "5", "cols": 1},
    {"name": "ok", "rows": True, "cols": 1},
    {"name": "bad name!", "rows": 1, "cols": 1},
    {"name": "x" * 65, "rows": 1, "cols": 1},
    {"name": 5, "rows": 1, "cols": 1},
])
def test_bad_input_is_400_and_creates_nothing(alice, body):
    before = Sheet.objects.count()
    data = body if isinstance(body, str) else json.dumps(body)
    response = token_client(alice).post("/api/sheets/", data=data, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]
    assert Sheet.objects.count() == before


def test_creating_needs_a_login():
    response = Client().post("/api/sheets/", data=json.dumps({"name": "x", "rows": 1, "cols": 1}),
                             content_type="application/json")
    assert response.status_code == 401


@pytest.fixture
def shared(make_sheet, alice, bob):
    sheet = make_sheet(editors=[bob])
    grant(sheet=sheet, username=alice.username, role=Role.OWNER)
    return sheet


def test_members_lists_every_role_for_any_member(shared, alice, bob, make_user):
    viewer = make_user()
    grant(sheet=shared, username=viewer.username, role=Role.VIEWER)
    body = token_client(viewer).get(f"/api/sheets/{shared.name}/members/").json()
    assert sorted(body["members"], key=lambda m: m["username"]) == sorted(
        [{"username": alice.username, "role": "owner"}, {"username": bob.username, "role": "editor"},
         {"username": viewer.username, "role": "viewer"}], key=lambda m: m["username"])


def test_members_needs_a_role(shared, make_user):
    assert token_client(make_user()).get(f"/api/sheets/{shared.name}/members/").status_code == 403
    assert token_client(make_user()).get("/api/sheets/no-such-sheet/members/").status_code == 404


def test_an_owner_grants_and_changes_a_role(shared, alice, make_user):
    carol = make_user()
    url = f"/api/sheets/{shared.name}/members/{carol.username}/"
    response = put_json(token_client(alice), url, {"role": "viewer"})
    assert (response.status_code, response.json()) == (200, {"username": carol.username, "role": "viewer"})
    put_json(token_client(alice), url, {"role": "editor"})
    assert Membership.objects.get(sheet=shared, user=carol).role == Role.EDITOR


def test_an_editor_may_not_change_members(shared, bob, make_user):
    carol = make_user()
    response = put_json(token_client(bob), f"/api/sheets/{shared.name}/members/{carol.username}/", {"role": "owner"})
    assert response.status_code == 403 and response.json()["error"]
    assert token_client(bob).delete(f"/api/sheets/{shared.name}/members/{bob.username}/").status_code == 403
    assert not Membership.objects.filter(sheet=shared, user=carol).exists()


@pytest.mark.parametrize("body", [{"role": "admin"}, {}, {"role": 3}, "nope"])
def test_a_bad_role_is_400(shared, alice, bob, body):
    client = token_client(alice)
    url = f"/api/sheets/{shared.name}/members/{bob.username}/"
    response = client.put(url, data=body if isinstance(body, str) else json.dumps(body), content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]


def test_an_unknown_user_is_404(shared, alice):
    response = put_json(token_client(alice), f"/api/sheets/{shared.name}/members/nobody-by-that-name/", {"role": "viewer"})
    assert response.status_code == 404 and response.json()["error"]


def test_the_last_owner_may_not_leave_nor_be_demoted(shared, alice):
    client = token_client(alice)
    url = f"/api/sheets/{shared.name}/members/{alice.username}/"
    demoted = put_json(client, url, {"role": "editor"})
    assert demoted.status_code == 409 and "last owner" in demoted.json()["error"]
    assert client.delete(url).status_code == 409
    assert Membership.objects.get(sheet=shared, user=alice).role == Role.OWNER


def test_with_a_second_owner_the_first_may_step_down(shared, alice, bob):
    client = token_client(alice)
    put_json(client, f"/api/sheets/{shared.name}/members/{bob.username}/", {"role": "owner"})
    assert client.delete(f"/api/sheets/{shared.name}/members/{alice.username}/").status_code == 204
    assert list(Membership.objects.filter(sheet=shared).values_list("user__username", "role")) == [(bob.username, "owner")]


def test_removing_a_member_announces_after_commit(shared, alice, bob, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = token_client(alice).delete(f"/api/sheets/{shared.name}/members/{bob.username}/")
    assert response.status_code == 204
    assert callbacks, "the access change must be announced"
    assert not Membership.objects.filter(sheet=shared, user=bob).exists()


def test_removing_someone_without_a_role_is_404(shared, alice, make_user):
    stranger = make_user()
    response = token_client(alice).delete(f"/api/sheets/{shared.name}/members/{stranger.username}/")
    assert response.status_code == 404 and response.json()["error"]


def test_member_changes_with_a_session_need_csrf(shared, alice, bob):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.delete(f"/api/sheets/{shared.name}/members/{bob.username}/").status_code == 403
    assert Membership.objects.filter(sheet=shared, user=bob).exists()


def test_the_openapi_description_lists_every_endpoint():
    paths = Client(HTTP_HOST="127.0.0.1").get("/api/openapi.json").json()["paths"]
    assert set(paths) >= {
        "/api/sheets/", "/api/sheets/{name}/events/", "/api/sheets/{name}/cells/", "/api/sheets/{name}/diff/",
        "/api/sheets/{name}/ops/", "/api/sheets/{name}/members/", "/api/sheets/{name}/members/{username}/",
    }
    assert set(paths["/api/sheets/"]) == {"get", "post"}
    assert set(paths["/api/sheets/{name}/members/{username}/"]) == {"put", "delete"}
    assert "requestBody" in paths["/api/sheets/{name}/ops/"]["post"]
