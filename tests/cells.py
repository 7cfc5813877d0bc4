"""The stored cells table as tests compare it: by the position each cell has now."""

from __future__ import annotations

from ledger.models import Stream
from projections.models import Cell
from projections.selectors import order_now
from sheets.models import Sheet


def stored_by_position(sheet: Sheet) -> dict[tuple[int, int], tuple[str, int]]:
    """Every row of the cells table (cleared cells included) as (row, col) now → (value, last_seq)."""
    layout = order_now(stream=Stream.objects.get(pk=sheet.stream_id))
    row_at, col_at = layout.rows.live_positions(), layout.cols.live_positions()
    return {
        (row_at[cell.row_id], col_at[cell.col_id]): (cell.value, cell.last_seq)
        for cell in Cell.objects.filter(stream_id=sheet.stream_id)
    }
