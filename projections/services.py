"""Writes of the projection: the cells table inside the append transaction, and the time-travel snapshot cache."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import connection

from projections.fold import Cells, CellState, Coord
from projections.models import Cell
from projections.selectors import cells_at
from projections.snapshots import nearest_snapshot, record_snapshots, snapshot_interval, snapshots_due


def load_cells(*, stream_id: int, coords: Iterable[Coord]) -> Cells:
    """Return the stored state of the given cells (absent cells are left out)."""
    wanted = set(coords)
    if not wanted:
        return {}
    rows = {row for row, _ in wanted}
    cols = {col for _, col in wanted}
    found: Cells = {}
    # Filter by the row and column sets in SQL, then keep exact pairs: one
    # query whatever the shape of the edit (a paste is a rectangle anyway).
    for row, col, value, last_seq in Cell.objects.filter(stream_id=stream_id, row__in=rows, col__in=cols).values_list(
        "row", "col", "value", "last_seq"
    ):
        if (row, col) in wanted:
            found[(row, col)] = CellState(value=value, last_seq=last_seq)
    return found


def store_cells(*, stream_id: int, cells: Mapping[Coord, CellState]) -> None:
    """Upsert the given cell states."""
    if not cells:
        return
    if connection.vendor == "postgresql":
        # One statement of four arrays instead of a Cell instance and five
        # prepared values per cell (docs/benchmarks.md has the figures).
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {q(Cell._meta.db_table)} (stream_id, {q('row')}, {q('col')}, value, last_seq)"
                " SELECT %s, * FROM unnest(%s::integer[], %s::integer[], %s::text[], %s::bigint[])"
                f" ON CONFLICT (stream_id, {q('row')}, {q('col')})"
                " DO UPDATE SET value = EXCLUDED.value, last_seq = EXCLUDED.last_seq",
                [
                    stream_id,
                    [row for row, _ in cells],
                    [col for _, col in cells],
                    [state.value for state in cells.values()],
                    [state.last_seq for state in cells.values()],
                ],
            )
        return
    Cell.objects.bulk_create(
        [
            Cell(stream_id=stream_id, row=row, col=col, value=state.value, last_seq=state.last_seq)
            for (row, col), state in cells.items()
        ],
        update_conflicts=True,
        unique_fields=["stream", "row", "col"],
        update_fields=["value", "last_seq"],
    )


def cells_at_filling_cache(*, stream_id: int, seq: int) -> Cells:
    """Return the non-empty cells right after event ``seq``, storing the snapshots the fold passes that are due.

    Time travel as a page does it: selectors.cells_at folds, and the
    snapshots it leaves behind (snapshots.snapshots_due says which, and why)
    make the next trip near there quick. A write, so a service.
    """
    start = nearest_snapshot(stream_id=stream_id, seq=seq)[0]
    due = snapshots_due(start=start, seq=seq, every=snapshot_interval())

    def store(at: int, state: Cells) -> None:
        if at in due:
            record_snapshots(stream_id=stream_id, snapshots=[(at, state)])

    return cells_at(stream_id=stream_id, seq=seq, checkpoint=store)
