"""Reads of the projection: the order of rows and columns, the cells now, and the sheet as of any seq."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.db.models import QuerySet

from ledger.compiled import CompiledRead
from ledger.db import one_snapshot
from ledger.hashing import CELL_CHANGED, COL_PREFIX, ROW_PREFIX, ROWS_DELETED, ROWS_INSERTED
from ledger.models import Event, Stream
from ledger.selectors import stream_head
from projections.axis import Axis
from projections.fold import CellState
from projections.models import Cell, Order
from projections.snapshots import fold_with_checkpoints, nearest_snapshot, snapshot_interval
from projections.structure import IdCoord, Shaped

# The ``row_count`` of one read of a window of rows, at most.
MAX_WINDOW = 10_000


class Layout(NamedTuple):
    """The rows and the columns of a sheet, in order, tombstones included."""

    rows: Axis
    cols: Axis


# Axes by (stream, axis, Order pk, seq, hash): an order changes only with a
# structure event (a new seq and hash, the hash naming the whole history
# before it) or a rebuild (a new row, so a new pk), so an entry never goes
# stale and the write path decodes a sheet's order once per structure event
# instead of once per edit.
_AXES: dict[tuple[int, str, int, int, str], Axis] = {}
_AXES_KEPT = 256


# Which order each axis has stored: read by every append, so compiled once (ledger.compiled).
_ORDER_KEYS = CompiledRead(lambda stream_id: Order.objects.filter(stream_id=stream_id).values_list("axis", "pk", "seq", "hash"))


def order_now(*, stream: Stream, cached: bool = True) -> Layout:
    """Return the stream's order as stored (the one it was created with when no structure event has been folded).

    ``cached=False`` decodes the stored rows whatever this process holds:
    what rebuild_projections --check compares, since a row changed behind
    the application's back keeps its pk, seq and hash.
    """
    found = {
        axis: (pk, seq, hash_)
        for axis, pk, seq, hash_ in _ORDER_KEYS.rows(stream_id=stream.pk)
    }
    return Layout(
        rows=_axis(stream, ROW_PREFIX, found.get(ROW_PREFIX), stream.rows, cached=cached),
        cols=_axis(stream, COL_PREFIX, found.get(COL_PREFIX), stream.cols, cached=cached),
    )


def _axis(stream: Stream, prefix: str, stored: tuple[int, int, str] | None, created: int, *, cached: bool) -> Axis:
    if stored is None:
        return Axis.created(prefix, created)
    axis = _AXES.get((stream.pk, prefix, *stored)) if cached else None
    if axis is None:
        runs = Order.objects.values_list("runs", flat=True).get(pk=stored[0])
        axis = Axis.decode(prefix, runs)
        if cached:
            remember_order(stream_id=stream.pk, prefix=prefix, key=stored, axis=axis)
    return axis


def remember_order(*, stream_id: int, prefix: str, key: tuple[int, int, str], axis: Axis) -> None:
    """Keep a decoded order under its Order row's (pk, seq, hash) (a write that rolls back leaves a key never read)."""
    if len(_AXES) >= _AXES_KEPT:
        _AXES.pop(next(iter(_AXES)), None)
    _AXES[(stream_id, prefix, *key)] = axis


def sizes(*, streams: Iterable[Stream]) -> dict[int, tuple[int, int]]:
    """Return (live rows, live columns) of each stream by pk, in one query."""
    by_pk = {stream.pk: stream for stream in streams}
    counts = {pk: [stream.rows, stream.cols] for pk, stream in by_pk.items()}
    for stream_id, axis, count in Order.objects.filter(stream_id__in=list(by_pk)).values_list("stream_id", "axis", "count"):
        counts[stream_id][0 if axis == ROW_PREFIX else 1] = count
    return {pk: (rows, cols) for pk, (rows, cols) in counts.items()}


# The sheet as a reader sees it


@dataclass(frozen=True, slots=True)
class SheetRead:
    """A sheet (or a window of its rows) as of one seq, as the cells API and the snapshot frame show it."""

    head: int
    at: int
    layout: Layout
    row_from: int
    row_ids: list[str]
    cells: list[dict[str, Any]]  # {"row_id", "col_id", "row", "col", "value", "last_seq"}, row-major

    def as_json(self) -> dict[str, Any]:
        return {
            "head": self.head, "at": self.at,
            "row_count": len(self.layout.rows), "col_count": len(self.layout.cols),
            "row_from": self.row_from, "row_ids": self.row_ids, "col_ids": self.layout.cols.ids(),
            "cells": self.cells,
        }


def render_cells(
    cells: Iterable[tuple[str, str, str, int]], *, row_at: Mapping[str, int], col_at: Mapping[str, int]
) -> list[dict[str, Any]]:
    """Render (row_id, col_id, value, last_seq) of live rows and columns as the protocol's cells, row-major."""
    rendered = [
        {"row_id": row_id, "col_id": col_id, "row": row_at[row_id], "col": col_at[col_id], "value": value, "last_seq": seq}
        for row_id, col_id, value, seq in cells
        if value != "" and row_id in row_at and col_id in col_at
    ]
    rendered.sort(key=lambda cell: (cell["row"], cell["col"]))
    return rendered


def _window(rows: Axis, row_from: int, row_count: int | None) -> tuple[list[str], dict[str, int]]:
    if row_from == 0 and row_count is None:
        ids = rows.ids()
    else:
        ids = rows.window(row_from, row_count if row_count is not None else len(rows))
    return ids, {id_: row_from + offset for offset, id_ in enumerate(ids)}


def read_now(*, stream: Stream, row_from: int = 0, row_count: int | None = None) -> SheetRead:
    """Return the sheet at its head (the rows ``row_from`` … ``row_from + row_count - 1``, or all), read consistently."""
    with one_snapshot():
        head = stream_head(stream_id=stream.pk)
        layout = order_now(stream=stream)
        row_ids, row_at = _window(layout.rows, row_from, row_count)
        cells: QuerySet[Cell] = Cell.objects.filter(stream_id=stream.pk).exclude(value="")
        if row_from != 0 or row_count is not None:
            cells = cells.filter(row_id__in=row_ids)
        found = cells.values_list("row_id", "col_id", "value", "last_seq")
        rendered = render_cells(found, row_at=row_at, col_at=layout.cols.live_positions())
    return SheetRead(head=head, at=head, layout=layout, row_from=row_from, row_ids=row_ids, cells=rendered)


def read_shaped(state: Shaped, *, head: int, at: int, row_from: int = 0, row_count: int | None = None) -> SheetRead:
    """Return a folded state (time travel) as a read of the sheet."""
    layout = Layout(rows=state.rows, cols=state.cols)
    row_ids, row_at = _window(state.rows, row_from, row_count)
    cells = ((row_id, col_id, cell.value, cell.last_seq) for (row_id, col_id), cell in state.cells.items())
    rendered = render_cells(cells, row_at=row_at, col_at=state.cols.live_positions())
    return SheetRead(head=head, at=at, layout=layout, row_from=row_from, row_ids=row_ids, cells=rendered)


def cell_states(*, stream_id: int) -> dict[IdCoord, CellState]:
    """Every stored cell by id, cleared ones included (rebuild's --check compares them all)."""
    return {
        (row_id, col_id): CellState(value=value, last_seq=last_seq)
        for row_id, col_id, value, last_seq in Cell.objects.filter(stream_id=stream_id)
        .values_list("row_id", "col_id", "value", "last_seq")
        .iterator(chunk_size=5000)
    }


# Folding the ledger

_FOLD_COLUMNS = ("seq", "type", "row", "col", "row_id", "col_id", "new_value", "after", "ids")


def fold_events(events: QuerySet[Event]) -> Iterator[dict[str, Any]]:
    """The events as the fold reads them (projections.structure), ascending by seq, streamed."""
    for seq, kind, row, col, row_id, col_id, value, after, ids in (
        events.order_by("seq").values_list(*_FOLD_COLUMNS).iterator(chunk_size=5000)
    ):
        if kind == CELL_CHANGED:
            yield {"seq": seq, "type": kind, "row": row, "col": col, "row_id": row_id, "col_id": col_id, "new_value": value}
        else:
            key = "row_ids" if kind in (ROWS_INSERTED, ROWS_DELETED) else "col_ids"
            yield {"seq": seq, "type": kind, "after": after, key: json.loads(ids)}


def ledger_events(*, stream_id: int, after: int = 0, upto: int | None = None) -> Iterator[dict[str, Any]]:
    """The stream's events with ``after < seq <= upto`` as the fold reads them."""
    events = Event.objects.filter(stream_id=stream_id, seq__gt=after)
    if upto is not None:
        events = events.filter(seq__lte=upto)
    return fold_events(events)


def sheet_at(*, stream_id: int, seq: int, checkpoint: Callable[[int, Shaped], None] | None = None) -> Shaped:
    """Return the sheet as it stood right after event ``seq``: order, tombstones and cells.

    Folds forward from the nearest snapshot at or before ``seq``, calling
    ``checkpoint(seq, state)`` at each multiple of the snapshot interval it
    passes (services.sheet_at_filling_cache stores some there).
    """
    start, state = nearest_snapshot(stream_id=stream_id, seq=seq)
    events = ledger_events(stream_id=stream_id, after=start, upto=seq)
    return fold_with_checkpoints(events, state, every=snapshot_interval(), checkpoint=checkpoint)


@dataclass(frozen=True, slots=True)
class CellDiff:
    row_id: str
    col_id: str
    row: int  # the position as of the later seq, or the earlier one if its row or column was deleted in between
    col: int
    from_value: str
    to_value: str


def diff_cells(*, stream_id: int, from_seq: int, to_seq: int) -> list[CellDiff]:
    """List every cell whose value after ``to_seq`` differs from its value after ``from_seq``, row-major.

    A cell of a row or column deleted in between is gone at ``to_seq``: its
    new value is "".
    """
    if from_seq > to_seq:
        raise ValueError(f"from_seq {from_seq} is after to_seq {to_seq}")
    before = sheet_at(stream_id=stream_id, seq=from_seq)
    after = fold_with_checkpoints(
        ledger_events(stream_id=stream_id, after=from_seq, upto=to_seq), before, every=snapshot_interval(), checkpoint=None
    )
    positions_before = (before.rows.live_positions(), before.cols.live_positions())
    positions_after = (after.rows.live_positions(), after.cols.live_positions())
    diffs = []
    for coord in set(before.cells) | set(after.cells):
        old = before.cells[coord].value if coord in before.cells else ""
        new = after.cells[coord].value if coord in after.cells else ""
        if old == new:
            continue
        live_after = coord[0] in positions_after[0] and coord[1] in positions_after[1]
        row_at, col_at = positions_after if live_after else positions_before
        diffs.append(CellDiff(coord[0], coord[1], row_at[coord[0]], col_at[coord[1]], old, new))
    diffs.sort(key=lambda diff: (diff.row, diff.col))
    return diffs


# The sheet by position (what a person sees at a moment): (row, col) → state


def positional(state: Shaped) -> dict[tuple[int, int], CellState]:
    """The non-empty cells of a folded state by their positions in it."""
    return {coord: cell for coord, (_, _, cell) in state.visible_cells().items()}


def cells_at(
    *, stream_id: int, seq: int, checkpoint: Callable[[int, Shaped], None] | None = None
) -> dict[tuple[int, int], CellState]:
    """Return the non-empty cells right after event ``seq``, by their positions then."""
    return positional(sheet_at(stream_id=stream_id, seq=seq, checkpoint=checkpoint))


@dataclass(frozen=True, slots=True)
class SheetState:
    head: int
    cells: dict[tuple[int, int], CellState]  # non-empty, by position now


def current_state(*, stream_id: int) -> SheetState:
    """Return the head and the non-empty cells by position as of that head, read consistently."""
    read = read_now(stream=Stream.objects.get(pk=stream_id))
    cells = {(c["row"], c["col"]): CellState(value=c["value"], last_seq=c["last_seq"]) for c in read.cells}
    return SheetState(head=read.head, cells=cells)
