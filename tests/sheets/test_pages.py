"""The HTML pages: login, the sheet list and the grid page."""


import pytest

pytestmark = pytest.mark.django_db


def test_login_page_shows_the_form(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b'name="username"' in response.content and b"csrfmiddlewaretoken" in response.content


def test_login_with_the_form_sets_the_session(client, make_user):
    from tests.conftest import PASSWORD

    user = make_user()
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("path", ["/", "/sheets/anything/"])
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_sheet_list_shows_only_the_users_sheets(client, make_user, make_sheet):
    user = make_user()
    mine, other = make_sheet(viewers=[user]), make_sheet()
    client.force_login(user)
    content = client.get("/").content.decode()
    assert mine.name in content and other.name not in content


def test_grid_page_carries_its_configuration(client, make_user, make_sheet):
    user = make_user()
    sheet = make_sheet(rows=7, cols=3, viewers=[user])
    client.force_login(user)
    response = client.get(f"/sheets/{sheet.name}/")
    assert response.status_code == 200
    config = response.context["config"]
    assert config["sheet"] == sheet.name
    assert (config["rows"], config["cols"], config["canEdit"]) == (7, 3, False)
    assert config["wsPath"] == f"/ws/sheet/{sheet.name}/"
    assert b'id="sheet-config"' in response.content


def test_grid_page_refuses_strangers_and_unknown_sheets(client, make_user, make_sheet):
    client.force_login(make_user())
    assert client.get(f"/sheets/{make_sheet().name}/").status_code == 403
    assert client.get("/sheets/no-such-sheet/").status_code == 404
