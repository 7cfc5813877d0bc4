"""The structure operations of the structure bench (bench/structure.py), and their timings.

A round of a delete and an insert picked against a sheet's order as each
comes (Structure), an operation appended and timed in this process or made
into the frame the websocket sends, the size of the stored order, a timed
one-cell edit, and the medians and p95s the tables show.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from django.db import connection

from bench.common import median, now_ms, percentile
from ledger.hashing import ROW_PREFIX, ROWS_DELETED, ROWS_INSERTED
from proj.testing import Frame, operation_frame
from projections.axis import Axis
from projections.models import Order
from projections.selectors import order_now
from sheets.models import Sheet
from sheets.writes.edits import Change, EditRequest, append_one
from sheets.writes.structure import StructureRequest


def new_ids(count: int) -> tuple[str, ...]:
    return tuple(str(uuid.uuid4()) for _ in range(count))


def stats(values: Sequence[float]) -> tuple[float, float]:
    return median(values), percentile(values, 95)


def order_rows(sheet: Sheet) -> Axis:
    """The sheet's rows as the write path reads them now."""
    sheet.stream.refresh_from_db()
    return order_now(stream=sheet.stream).rows


class Structure:
    """The structure operations of a latency round on one sheet, picked against its order as each comes."""

    def __init__(self, sheet: Sheet, user: Any) -> None:
        self.sheet, self.user = sheet, user

    def rows(self) -> Axis:
        return order_rows(self.sheet)

    def round(self, position: str, count: int) -> Iterator[StructureRequest]:
        """Delete ``count`` rows at ``position``, then insert ``count`` new ones in their place.

        The sheet keeps its size, so a full sheet (1,000,000 rows) can take
        the insert. A sheet with fewer rows than ``count`` inserts first and
        then deletes the rows it inserted. A generator: the caller performs
        each request before asking for the next, which is picked against the
        order the first one left.
        """
        rows = self.rows()
        ids = new_ids(count)
        if len(rows) < count:
            yield self._insert(ids, after=rows.id_at({"top": 0, "middle": len(rows) // 2, "bottom": len(rows)}[position] - 1))
            yield self._delete(ids)
            return
        at = {"top": 0, "middle": (len(rows) - count) // 2, "bottom": len(rows) - count}[position]
        yield self._delete(rows.window(at, count))
        yield self._insert(ids, after=self.rows().id_at(at - 1))

    def _insert(self, ids: Sequence[str], *, after: str | None) -> StructureRequest:
        return StructureRequest(user=self.user, client_event_id=uuid.uuid4(), type=ROWS_INSERTED, ids=tuple(ids),
                                after=after)

    def _delete(self, ids: Sequence[str]) -> StructureRequest:
        return StructureRequest(user=self.user, client_event_id=uuid.uuid4(), type=ROWS_DELETED, ids=tuple(ids))


def timed_append(sheet: Sheet, request: StructureRequest) -> float:
    started = now_ms()
    append_one(sheet_id=sheet.pk, request=request)
    return now_ms() - started


def operation_frame_of(request: StructureRequest) -> Frame:
    if request.type == ROWS_INSERTED:
        return operation_frame("insert_rows", after=request.after, row_ids=list(request.ids))
    return operation_frame("delete_rows", row_ids=list(request.ids))


Timings = dict[tuple[int, int, str], tuple[list[float], list[float]]]  # (rows, count, position) → (inserts, deletes)


def order_size(sheet: Sheet) -> tuple[int, int, int]:
    """How large the stored order of a sheet's rows has grown: its runs, its inserted ids (live or deleted), bytes."""
    rows = order_rows(sheet)
    inserted = sum(len(run.ids) for run in rows.runs if run.ids is not None)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT octet_length(runs::text) FROM {connection.ops.quote_name(Order._meta.db_table)}"
                       " WHERE stream_id = %s AND axis = %s", [sheet.stream_id, ROW_PREFIX])
        (size,) = cursor.fetchone() or (0,)
    return len(rows.runs), inserted, size


def latency_rows(results: Timings, path: str) -> list[tuple[Any, ...]]:
    return [(f"{size:,} rows", count, position, path, *stats(inserts), *stats(deletes))
            for (size, count, position), (inserts, deletes) in results.items()]


def pooled(results: Timings, size: int, count: int, which: int) -> float:
    """The median over every position of one size and count: inserts (0) or deletes (1)."""
    return median([v for (s, c, _), timings in results.items() if (s, c) == (size, count) for v in timings[which]])


def edit_ms(sheet: Sheet, user: Any, change: Change) -> float:
    started = now_ms()
    append_one(sheet_id=sheet.pk, request=EditRequest(user=user, client_event_id=uuid.uuid4(), changes=[change]))
    return now_ms() - started
