"""The audit pages: /sheets/<name>/history/ (and its CSV export with ?format=csv) and /sheets/<name>/diff/."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ledger.audit import activity, history_page
from ledger.hashing import (
    CELL_CHANGED,
    COL_PREFIX,
    COLUMNS_DELETED,
    COLUMNS_INSERTED,
    ROW_PREFIX,
    ROWS_DELETED,
    ROWS_INSERTED,
    format_timestamp,
)
from ledger.models import Event, Stream
from ledger.notation import a1, column_name
from ledger.selectors import EventFilter
from projections.selectors import diff_cells
from sheets.models import Membership
from sheets.web.access import page_access
from sheets.web.activity_chart import stacked_bars
from sheets.web.export import csv_response
from sheets.web.params import BadParameter, bad_parameter, diff_bounds, event_filter, int_param

# The history page's type filter: each type and how the menu says it.
EVENT_TYPE_LABELS = (
    (CELL_CHANGED, "cell edits"),
    (ROWS_INSERTED, "rows inserted"),
    (ROWS_DELETED, "rows deleted"),
    (COLUMNS_INSERTED, "columns inserted"),
    (COLUMNS_DELETED, "columns deleted"),
)
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1_000
SHORT = 80
# The filters a page link or the export keeps; cursors and format are per link.
FILTER_PARAMS = ("user", "cell", "row", "col", "row_id", "col_id", "type", "from", "to", "seq_from", "seq_to", "limit")


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    filters: EventFilter
    limit: int
    before: int | None
    after: int | None
    output: str  # html, csv (the export) or chart (the activity chart, fetched by the page)


def parse_history_query(query: QueryDict, *, stream: Stream) -> HistoryQuery:
    """Read the events API's filters plus ``cell``, the ``before``/``after`` cursors, ``limit`` and ``format``."""
    before = int_param(query, "before", minimum=1)
    after = int_param(query, "after")
    if before is not None and after is not None:
        raise BadParameter("give before or after, not both")
    output = query.get("format", "html")
    if output not in ("html", "csv", "chart"):
        raise BadParameter(f"format must be html, csv or chart, got {output[:20]!r}")
    return HistoryQuery(
        filters=event_filter(query, stream=stream),
        limit=int_param(query, "limit", minimum=1, maximum=MAX_PAGE_SIZE) or PAGE_SIZE,
        before=before,
        after=after,
        output=output,
    )


def _row(event: Event) -> dict[str, Any]:
    row: dict[str, Any] = {
        "seq": event.seq,
        "recorded_at": format_timestamp(event.recorded_at),
        "user": event.broadcaster.get_username(),
        "type": event.type,
    }
    if event.type != CELL_CHANGED:
        row["words"] = structure_in_words(event)
        return row
    assert event.row is not None and event.col is not None
    return row | {
        "cell": a1(event.row, event.col),
        "row": event.row,
        "col": event.col,
        "row_id": event.row_id or f"{ROW_PREFIX}{event.row}",
        "col_id": event.col_id or f"{COL_PREFIX}{event.col}",
        "old": event.old_value,
        "new": event.new_value,
        "old_short": _shorten(event.old_value),
        "new_short": _shorten(event.new_value),
    }


def _spans(numbers: list[int]) -> str:
    """``[7, 9, 10, 11]`` → ``"7, 9–11"``."""
    spans: list[str] = []
    start = previous = None
    for number in [*numbers, None]:
        if start is not None and (number is None or number != previous + 1):  # type: ignore[operator]
            spans.append(str(start) if start == previous else f"{start}–{previous}")
            start = None
        if number is not None and start is None:
            start = number
        previous = number
    return ", ".join(spans)


def structure_in_words(event: Event) -> str:
    """What an insert or delete did, as a person says it: "inserted 2 rows below row 4", "deleted columns B, D"."""
    count = len(json.loads(event.ids or "[]"))
    if event.type in (ROWS_INSERTED, COLUMNS_INSERTED):
        on_rows = event.type == ROWS_INSERTED
        first = (event.row if on_rows else event.col) or 0
        noun = ("row" if on_rows else "column") + ("s" if count != 1 else "")
        if first == 0:
            return f"inserted {count} {noun} at the {'top' if on_rows else 'left'}"
        where = f"below row {first}" if on_rows else f"right of column {column_name(first - 1)}"
        return f"inserted {count} {noun} {where}"
    positions = json.loads(event.positions or "[]")
    if event.type == ROWS_DELETED:
        return f"deleted row{'s' if count != 1 else ''} {_spans([p + 1 for p in positions])}"
    return f"deleted column{'s' if count != 1 else ''} {', '.join(column_name(p) for p in positions)}"


def _shorten(value: str) -> str | None:
    """Return a shortened value, or None when the value is short enough to show whole."""
    return value[: SHORT - 1] + "…" if len(value) > SHORT else None


def _link(query: QueryDict, **cursor: object) -> str:
    kept = [(name, query[name]) for name in FILTER_PARAMS if query.get(name, "") != ""]
    kept += [(name, str(value)) for name, value in cursor.items()]
    return "?" + urlencode(kept)


@require_GET
@login_required
def history(request: HttpRequest, name: str) -> HttpResponseBase:
    access = page_access(request, name)
    try:
        query = parse_history_query(request.GET, stream=access.sheet.stream)
    except BadParameter as exc:
        return bad_parameter(exc)
    sheet = access.sheet
    if query.output == "csv":
        return csv_response(request, sheet=sheet, filters=query.filters)
    if query.output == "chart":
        # A separate request: the aggregate scans the whole filtered range,
        # which on a long ledger takes longer than the page itself.
        chart = stacked_bars(activity(stream_id=sheet.stream_id, filters=query.filters))
        return render(request, "sheets/activity_chart.html", {"chart": chart})
    page = history_page(
        stream_id=sheet.stream_id, filters=query.filters, limit=query.limit, before=query.before,
        after=query.after,
    )
    context = {
        "sheet": sheet,
        "rows": [_row(event) for event in page.events],
        "newest_link": _link(request.GET),
        "newer_link": _link(request.GET, after=page.newer) if page.newer is not None else None,
        "older_link": _link(request.GET, before=page.older) if page.older is not None else None,
        "csv_link": _link(request.GET, format="csv"),
        "chart_link": _link(request.GET, format="chart"),
        "params": {name: request.GET.get(name, "") for name in FILTER_PARAMS},
        "members": Membership.objects.filter(sheet=sheet).select_related("user").order_by("user__username"),
        "event_types": EVENT_TYPE_LABELS,
        "filtered": any(request.GET.get(name, "") for name in FILTER_PARAMS if name != "limit"),
    }
    return render(request, "sheets/history.html", context)


@require_GET
@login_required
def diff_page(request: HttpRequest, name: str) -> HttpResponse:
    """Show every cell whose value differs between two seqs, with both values."""
    access = page_access(request, name)
    sheet = access.sheet
    try:
        from_seq, to_seq = diff_bounds(request.GET, head=sheet.head)
    except BadParameter as exc:
        return bad_parameter(exc)
    cells = diff_cells(stream_id=sheet.stream_id, from_seq=from_seq, to_seq=to_seq)
    rows = [
        {"cell": a1(d.row, d.col), "row": d.row, "col": d.col, "old": d.from_value, "new": d.to_value,
         "old_short": _shorten(d.from_value), "new_short": _shorten(d.to_value)}
        for d in cells
    ]
    context = {"sheet": sheet, "from_seq": from_seq, "to_seq": to_seq, "rows": rows}
    return render(request, "sheets/diff.html", context)
