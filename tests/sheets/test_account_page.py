"""The account page: make a named token (shown once), see them with their last use, revoke one."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from sheets.models import ApiToken
from sheets.tokens import authenticate_token, create_token

pytestmark = pytest.mark.django_db


def test_the_account_page_needs_a_login(client):
    response = client.get("/account/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_top_bar_links_to_the_account_page(client, alice):
    client.force_login(alice)
    assert 'href="/account/"' in client.get("/").content.decode()


def test_creating_a_token_shows_it_once_and_it_works(client, alice):
    client.force_login(alice)
    response = client.post("/account/tokens/", {"name": "backup script"})
    assert response.status_code == 200
    page = response.content.decode()
    secret = re.search(r'<code class="token-secret">(lst_[A-Za-z0-9_-]+)</code>', page).group(1)
    assert authenticate_token(secret=secret).name == "backup script"
    again = client.get("/account/").content.decode()
    assert "backup script" in again and secret not in again


def test_the_page_lists_tokens_with_created_and_last_used(client, alice, bob):
    used = create_token(user=alice, name="used one")
    authenticate_token(secret=used.secret)
    create_token(user=alice, name="never used")
    create_token(user=bob, name="bobs token")
    client.force_login(alice)
    page = client.get("/account/").content.decode()
    assert "used one" in page and "never used" in page and "bobs token" not in page
    assert "never" in page and used.token.hint in page


def test_revoking_a_token_by_post(client, alice):
    made = create_token(user=alice, name="to revoke")
    client.force_login(alice)
    response = client.post(f"/account/tokens/{made.token.pk}/revoke/")
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=made.token.pk).revoked_at is not None
    assert "revoked" in client.get("/account/").content.decode()


def test_revoking_needs_post_and_csrf(alice):
    made = create_token(user=alice, name="x")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    assert browser.get(f"/account/tokens/{made.token.pk}/revoke/").status_code == 405
    assert browser.post(f"/account/tokens/{made.token.pk}/revoke/").status_code == 403
    assert ApiToken.objects.get(pk=made.token.pk).revoked_at is None


def test_nobody_revokes_another_users_token(client, alice, bob):
    made = create_token(user=alice, name="x")
    client.force_login(bob)
    client.post(f"/account/tokens/{made.token.pk}/revoke/")
    assert ApiToken.objects.get(pk=made.token.pk).revoked_at is None


def test_a_too_long_name_is_refused_with_a_message(client, alice):
    client.force_login(alice)
    response = client.post("/account/tokens/", {"name": "x" * 101})
    assert response.status_code == 400
    assert "at most 100" in response.content.decode()
    assert not ApiToken.objects.filter(user=alice).exists()
