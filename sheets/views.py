"""HTML pages: the sheet list and the grid."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sheets.access import page_access
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
    access = page_access(request, name)
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
        "maxFrameBytes": settings.SHEETS_MAX_FRAME_BYTES,
        "cellsUrl": f"/api/sheets/{access.sheet.name}/cells/",
        "eventsUrl": f"/api/sheets/{access.sheet.name}/events/",
        "at": at,
        "head": access.sheet.head,
        "historyUrl": f"/sheets/{access.sheet.name}/history/",
        "diffUrl": f"/sheets/{access.sheet.name}/diff/",
    }
    context = {"sheet": access.sheet, "access": access, "config": config, "at": at}
    return render(request, "sheets/grid.html", context)
