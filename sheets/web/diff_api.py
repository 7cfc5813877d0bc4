"""GET /api/sheets/<name>/diff/?from=&to=: every cell whose value differs between two seqs."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from ledger.notation import a1
from projections.selectors import diff_cells
from sheets.web.access import SheetAccess
from sheets.web.api import api_view
from sheets.web.params import diff_bounds


@api_view
def diff(request: HttpRequest, access: SheetAccess) -> dict[str, Any]:
    sheet = access.sheet
    from_seq, to_seq = diff_bounds(request.GET, head=sheet.head)
    cells = diff_cells(stream_id=sheet.stream_id, from_seq=from_seq, to_seq=to_seq)
    return {
        "head": sheet.head,
        "from": from_seq,
        "to": to_seq,
        "cells": [
            {"row": d.row, "col": d.col, "cell": a1(d.row, d.col), "from_value": d.from_value, "to_value": d.to_value}
            for d in cells
        ],
    }
