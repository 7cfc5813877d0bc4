"""Personal API tokens (docs/protocol.md, section 10): stored as a hash, accepted as Bearer, revocable."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from sheets.models import ApiToken
from sheets.tokens import PREFIX, authenticate_token, create_token, revoke_token
from tests.conftest import edit

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def sheet(make_sheet, alice):
    sheet = make_sheet(rows=3, cols=2, editors=[alice])
    edit(sheet, alice, (0, 0, "x"))
    return sheet


def test_a_token_is_stored_only_as_its_sha256(alice):
    made = create_token(user=alice, name="ci")
    assert made.secret.startswith(PREFIX) and len(made.secret) >= len(PREFIX) + 43
    stored = ApiToken.objects.get(pk=made.token.pk)
    assert stored.digest == hashlib.sha256(made.secret.encode()).hexdigest()
    assert made.secret not in {stored.digest, stored.hint, stored.name}
    assert made.secret.startswith(stored.hint)


def test_two_tokens_differ(alice):
    assert create_token(user=alice, name="a").secret != create_token(user=alice, name="a").secret


def test_bearer_token_reads_the_api_without_a_session(sheet, alice):
    made = create_token(user=alice, name="script")
    response = Client().get(f"/api/sheets/{sheet.name}/cells/", **bearer(made.secret))
    assert response.status_code == 200
    assert response.json()["cells"][0]["value"] == "x"


@pytest.mark.parametrize("header", ["Bearer lst_not-a-real-token", "Bearer nonsense", "Bearer ", "bearer lst_x"])
def test_a_bad_token_is_401_with_an_error(sheet, header):
    response = Client().get(f"/api/sheets/{sheet.name}/cells/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["error"]


def test_a_bad_token_is_401_even_with_a_valid_session(client, sheet, alice):
    client.force_login(alice)
    response = client.get(f"/api/sheets/{sheet.name}/cells/", **bearer("lst_wrong"))
    assert response.status_code == 401


def test_a_revoked_token_is_401(sheet, alice):
    made = create_token(user=alice, name="old")
    assert revoke_token(user=alice, token_id=made.token.pk)
    response = Client().get(f"/api/sheets/{sheet.name}/events/", **bearer(made.secret))
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]


def test_only_the_owner_revokes_a_token(alice, bob):
    made = create_token(user=alice, name="mine")
    assert not revoke_token(user=bob, token_id=made.token.pk)
    assert authenticate_token(secret=made.secret).user == alice


def test_the_token_of_an_inactive_user_is_401(sheet, make_user):
    user = make_user(is_active=False)
    made = create_token(user=user, name="x")
    assert Client().get(f"/api/sheets/{sheet.name}/cells/", **bearer(made.secret)).status_code == 401


def test_a_token_of_a_user_without_a_role_is_403(sheet, bob):
    made = create_token(user=bob, name="x")
    response = Client().get(f"/api/sheets/{sheet.name}/cells/", **bearer(made.secret))
    assert response.status_code == 403
    assert response.json()["error"]


def test_a_token_on_an_unknown_sheet_is_404(alice):
    made = create_token(user=alice, name="x")
    assert Client().get("/api/sheets/no-such-sheet/cells/", **bearer(made.secret)).status_code == 404


def test_last_used_at_is_set_on_use_and_written_at_most_once_a_minute(sheet, alice, django_assert_num_queries):
    made = create_token(user=alice, name="x")
    assert made.token.last_used_at is None
    authenticate_token(secret=made.secret)
    first = ApiToken.objects.get(pk=made.token.pk).last_used_at
    assert first is not None
    authenticate_token(secret=made.secret)
    assert ApiToken.objects.get(pk=made.token.pk).last_used_at == first
    ApiToken.objects.filter(pk=made.token.pk).update(last_used_at=first - timedelta(minutes=2))
    Client().get(f"/api/sheets/{sheet.name}/cells/", **bearer(made.secret))
    assert ApiToken.objects.get(pk=made.token.pk).last_used_at > first - timedelta(seconds=1)


def test_a_recent_use_costs_no_write(alice, django_assert_num_queries):
    made = create_token(user=alice, name="x")
    ApiToken.objects.filter(pk=made.token.pk).update(last_used_at=timezone.now())
    with django_assert_num_queries(1):  # the lookup only
        authenticate_token(secret=made.secret)


def test_a_token_request_needs_no_csrf_token(sheet, alice):
    made = create_token(user=alice, name="x")
    response = Client(enforce_csrf_checks=True).post(f"/api/sheets/{sheet.name}/cells/", **bearer(made.secret))
    assert response.status_code == 405  # past authentication: the method is what is wrong


def test_the_openapi_description_names_both_ways_of_authenticating():
    schema = Client(HTTP_HOST="127.0.0.1").get("/api/openapi.json").json()
    assert schema["info"]["title"] == "Ledgersheet" and schema["info"]["version"] == "2"
    assert schema["components"]["securitySchemes"]["TokenAuth"] == {"type": "http", "scheme": "bearer"}
    assert schema["components"]["securitySchemes"]["SessionAuth"]["in"] == "cookie"
    for path in ("/api/sheets/{name}/events/", "/api/sheets/{name}/cells/", "/api/sheets/{name}/diff/"):
        assert "get" in schema["paths"][path]
    params = [p["name"] for p in schema["paths"]["/api/sheets/{name}/events/"]["get"]["parameters"]]
    assert {"after", "limit", "user", "row_id", "col_id", "type", "from", "to"} <= set(params)


def test_the_docs_page_is_served_with_local_assets():
    response = Client(HTTP_HOST="127.0.0.1").get("/api/docs")
    assert response.status_code == 200
    assert b"/api/openapi.json" in response.content
    assert b"cdn." not in response.content


def test_create_token_command_prints_a_working_token_once(alice, capsys):
    call_command("create_token", alice.username, "--name", "nightly")
    out, err = capsys.readouterr()
    secret = out.strip()
    assert secret.startswith(PREFIX) and "\n" not in secret
    assert "nightly" in err
    token = authenticate_token(secret=secret)
    assert (token.user, token.name) == (alice, "nightly")


def test_create_token_command_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="no user named"):
        call_command("create_token", "nobody-by-that-name")
