"""Who is calling the API: a personal token (``Authorization: Bearer``) or Django's session.

A token request needs no CSRF token: nothing in it comes from a cookie a
browser sends by itself. A session request must pass Django's CSRF check
for every unsafe method, exactly as a form post would.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from sheets.tokens import authenticate_token

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfFailed(Exception):
    """A session request with an unsafe method and no valid CSRF token; answered with 403."""


class TokenAuth(HttpBearer):
    """``Authorization: Bearer lst_…``; a bad or revoked token is a 401, never a fall back to the session."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        api_token = authenticate_token(secret=token)
        # The selectors and sheet_access read request.user, as for a session.
        request.user = api_token.user
        request.api_token = api_token  # type: ignore[attr-defined]
        return api_token.user


class SessionAuth(APIKeyCookie):
    """Django's session cookie, with Django's CSRF check on unsafe methods."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        # csrf=True tells the docs page to send the CSRF token; the check itself is in authenticate.
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        # APIKeyCookie checks CSRF here, before knowing whether anyone is logged
        # in; an anonymous request must get its 401 first.
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not request.user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise CsrfFailed(
                "CSRF check failed: send the csrftoken cookie's value in an X-CSRFToken header, or use an API token"
            )
        return request.user


def credential_key(request: HttpRequest) -> str:
    """What the API's rate limit counts by: the token, else the session."""
    token = getattr(request, "api_token", None)
    if token is not None:
        return f"token:{token.digest}"
    return f"session:{request.session.session_key}"
