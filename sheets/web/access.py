"""Resolving the sheet of a request and the user's rights on it."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest

from sheets.exceptions import SheetNotFound
from sheets.models import Role, Sheet
from sheets.selectors import can_edit, get_sheet, role_for


class NoAccess(Exception):
    """The user has no role on the sheet."""


@dataclass(frozen=True, slots=True)
class SheetAccess:
    sheet: Sheet
    role: Role

    @property
    def can_edit(self) -> bool:
        return can_edit(self.role)


def sheet_access(request: HttpRequest, name: str) -> SheetAccess:
    """Return the sheet and the user's role; raise SheetNotFound or NoAccess."""
    sheet = get_sheet(name=name)
    role = role_for(user=request.user, sheet_id=sheet.pk)
    if role is None:
        raise NoAccess(f"you have no access to sheet {name!r}")
    return SheetAccess(sheet=sheet, role=role)


def page_access(request: HttpRequest, name: str) -> SheetAccess:
    """Return the sheet and role for an HTML page; unknown sheet is a 404, no role a 403."""
    try:
        return sheet_access(request, name)
    except SheetNotFound as exc:
        raise Http404(str(exc)) from None
    except NoAccess as exc:
        raise PermissionDenied(str(exc)) from None


__all__ = ["NoAccess", "SheetAccess", "SheetNotFound", "page_access", "sheet_access"]
