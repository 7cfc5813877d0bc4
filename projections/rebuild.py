"""Rebuild the projection (cells and snapshots) from the ledger, or check it against the ledger.

The cells come from one set-based statement: for each (row, col) the event
with the highest seq carries the cell's value and last_seq, which is what
the fold computes, without shipping a million events through Python.

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

from ledger.hashing import CELL_CHANGED
from ledger.models import Event
from ledger.services import lock_stream
from projections.fold import Cells, CellState, Coord, non_empty
from projections.models import Cell, ProjectionSnapshot
from projections.selectors import cell_events
from projections.snapshots import decode, fold_with_checkpoints, record_snapshots, snapshot_interval

Progress = Callable[[int], None]


def _latest_per_cell_sql() -> str:
    """Return a SELECT of (stream_id, row, col, value, last_seq) of one stream's latest event per cell."""
    q = connection.ops.quote_name
    events, row, col = q(Event._meta.db_table), q("row"), q("col")
    if connection.vendor == "postgresql":
        return (
            f"SELECT DISTINCT ON ({row}, {col}) stream_id, {row}, {col}, new_value, seq FROM {events}"
            f" WHERE stream_id = %s AND type = '{CELL_CHANGED}' ORDER BY {row}, {col}, seq DESC"
        )
    # Elsewhere: join each cell's max(seq) back to its event; the
    # (stream, row, col, seq) index serves both sides.
    return (
        f"SELECT e.stream_id, e.{row}, e.{col}, e.new_value, e.seq FROM {events} e"
        f" JOIN (SELECT {row}, {col}, MAX(seq) AS seq FROM {events} WHERE stream_id = %s AND type = '{CELL_CHANGED}'"
        f" GROUP BY {row}, {col}) m"
        f" ON e.{row} = m.{row} AND e.{col} = m.{col} AND e.seq = m.seq"
        f" WHERE e.stream_id = %s"
    )


def _params(stream_id: int) -> list[int]:
    return [stream_id] if connection.vendor == "postgresql" else [stream_id, stream_id]


def _expected_cells(stream_id: int) -> Cells:
    with connection.cursor() as cursor:
        cursor.execute(_latest_per_cell_sql(), _params(stream_id))
        return {(row, col): CellState(value=value, last_seq=seq) for _, row, col, value, seq in cursor.fetchall()}


def _stored_cells(stream_id: int) -> Iterator[tuple[Coord, CellState]]:
    rows = Cell.objects.filter(stream_id=stream_id).values_list("row", "col", "value", "last_seq").iterator(chunk_size=5000)
    for row, col, value, last_seq in rows:
        yield (row, col), CellState(value=value, last_seq=last_seq)


def _ledger_events(stream_id: int, head: int) -> Iterator[object]:
    return (
        cell_events(stream_id=stream_id).filter(seq__lte=head)
        .order_by("seq")
        .values_list("seq", "row", "col", "new_value", named=True)
        .iterator(chunk_size=5000)
    )


PROGRESS_EVERY = 1_000


def _counting(events: Iterator[object], on_progress: Progress | None) -> Iterator[object]:
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
    row: int
    col: int
    stored: CellState | None  # None: the cells table has no row for it
    expected: CellState | None  # None: the ledger never touched it


@dataclass(frozen=True, slots=True)
class CheckReport:
    head: int
    cells: list[CellDifference]
    snapshots: list[int]  # seqs of stored snapshots that differ from the fold

    @property
    def clean(self) -> bool:
        return not self.cells and not self.snapshots


@dataclass(frozen=True, slots=True)
class RebuildReport:
    head: int
    cells: int
    dropped: int  # snapshots removed
    snapshots: int  # snapshots taken again (only when asked for)


def _rebuild_cells(stream_id: int) -> tuple[int, int]:
    # Inside the caller's transaction: the stream's lock keeps appends out
    # for the delete and the insert, so no event can commit between them and
    # be missing from the result (every append takes the same lock first).
    head = lock_stream(stream_id=stream_id).head
    Cell.objects.filter(stream_id=stream_id).delete()
    table, q = Cell._meta.db_table, connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {q(table)} (stream_id, {q('row')}, {q('col')}, value, last_seq) {_latest_per_cell_sql()}",
            _params(stream_id),
        )
        return head, cursor.rowcount


def _take_snapshots(stream_id: int, head: int, on_progress: Progress | None) -> int:
    # Events up to a committed head never change, so the snapshots need no
    # lock: appends go on while the ledger is folded.
    stored = 0

    def store(seq: int, cells: Cells) -> None:
        nonlocal stored
        stored += record_snapshots(stream_id=stream_id, snapshots=[(seq, cells)])

    # Nor a transaction: a reader meanwhile folds from an older snapshot or
    # from seq 1, slower but just as right (and may store one first, which
    # ignore_conflicts keeps), and on SQLite a transaction would hold the
    # write lock for the whole fold.
    fold_with_checkpoints(
        _counting(_ledger_events(stream_id, head), on_progress),  # type: ignore[arg-type]
        {},
        every=snapshot_interval(),
        checkpoint=store,
    )
    return stored


def rebuild_sheet(*, stream_id: int, snapshots: bool = False, on_progress: Progress | None = None) -> RebuildReport:
    """Replace the stream's cells with what the ledger says and drop its snapshots; take them all again if asked."""
    with transaction.atomic():
        head, cells = _rebuild_cells(stream_id)
        # Dropped with the cells, all or nothing: a snapshot that was wrong
        # must not outlive a rebuild, and one that was right is worth less
        # than the fold it would take to tell (time travel retakes it).
        dropped, _ = ProjectionSnapshot.objects.filter(stream_id=stream_id).delete()
    taken = _take_snapshots(stream_id, head, on_progress) if snapshots else 0
    return RebuildReport(head=head, cells=cells, dropped=dropped, snapshots=taken)


def _check_cells(stream_id: int) -> tuple[int, list[CellDifference]]:
    with transaction.atomic():
        # Locked like a rebuild, so that an append committing mid-check
        # cannot show up as a difference; nothing is written.
        head = lock_stream(stream_id=stream_id).head
        expected = _expected_cells(stream_id)
        differences = []
        for coord, stored in _stored_cells(stream_id):
            wanted = expected.pop(coord, None)
            if wanted != stored:
                differences.append(CellDifference(row=coord[0], col=coord[1], stored=stored, expected=wanted))
        differences.extend(
            CellDifference(row=row, col=col, stored=None, expected=state) for (row, col), state in expected.items()
        )
    differences.sort(key=lambda difference: (difference.row, difference.col))
    return head, differences


def _matches(stored: Any, cells: Cells) -> bool:
    try:
        return decode(stored) == non_empty(cells)
    except (TypeError, ValueError):  # not even a list of [row, col, value, last_seq]: a difference to report
        return False


def _check_snapshots(stream_id: int, head: int, on_progress: Progress | None) -> list[int]:
    snapshots = ProjectionSnapshot.objects.filter(stream_id=stream_id)
    unvisited = set(snapshots.filter(seq__lte=head).values_list("seq", flat=True))
    if not unvisited:
        return []  # nothing to compare: no fold (right after a rebuild, say)
    bad: list[int] = []

    def compare(seq: int, cells: Cells) -> None:
        if seq in unvisited:
            unvisited.discard(seq)
            if not _matches(snapshots.values_list("cells", flat=True).get(seq=seq), cells):
                bad.append(seq)

    # Only as far as the last snapshot: beyond it there is nothing to compare.
    last = max(unvisited)
    fold_with_checkpoints(
        _counting(_ledger_events(stream_id, last), on_progress),  # type: ignore[arg-type]
        {},
        every=snapshot_interval(),
        checkpoint=compare,
    )
    # A snapshot at no multiple of the interval was not taken from this
    # ledger (one beyond the head may be a reader's, taken meanwhile).
    return sorted(bad + list(unvisited))


def check_sheet(*, stream_id: int, on_progress: Progress | None = None) -> CheckReport:
    """Compare the stream's cells and snapshots with the ledger; write nothing."""
    head, cells = _check_cells(stream_id)
    snapshots = _check_snapshots(stream_id, head, on_progress)
    return CheckReport(head=head, cells=cells, snapshots=snapshots)
