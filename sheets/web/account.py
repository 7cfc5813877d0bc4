"""The account page: a person's API tokens, made (and shown once), listed and revoked."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from sheets import tokens
from sheets.exceptions import SheetError
from sheets.selectors import tokens_for


def _page(request: HttpRequest, *, status: int = 200, **context: object) -> HttpResponse:
    context.update(tokens=tokens_for(user=request.user), max_name_length=tokens.MAX_NAME_LENGTH)
    return render(request, "sheets/account.html", context, status=status)


@require_GET
@login_required
def account(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@login_required
def create_token(request: HttpRequest) -> HttpResponse:
    # The page that shows the new token is this POST's answer, not a redirect:
    # the secret is never stored, not even in the session, so it cannot be shown twice.
    try:
        made = tokens.create_token(user=request.user, name=request.POST.get("name", ""))
    except SheetError as exc:
        return _page(request, status=400, error=str(exc))
    return _page(request, new_token=made)


@require_POST
@login_required
def revoke_token(request: HttpRequest, token_id: int) -> HttpResponse:
    tokens.revoke_token(user=request.user, token_id=token_id)
    return redirect("account")
