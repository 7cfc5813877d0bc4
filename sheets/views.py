"""HTML pages: the sheet list and the grid."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sheets.access import NoAccess, sheet_access
from sheets.exceptions import SheetNotFound
from sheets.params import BadParameter, int_param
from sheets.selectors import role_for, sheets_for


@require_GET
@login_required
def sheet_list(request: HttpRequest) -> HttpResponse:
    sheets = [(sheet, role_for(user=request.user, sheet_id=sheet.pk)) for sheet in sheets_for(user=request.user)]
    return render(request, "sheets/index.html", {"sheets": sheets})


@require_GET
@login_required
def grid(request: HttpRequest, name: str) -> HttpResponse:
    try:
        access = sheet_access(request, name)
    except SheetNotFound as exc:
        raise Http404(str(exc)) from None
    except NoAccess as exc:
        return HttpResponseForbidden(str(exc))
    # ?at=<seq> opens the read-only time-travel view of the sheet right after that event.
    try:
        at = int_param(request.GET, "at", maximum=access.sheet.head)
    except BadParameter as exc:
        return HttpResponseBadRequest(f"Cannot show the sheet at that point: {exc}.", content_type="text/plain")
    config = {
        "sheet": access.sheet.name,
        "title": access.sheet.title,
        "rows": access.sheet.rows,
        "cols": access.sheet.cols,
        "canEdit": access.can_edit,
        "role": access.role,
        "user": request.user.get_username(),
        "userId": request.user.pk,
        "wsPath": f"/ws/sheet/{access.sheet.name}/",
        "cellsUrl": f"/api/sheets/{access.sheet.name}/cells/",
        "eventsUrl": f"/api/sheets/{access.sheet.name}/events/",
        "at": at,
        "head": access.sheet.head,
        "historyUrl": f"/sheets/{access.sheet.name}/history/",
        "diffUrl": f"/sheets/{access.sheet.name}/diff/",
    }
    context = {"sheet": access.sheet, "access": access, "config": config, "at": at}
    return render(request, "sheets/grid.html", context)
