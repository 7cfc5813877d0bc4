"""The pages that do what the API's sheets and members endpoints do: a new sheet (blank or from a file), members."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from sheets.exceptions import SheetError
from sheets.imports import import_sheet, read_upload
from sheets.models import Role
from sheets.selectors import members_of
from sheets.services import check_new_name, create_sheet, remove_member, set_role
from sheets.web.access import page_access

_STATUS = {"NameTaken": 409, "ImportTooLarge": 413, "NotOwner": 403, "LastOwner": 409, "MemberNotFound": 404}


def _status(exc: SheetError) -> int:
    return _STATUS.get(type(exc).__name__, 400)


def _new_sheet_form(request: HttpRequest, *, status: int = 200, **context: object) -> HttpResponse:
    context.setdefault("values", {"rows": "100", "cols": "26"})
    context.update(max_rows=settings.SHEETS_MAX_ROWS, max_cols=settings.SHEETS_MAX_COLS)
    return render(request, "sheets/new_sheet.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def new_sheet(request: HttpRequest) -> HttpResponse:
    """Any logged-in user creates a sheet they own: blank of a size, or filled from a CSV or XLSX file."""
    if request.method == "GET":
        return _new_sheet_form(request)
    values = {key: request.POST.get(key, "").strip() for key in ("name", "title", "rows", "cols")}
    upload = request.FILES.get("file")
    try:
        if upload is not None:
            check_new_name(name=values["name"], title=values["title"])
            grid = read_upload(filename=upload.name or "", data=upload, size=upload.size or 0)
            sheet = import_sheet(name=values["name"], title=values["title"], owner=request.user, grid=grid)
        else:
            if not (values["rows"].isdigit() and values["cols"].isdigit()):
                raise SheetError("rows and columns must be whole numbers (or choose a file to import)")
            sheet = create_sheet(name=values["name"], title=values["title"], rows=int(values["rows"]),
                                 cols=int(values["cols"]), owner_username=request.user.get_username())
    except SheetError as exc:
        return _new_sheet_form(request, status=_status(exc), error=str(exc), values=values)
    return redirect("sheet-grid", name=sheet.name)


def _members_page(request: HttpRequest, name: str, *, status: int = 200, error: str | None = None) -> HttpResponse:
    access = page_access(request, name)
    context = {
        "sheet": access.sheet, "access": access, "is_owner": access.role == Role.OWNER,
        "members": members_of(sheet=access.sheet), "roles": Role.values, "error": error,
    }
    return render(request, "sheets/members.html", context, status=status)


@require_http_methods(["GET"])
@login_required
def members(request: HttpRequest, name: str) -> HttpResponse:
    return _members_page(request, name)


@require_POST
@login_required
def change_member(request: HttpRequest, name: str) -> HttpResponse:
    """An owner gives a role (``role`` one of the roles) or takes it away (``role`` = "remove")."""
    access = page_access(request, name)
    username, role = request.POST.get("username", "").strip(), request.POST.get("role", "")
    try:
        if role == "remove":
            remove_member(sheet=access.sheet, actor=request.user, username=username)
        else:
            set_role(sheet=access.sheet, actor=request.user, username=username, role=role)
    except SheetError as exc:
        return _members_page(request, name, status=_status(exc), error=str(exc))
    return redirect("sheet-members", name=access.sheet.name)
