"""The JSON API of a sheet: its events and its cells (docs/protocol.md, "HTTP API")."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from ledger.selectors import events_page
from ledger.serialization import event_to_dict
from projections.selectors import MAX_WINDOW, read_now, read_shaped
from projections.services import sheet_at_filling_cache
from sheets.exceptions import SheetNotFound
from sheets.web.access import NoAccess, SheetAccess, sheet_access
from sheets.web.params import BadParameter, bad_parameter, event_filter, int_param, json_error

MAX_LIMIT = 1000


def api_view(view: Callable[[HttpRequest, SheetAccess], dict[str, Any]]) -> Callable[..., JsonResponse]:
    """Answer 401/404/403/400 as JSON around a view that returns a dict."""

    @require_GET
    @wraps(view)
    def wrapper(request: HttpRequest, name: str) -> JsonResponse:
        if not request.user.is_authenticated:
            return json_error(401, "log in first")
        try:
            access = sheet_access(request, name)
            return JsonResponse(view(request, access))
        except SheetNotFound as exc:
            return json_error(404, str(exc))
        except NoAccess as exc:
            return json_error(403, str(exc))
        except BadParameter as exc:
            return bad_parameter(exc)

    return wrapper


@api_view
def events(request: HttpRequest, access: SheetAccess) -> dict[str, Any]:
    after = int_param(request.GET, "after") or 0
    limit = int_param(request.GET, "limit", minimum=1, maximum=MAX_LIMIT) or 100
    filters = event_filter(request.GET, stream=access.sheet.stream)
    sheet = access.sheet
    page, next_after = events_page(stream_id=sheet.stream_id, filters=filters, after=after, limit=limit)
    return {
        "events": [event_to_dict(event, sheet_name=sheet.name, with_hashes=True) for event in page],
        "head": sheet.head,
        "next_after": next_after,
    }


@api_view
def cells(request: HttpRequest, access: SheetAccess) -> dict[str, Any]:
    """The sheet as of ``at`` (default: the head): its order and non-empty cells, or a window of its rows."""
    sheet = access.sheet
    at = int_param(request.GET, "at", maximum=sheet.head)
    row_from = int_param(request.GET, "row_from") or 0
    row_count = int_param(request.GET, "row_count", maximum=MAX_WINDOW)
    if row_count is None and "row_from" in request.GET:
        row_count = MAX_WINDOW
    if at is None or at == sheet.head:
        return read_now(stream=sheet.stream, row_from=row_from, row_count=row_count).as_json()
    state = sheet_at_filling_cache(stream_id=sheet.stream_id, seq=at)
    return read_shaped(state, head=sheet.head, at=at, row_from=row_from, row_count=row_count).as_json()
