"""The audit pages: /sheets/<name>/history/ (and its CSV export with ?format=csv) and /sheets/<name>/diff/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ledger.audit import CellRange, activity, history_page
from ledger.hashing import format_timestamp
from ledger.models import Event
from ledger.notation import a1
from ledger.selectors import EventFilter
from projections.selectors import diff_cells
from sheets.models import Membership
from sheets.web.access import page_access
from sheets.web.activity_chart import stacked_bars
from sheets.web.export import csv_response
from sheets.web.params import BadParameter, bad_parameter, cell_range_param, diff_bounds, event_filter, int_param

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1_000
SHORT = 80
# The filters a page link or the export keeps; cursors and format are per link.
FILTER_PARAMS = ("user", "cell", "row", "col", "from", "to", "seq_from", "seq_to", "limit")


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    filters: EventFilter
    cells: CellRange | None
    limit: int
    before: int | None
    after: int | None
    output: str  # html, csv (the export) or chart (the activity chart, fetched by the page)


def parse_history_query(query: QueryDict) -> HistoryQuery:
    """Read the events API's filters plus ``cell``, the ``before``/``after`` cursors, ``limit`` and ``format``."""
    before = int_param(query, "before", minimum=1)
    after = int_param(query, "after")
    if before is not None and after is not None:
        raise BadParameter("give before or after, not both")
    output = query.get("format", "html")
    if output not in ("html", "csv", "chart"):
        raise BadParameter(f"format must be html, csv or chart, got {output[:20]!r}")
    return HistoryQuery(
        filters=event_filter(query),
        cells=cell_range_param(query),
        limit=int_param(query, "limit", minimum=1, maximum=MAX_PAGE_SIZE) or PAGE_SIZE,
        before=before,
        after=after,
        output=output,
    )


def _row(event: Event) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "recorded_at": format_timestamp(event.recorded_at),
        "user": event.broadcaster.get_username(),
        "cell": a1(event.row, event.col),
        "row": event.row,
        "col": event.col,
        "old": event.old_value,
        "new": event.new_value,
        "old_short": _shorten(event.old_value),
        "new_short": _shorten(event.new_value),
    }


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
        query = parse_history_query(request.GET)
    except BadParameter as exc:
        return bad_parameter(exc)
    sheet = access.sheet
    if query.output == "csv":
        return csv_response(request, sheet=sheet, filters=query.filters, cells=query.cells)
    if query.output == "chart":
        # A separate request: the aggregate scans the whole filtered range,
        # which on a long ledger takes longer than the page itself.
        chart = stacked_bars(activity(stream_id=sheet.stream_id, filters=query.filters, cells=query.cells))
        return render(request, "sheets/activity_chart.html", {"chart": chart})
    page = history_page(
        stream_id=sheet.stream_id, filters=query.filters, cells=query.cells, limit=query.limit, before=query.before,
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
