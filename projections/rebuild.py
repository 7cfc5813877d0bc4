"""Rebuild the projection (cells, order, snapshots) from the ledger, or check it against the ledger.

The order of rows and columns is the fold of the stream's structure events
(few, next to its cell edits), from the rows and columns it was created
with. The cells come from one set-based statement: for each (row id, col
id) the event with the highest seq carries the cell's value and last_seq,
which is what the fold computes, without shipping a million events through
Python; an event written before rows had ids names its cell by position,
which then was the implicit id (docs/architecture.md, decision 12). The
cells of deleted rows and columns are then left out, as the fold drops them.

The snapshots are a cache for time travel, not part of the projection a
reader of the sheet sees: a rebuild drops them, and time travel takes them
again as it goes (``snapshots_due``). Taking them all means refolding
every event of the ledger in Python, far slower than the cells statement
on a long ledger (docs/benchmarks.md), so that is asked for
(``snapshots=True``, ``--snapshots``), not done by default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from ledger.hashing import CELL_CHANGED, COL_PREFIX, ROW_PREFIX
from ledger.models import Event, Stream
from ledger.services import lock_stream
from projections.as_of import order_at
from projections.axis import Axis
from projections.fold import CellState
from projections.models import Cell, Order, ProjectionSnapshot
from projections.selectors import Layout, cell_states, ledger_events, order_now
from projections.services import drop_cells, store_order
from projections.snapshots import decode, fold_with_checkpoints, record_snapshots, same_state, snapshot_interval
from projections.structure import IdCoord, Shaped

Progress = Callable[[int], None]


def _cell_key_sql(field: str, position: str, prefix: str) -> str:
    q = connection.ops.quote_name
    return f"COALESCE({field}, '{prefix}' || CAST({q(position)} AS TEXT))"


def _latest_per_cell_sql() -> str:
    """Return a SELECT of (stream_id, row_id, col_id, value, last_seq) of one stream's latest event per cell."""
    events = connection.ops.quote_name(Event._meta.db_table)
    row_key, col_key = _cell_key_sql("row_id", "row", ROW_PREFIX), _cell_key_sql("col_id", "col", COL_PREFIX)
    if connection.vendor == "postgresql":
        return (
            f"SELECT DISTINCT ON (rk, ck) stream_id, rk, ck, new_value, seq FROM"
            f" (SELECT stream_id, {row_key} AS rk, {col_key} AS ck, new_value, seq FROM {events}"
            f"  WHERE stream_id = %s AND type = '{CELL_CHANGED}') e"
            " ORDER BY rk, ck, seq DESC"
        )
    # Elsewhere: each cell's max(seq), joined back to its event by seq (unique in a stream).
    return (
        f"SELECT e.stream_id, m.rk, m.ck, e.new_value, e.seq FROM {events} e"
        f" JOIN (SELECT {row_key} AS rk, {col_key} AS ck, MAX(seq) AS seq FROM {events}"
        f"  WHERE stream_id = %s AND type = '{CELL_CHANGED}' GROUP BY rk, ck) m"
        " ON e.seq = m.seq WHERE e.stream_id = %s"
    )


def _params(stream_id: int) -> list[int]:
    return [stream_id] if connection.vendor == "postgresql" else [stream_id, stream_id]


def _expected_cells(stream_id: int, layout: Layout) -> dict[IdCoord, CellState]:
    gone_rows, gone_cols = set(layout.rows.tombstones()), set(layout.cols.tombstones())
    with connection.cursor() as cursor:
        cursor.execute(_latest_per_cell_sql(), _params(stream_id))
        return {
            (row_id, col_id): CellState(value=value, last_seq=seq)
            for _, row_id, col_id, value, seq in cursor.fetchall()
            if row_id not in gone_rows and col_id not in gone_cols
        }


PROGRESS_EVERY = 1_000


def _counting(events: Iterator[dict[str, Any]], on_progress: Progress | None) -> Iterator[dict[str, Any]]:
    if on_progress is None:
        yield from events
        return
    # Reported every thousand events, not each one: a call per event was a
    # measurable share of a million-event fold.
    done = 0
    for done, event in enumerate(events, start=1):
        if done % PROGRESS_EVERY == 0:
            on_progress(done)
        yield event
    on_progress(done)


@dataclass(frozen=True, slots=True)
class CellDifference:
    row_id: str
    col_id: str
    stored: CellState | None  # None: the cells table has no row for it
    expected: CellState | None  # None: the ledger never touched it (or its row or column was deleted)


@dataclass(frozen=True, slots=True)
class OrderDifference:
    axis: str  # "rows" or "columns"
    stored: list[str]  # the ids in order, tombstones marked with a leading "~"
    expected: list[str]


@dataclass(frozen=True, slots=True)
class CheckReport:
    head: int
    cells: list[CellDifference]
    snapshots: list[int]  # seqs of stored snapshots that differ from the fold
    order: list[OrderDifference]

    @property
    def clean(self) -> bool:
        return not self.cells and not self.snapshots and not self.order


@dataclass(frozen=True, slots=True)
class RebuildReport:
    head: int
    cells: int
    dropped: int  # snapshots removed
    snapshots: int  # snapshots taken again (only when asked for)
    rows: int  # live rows and columns as of head
    cols: int


def _rebuild_locked(stream_id: int) -> tuple[int, int, Layout]:
    # Inside the caller's transaction: the stream's lock keeps appends out
    # for the deletes and the inserts, so no event can commit between them and
    # be missing from the result (every append takes the same lock first).
    stream = lock_stream(stream_id=stream_id)
    layout, last = order_at(stream, seq=stream.head)
    # A new row each (a new pk), so no process keeps a decoded order of before.
    Order.objects.filter(stream_id=stream_id).delete()
    if last:
        last_hash = Event.objects.values_list("hash", flat=True).get(stream_id=stream_id, seq=last)
        store_order(stream_id=stream_id, seq=last, hash=last_hash, rows=layout.rows, cols=layout.cols)
    Cell.objects.filter(stream_id=stream_id).delete()
    table, q = Cell._meta.db_table, connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(table)} (stream_id, row_id, col_id, value, last_seq) {_latest_per_cell_sql()}",
            _params(stream_id),
        )
        inserted = cursor.rowcount
    gone_rows, gone_cols = layout.rows.tombstones(), layout.cols.tombstones()
    if gone_rows or gone_cols:
        drop_cells(stream_id=stream_id, row_ids=gone_rows, col_ids=gone_cols)
        inserted = Cell.objects.filter(stream_id=stream_id).count()
    return stream.head, inserted, layout


def _take_snapshots(stream_id: int, head: int, on_progress: Progress | None) -> int:
    # Events up to a committed head never change, so the snapshots need no
    # lock: appends go on while the ledger is folded.
    stored = 0

    def store(seq: int, state: Shaped) -> None:
        nonlocal stored
        stored += record_snapshots(stream_id=stream_id, snapshots=[(seq, state)])

    # Nor a transaction: a reader meanwhile folds from an older snapshot or
    # from seq 1, slower but just as right (and may store one first, which
    # ignore_conflicts keeps), and on SQLite a transaction would hold the
    # write lock for the whole fold.
    stream = Stream.objects.get(pk=stream_id)
    fold_with_checkpoints(
        _counting(ledger_events(stream_id=stream_id, upto=head), on_progress),
        Shaped.created(rows=stream.rows, cols=stream.cols),
        every=snapshot_interval(),
        checkpoint=store,
    )
    return stored


def rebuild_sheet(*, stream_id: int, snapshots: bool = False, on_progress: Progress | None = None) -> RebuildReport:
    """Replace the stream's cells and order with what the ledger says and drop its snapshots; take them again if asked."""
    with transaction.atomic():
        head, cells, layout = _rebuild_locked(stream_id)
        # Dropped with the cells, all or nothing: a snapshot that was wrong
        # must not outlive a rebuild, and one that was right is worth less
        # than the fold it would take to tell (time travel retakes it).
        dropped, _ = ProjectionSnapshot.objects.filter(stream_id=stream_id).delete()
    taken = _take_snapshots(stream_id, head, on_progress) if snapshots else 0
    return RebuildReport(
        head=head, cells=cells, dropped=dropped, snapshots=taken, rows=len(layout.rows), cols=len(layout.cols)
    )


def _spelled(axis: Axis) -> list[str]:
    return [f"~{id_}" if run.deleted else id_ for run in axis.runs for id_ in run.all_ids(axis.prefix)]


def _check_locked(stream_id: int) -> tuple[int, list[CellDifference], list[OrderDifference]]:
    with transaction.atomic():
        # Locked like a rebuild, so that an append committing mid-check
        # cannot show up as a difference; nothing is written.
        stream = lock_stream(stream_id=stream_id)
        layout, _ = order_at(stream, seq=stream.head)
        stored_layout = order_now(stream=stream, cached=False)
        order = [
            OrderDifference(axis=noun, stored=_spelled(stored), expected=_spelled(expected))
            for noun, stored, expected in (
                ("rows", stored_layout.rows, layout.rows), ("columns", stored_layout.cols, layout.cols)
            )
            if stored.encode() != expected.encode()
        ]
        expected_cells = _expected_cells(stream_id, layout)
        differences = []
        for coord, stored_cell in cell_states(stream_id=stream_id).items():
            wanted = expected_cells.pop(coord, None)
            if wanted != stored_cell:
                differences.append(CellDifference(row_id=coord[0], col_id=coord[1], stored=stored_cell, expected=wanted))
        differences.extend(
            CellDifference(row_id=row_id, col_id=col_id, stored=None, expected=state)
            for (row_id, col_id), state in expected_cells.items()
        )
    differences.sort(key=lambda difference: (difference.row_id, difference.col_id))
    return stream.head, differences, order


def _matches(stored: Any, state: Shaped) -> bool:
    try:
        return same_state(decode(stored), state)
    except (KeyError, TypeError, ValueError):  # not even a stored document: a difference to report
        return False


def _check_snapshots(stream_id: int, head: int, on_progress: Progress | None) -> list[int]:
    snapshots = ProjectionSnapshot.objects.filter(stream_id=stream_id)
    unvisited = set(snapshots.filter(seq__lte=head).values_list("seq", flat=True))
    if not unvisited:
        return []  # nothing to compare: no fold (right after a rebuild, say)
    bad: list[int] = []

    def compare(seq: int, state: Shaped) -> None:
        if seq in unvisited:
            unvisited.discard(seq)
            if not _matches(snapshots.values_list("cells", flat=True).get(seq=seq), state):
                bad.append(seq)

    # Only as far as the last snapshot: beyond it there is nothing to compare.
    last = max(unvisited)
    stream = Stream.objects.get(pk=stream_id)
    fold_with_checkpoints(
        _counting(ledger_events(stream_id=stream_id, upto=last), on_progress),
        Shaped.created(rows=stream.rows, cols=stream.cols),
        every=snapshot_interval(),
        checkpoint=compare,
    )
    # A snapshot at no multiple of the interval was not taken from this
    # ledger (one beyond the head may be a reader's, taken meanwhile).
    return sorted(bad + list(unvisited))


def check_sheet(*, stream_id: int, on_progress: Progress | None = None) -> CheckReport:
    """Compare the stream's cells, order and snapshots with the ledger; write nothing."""
    head, cells, order = _check_locked(stream_id)
    snapshots = _check_snapshots(stream_id, head, on_progress)
    return CheckReport(head=head, cells=cells, snapshots=snapshots, order=order)
