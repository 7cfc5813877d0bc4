"""Reads about sheets and access rights."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import F

from ledger.compiled import CompiledRead
from sheets.exceptions import SheetNotFound, UserNotFound
from sheets.models import EDIT_ROLES, ApiToken, Membership, Role, Sheet, SheetState


def get_user(*, username: str) -> Any:
    """Return the user of that name; raise UserNotFound."""
    User = get_user_model()
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise UserNotFound(f"no user named {username!r}") from None


def get_sheet(*, name: str) -> Sheet:
    """Return the ready sheet of that name; raise SheetNotFound, also for one still importing or failed."""
    try:
        sheet = Sheet.objects.select_related("stream").get(name=name)
    except Sheet.DoesNotExist:
        raise SheetNotFound(f"no sheet named {name!r}") from None
    # Half a file is no sheet: every read, page and socket finds it absent until its import commits whole.
    if sheet.state == SheetState.IMPORTING:
        raise SheetNotFound(f"sheet {name!r} is being imported; it opens when the import is done")
    if sheet.state == SheetState.FAILED:
        raise SheetNotFound(f"no sheet named {name!r}: its import failed")
    return sheet


def role_for(*, user: AbstractBaseUser | AnonymousUser, sheet_id: int) -> Role | None:
    """Return the user's role on the sheet; superusers own every sheet."""
    if not user.is_authenticated:
        return None
    return roles_for(users=[user], sheet_id=sheet_id)[user.pk]


# Compiled once: every append asks it (ledger.compiled).
_MEMBER_ROLES = CompiledRead(
    lambda sheet_id, user_ids: Membership.objects.filter(sheet_id=sheet_id, user_id__any_of=user_ids).values_list(
        "user_id", "role"
    )
)


def roles_for(*, users: Iterable[AbstractBaseUser], sheet_id: int) -> dict[Any, Role | None]:
    """Return each user's role on the sheet by pk, in one query; superusers own every sheet."""
    roles: dict[Any, Role | None] = {}
    members = []
    for user in users:
        if getattr(user, "is_superuser", False):
            roles[user.pk] = Role.OWNER
        else:
            roles[user.pk] = None
            members.append(user.pk)
    if members:
        for user_id, role in _MEMBER_ROLES.rows(sheet_id=sheet_id, user_ids=members):
            roles[user_id] = Role(role)
    return roles


def can_edit(role: Role | None) -> bool:
    return role in EDIT_ROLES


def sheets_for(*, user: AbstractBaseUser) -> list[tuple[Sheet, Role]]:
    """Return the sheets the user may at least view, by name, each with the user's role, in one query."""
    sheets = Sheet.objects.select_related("stream").filter(state=SheetState.READY).order_by("name")
    if getattr(user, "is_superuser", False):
        return [(sheet, Role.OWNER) for sheet in sheets]
    members = sheets.filter(memberships__user_id=user.pk).annotate(role=F("memberships__role"))
    return [(sheet, Role(sheet.role)) for sheet in members]


def imports_of(*, user: AbstractBaseUser) -> list[Sheet]:
    """Return the sheets the user is importing, or whose import failed, by name (they are in no other list)."""
    return list(
        Sheet.objects.select_related("stream")
        .exclude(state=SheetState.READY)
        .filter(memberships__user_id=user.pk, memberships__role=Role.OWNER)
        .order_by("name")
    )


def tokens_for(*, user: AbstractBaseUser) -> list[ApiToken]:
    """Return the user's API tokens, newest first, revoked ones included."""
    return list(ApiToken.objects.filter(user_id=user.pk))


def members_of(*, sheet: Sheet) -> list[tuple[str, Role]]:
    """Return (username, role) of every member of the sheet, by username."""
    rows = Membership.objects.filter(sheet=sheet).order_by("user__username").values_list("user__username", "role")
    return [(username, Role(role)) for username, role in rows]
