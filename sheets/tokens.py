"""Personal API tokens: make one (its secret is shown once), revoke it, and authenticate a request by it.

A token is ``lst_`` and 43 URL-safe characters from ``secrets`` (256 bits):
so much entropy that a fast, unsalted SHA-256 is the right hash (a slow
password hash guards guessable secrets; these are not), and it lets the
lookup be one indexed equality on the digest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from sheets.exceptions import InvalidToken, SheetError
from sheets.models import ApiToken
from sheets.selectors import get_user

PREFIX = "lst_"
# last_used_at is written at most this often per token: a script's every call must not be a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_NAME_LENGTH = 100


@dataclass(frozen=True, slots=True)
class NewToken:
    token: ApiToken
    secret: str  # the only time the whole token exists outside its owner's hands


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(*, user: Any, name: str) -> NewToken:
    """Make a token for ``user``; return it with its secret, which is stored nowhere."""
    name = name.strip() or "API token"
    if len(name) > MAX_NAME_LENGTH:
        raise SheetError(f"a token's name has at most {MAX_NAME_LENGTH} characters")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, digest=_digest(secret), hint=secret[: len(PREFIX) + 4])
    return NewToken(token=token, secret=secret)


def create_token_for(*, username: str, name: str) -> NewToken:
    """create_token for the user of that name (the command's way in); raise UserNotFound."""
    return create_token(user=get_user(username=username), name=name)


@transaction.atomic
def revoke_token(*, user: Any, token_id: int) -> bool:
    """Revoke one of ``user``'s tokens; return whether an active one was revoked."""
    updated = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    return bool(updated)


def authenticate_token(*, secret: str) -> ApiToken:
    """Return the active token of an active user, its user loaded, recording its use (at most once a minute);
    raise InvalidToken."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        raise InvalidToken("that is not a Ledgersheet API token")
    digest = _digest(secret)
    token = ApiToken.objects.select_related("user").filter(digest=digest).first()
    # The lookup is by digest, so its timing says nothing of the secret;
    # compare_digest keeps the final check constant-time all the same.
    if token is None or not hmac.compare_digest(token.digest, digest):
        raise InvalidToken("the API token is unknown")
    if token.revoked_at is not None:
        raise InvalidToken("the API token was revoked")
    if not token.user.is_active:
        raise InvalidToken("the API token's user is inactive")
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
