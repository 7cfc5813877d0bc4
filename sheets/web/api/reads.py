"""Reading a sheet over the API: its events, its cells and a diff (docs/protocol.md, section 10).

The query parameters are declared in the signatures so that the OpenAPI
description lists them, as optional strings: sheets.web.params parses them
from ``request.GET``, the one place whose messages the pages share.
"""

# No "from __future__ import annotations": ninja reads the Annotated parameters at definition time.
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Query, Router

from ledger.notation import a1
from ledger.selectors import events_page
from ledger.serialization import event_to_dict
from projections.selectors import MAX_WINDOW, diff_cells, read_now, read_shaped
from projections.services import sheet_at_filling_cache
from sheets.web.access import sheet_access
from sheets.web.params import diff_bounds, event_filter, int_param

MAX_LIMIT = 1000

router = Router(tags=["reading"])

def _described(description: str, alias: str | None = None) -> Any:
    return Annotated[str | None, Query(None, description=description, alias=alias)]


@router.get("/sheets/{name}/events/", url_name="api-events", summary="The sheet's events, filtered, a page at a time")
def events(
    request: HttpRequest,
    name: str,
    after: _described("only events with seq > after (default 0)") = None,
    limit: _described("page size, 1 to 1,000 (default 100)") = None,
    user: _described("a user's pk or username") = None,
    row_id: _described("events that touch this row") = None,
    col_id: _described("events that touch this column") = None,
    row: _described("the row standing at this position now") = None,
    col: _described("the column standing at this position now") = None,
    cell: _described("a cell such as B4 or a range such as B2:D10, as the sheet is now") = None,
    type_: _described("one event type, or several separated by commas", alias="type") = None,
    from_: _described("ISO 8601 time, inclusive", alias="from") = None,
    to: _described("ISO 8601 time, inclusive") = None,
    seq_from: _described("the first seq, inclusive") = None,
    seq_to: _described("the last seq, inclusive") = None,
) -> dict[str, Any]:
    """`{"events": [...], "head": H, "next_after": seq or null}`: events in seq order, with their hashes."""
    sheet = sheet_access(request, name).sheet
    after_seq = int_param(request.GET, "after") or 0
    page_size = int_param(request.GET, "limit", minimum=1, maximum=MAX_LIMIT) or 100
    filters = event_filter(request.GET, stream=sheet.stream)
    page, next_after = events_page(stream_id=sheet.stream_id, filters=filters, after=after_seq, limit=page_size)
    return {
        "events": [event_to_dict(event, sheet_name=sheet.name, with_hashes=True) for event in page],
        "head": sheet.head,
        "next_after": next_after,
    }


@router.get("/sheets/{name}/cells/", url_name="api-cells", summary="The sheet now or as of a seq, whole or a window of rows")
def cells(
    request: HttpRequest,
    name: str,
    at: _described("the seq to show the sheet as of (default: the head; 0 is the sheet as created)") = None,
    row_from: _described("the first row of a window (default 0)") = None,
    row_count: _described("rows in the window, 1 to 10,000") = None,
) -> dict[str, Any]:
    """The sheet's order of rows and columns and its non-empty cells, as of `at`."""
    sheet = sheet_access(request, name).sheet
    at_seq = int_param(request.GET, "at", maximum=sheet.head)
    first = int_param(request.GET, "row_from") or 0
    count = int_param(request.GET, "row_count", maximum=MAX_WINDOW)
    if count is None and "row_from" in request.GET:
        count = MAX_WINDOW
    if at_seq is None or at_seq == sheet.head:
        return read_now(stream=sheet.stream, row_from=first, row_count=count).as_json()
    state = sheet_at_filling_cache(stream_id=sheet.stream_id, seq=at_seq)
    return read_shaped(state, head=sheet.head, at=at_seq, row_from=first, row_count=count).as_json()


@router.get("/sheets/{name}/diff/", url_name="api-diff", summary="Every cell whose value differs between two seqs")
def diff(
    request: HttpRequest,
    name: str,
    from_: _described("the seq to compare from (required; 0 is the empty sheet)", alias="from") = None,
    to: _described("the seq to compare to (default: the head)") = None,
) -> dict[str, Any]:
    sheet = sheet_access(request, name).sheet
    from_seq, to_seq = diff_bounds(request.GET, head=sheet.head)
    changed = diff_cells(stream_id=sheet.stream_id, from_seq=from_seq, to_seq=to_seq)
    return {
        "head": sheet.head,
        "from": from_seq,
        "to": to_seq,
        "cells": [
            {"row": d.row, "col": d.col, "cell": a1(d.row, d.col), "from_value": d.from_value, "to_value": d.to_value}
            for d in changed
        ],
    }
