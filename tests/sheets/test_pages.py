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


@pytest.mark.parametrize(("rows", "first", "windowed"), [
    (7, "", False),
    (5000, "", False),
    (5001, "?row_from=0&row_count=100", True),
])
def test_grid_page_preloads_what_it_reads_first(client, make_user, make_sheet, rows, first, windowed):
    user = make_user()
    sheet = make_sheet(rows=rows, cols=2, viewers=[user])
    client.force_login(user)
    response = client.get(f"/sheets/{sheet.name}/")
    config = response.context["config"]
    assert (config["firstCellsUrl"], config["windowed"]) == (config["cellsUrl"] + first, windowed)
    preload = f'<link rel="preload" href="{config["firstCellsUrl"]}" as="fetch" crossorigin="anonymous">'
    assert preload.replace("&", "&amp;") in response.content.decode()


def test_grid_page_preloads_its_whole_module_graph(client, make_user, make_sheet):
    import re

    from django.contrib.staticfiles import finders

    user = make_user()
    sheet = make_sheet(viewers=[user])
    client.force_login(user)
    html = client.get(f"/sheets/{sheet.name}/").content.decode()
    preloaded = re.findall(r'<link rel="modulepreload" href="/static/(sheets/[^"]+)">', html)
    # Deep in the graph: grid.js → windowed-model.js → window-source.js → window-runs.js.
    assert {"sheets/model.js", "sheets/window-source.js", "sheets/window-runs.js"} <= set(preloaded)
    assert "sheets/grid.js" not in preloaded and len(preloaded) == len(set(preloaded))
    # Exactly the modules reachable from grid.js: every relative import of every listed module is listed.
    for path in ["sheets/grid.js", *preloaded]:
        with open(finders.find(path), encoding="utf-8") as module:
            imported = re.findall(r'from "\./([^"]+)"', module.read())
        assert {f"sheets/{name}" for name in imported} <= {*preloaded, "sheets/grid.js"}, path
    past = client.get(f"/sheets/{sheet.name}/?at=0").content.decode()
    assert 'rel="preload"' not in past
    assert '<link rel="modulepreload" href="/static/sheets/model.js">' in past  # timetravel.js imports it


def test_grid_page_refuses_strangers_and_unknown_sheets(client, make_user, make_sheet):
    client.force_login(make_user())
    assert client.get(f"/sheets/{make_sheet().name}/").status_code == 403
    assert client.get("/sheets/no-such-sheet/").status_code == 404
