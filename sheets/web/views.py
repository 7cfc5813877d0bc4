"""HTML pages: the sheet list and the grid."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from projections.selectors import sizes
from sheets.live.routing import sheet_socket_path
from sheets.selectors import sheets_for
from sheets.web.access import page_access
from sheets.web.params import BadParameter, bad_parameter, int_param

# A sheet of more rows than this is held by the page in windows of rows
# (static/sheets/window-source.js); a smaller one is read whole.
GRID_WINDOWED_ROWS = 5000
# The first window a big sheet's page reads: more rows than any screen
# shows, so the page is drawn and subscribes after one small read; the
# windows around it follow once the page is live.
GRID_FIRST_ROWS = 100


def first_cells_url(cells_url: str, rows: int) -> str:
    """What the grid page reads first: the whole sheet, or its first window for a big one."""
    if rows <= GRID_WINDOWED_ROWS:
        return cells_url
    return f"{cells_url}?row_from=0&row_count={GRID_FIRST_ROWS}"


@require_GET
@login_required
def sheet_list(request: HttpRequest) -> HttpResponse:
    listed = sheets_for(user=request.user)
    shapes = sizes(streams=[sheet.stream for sheet, _ in listed])
    rows = [{"sheet": sheet, "role": role, "rows": shapes[sheet.stream_id][0], "cols": shapes[sheet.stream_id][1]}
            for sheet, role in listed]
    return render(request, "sheets/index.html", {"sheets": rows})


@require_GET
@login_required
def grid(request: HttpRequest, name: str) -> HttpResponse:
    access = page_access(request, name)
    # ?at=<seq> opens the read-only time-travel view of the sheet right after that event.
    try:
        at = int_param(request.GET, "at", maximum=access.sheet.head)
    except BadParameter as exc:
        return bad_parameter(exc)
    name = access.sheet.name
    rows, cols = sizes(streams=[access.sheet.stream])[access.sheet.stream_id]
    cells_url = reverse("api-cells", args=[name])
    config = {
        "sheet": access.sheet.name,
        "title": access.sheet.title,
        "rows": rows,
        "cols": cols,
        "canEdit": access.can_edit,
        "role": access.role,
        "user": request.user.get_username(),
        "userId": request.user.pk,
        "wsPath": sheet_socket_path(name),
        "maxFrameBytes": settings.SHEETS_MAX_FRAME_BYTES,
        "cellsUrl": cells_url,
        # The template preloads it: the read starts with the HTML, not once the scripts have run.
        "firstCellsUrl": first_cells_url(cells_url, rows),
        "windowed": rows > GRID_WINDOWED_ROWS,
        "eventsUrl": reverse("api-events", args=[name]),
        "at": at,
        "head": access.sheet.head,
        "historyUrl": reverse("sheet-history", args=[name]),
        "diffUrl": reverse("sheet-diff", args=[name]),
    }
    context = {"sheet": access.sheet, "access": access, "config": config, "at": at}
    return render(request, "sheets/grid.html", context)
