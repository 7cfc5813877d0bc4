"""The sheet as of any seq, read from the ledger a window of rows at a time: bounded memory, no cache, no lock.

Time travel (selectors.sheet_at) folds every event into one state in
memory, which suits a page of the sheet but not a million rows. Here the
order as of ``seq`` is the fold of the structure events alone (few, next to
the cell edits), and the cells of a window of rows are the last edit of each
of their cells up to ``seq``: events never change, so every window of one
export agrees with every other without holding a transaction open.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db.models import Q

from ledger.hashing import CELL_CHANGED, COL_PREFIX, ROW_PREFIX
from ledger.models import Event, Stream
from projections.selectors import Layout, fold_events
from projections.structure import IdCoord, Shaped, fold

_IMPLICIT_ROW = re.compile(rf"{ROW_PREFIX}(0|[1-9][0-9]{{0,8}})")


def order_at(stream: Stream, *, seq: int) -> tuple[Layout, int]:
    """Return the order of rows and columns right after event ``seq``, and the seq of the last structure event in it."""
    structure = Event.objects.filter(stream_id=stream.pk, seq__lte=seq).exclude(type=CELL_CHANGED)
    events = list(fold_events(structure))
    state = fold(events, Shaped.created(rows=stream.rows, cols=stream.cols))
    return Layout(rows=state.rows, cols=state.cols), events[-1]["seq"] if events else 0


def values_at(*, stream_id: int, row_ids: Iterable[str], seq: int) -> dict[IdCoord, str]:
    """Return the non-empty values of the cells of these rows right after event ``seq``, by (row id, col id).

    A cell's value is the new value of its last edit up to ``seq``; an edit
    written before rows had ids names its cell by position, which then was
    the implicit id (docs/architecture.md, decision 12).
    """
    wanted = list(row_ids)
    if not wanted:
        return {}
    implicit = [int(id_[1:]) for id_ in wanted if _IMPLICIT_ROW.fullmatch(id_)]
    rows = Q(row_id__in=wanted)
    if implicit:
        rows |= Q(row_id__isnull=True, row__in=implicit)
    edits = (
        Event.objects.filter(rows, stream_id=stream_id, type=CELL_CHANGED, seq__lte=seq)
        .order_by("seq")
        .values_list("row_id", "col_id", "row", "col", "new_value")
        .iterator(chunk_size=5000)
    )
    values: dict[IdCoord, str] = {}
    for row_id, col_id, row, col, value in edits:
        values[(row_id or f"{ROW_PREFIX}{row}", col_id or f"{COL_PREFIX}{col}")] = value
    return {coord: value for coord, value in values.items() if value != ""}
