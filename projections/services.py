"""Writes of the projection: cells and order inside the append transaction, and the time-travel snapshot cache."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import connection

from ledger.compiled import CompiledRead
from ledger.hashing import COL_PREFIX, ROW_PREFIX
from projections.axis import Axis
from projections.fold import CellState
from projections.models import Cell, Order
from projections.selectors import remember_order, sheet_at
from projections.snapshots import nearest_snapshot, record_snapshots, snapshot_interval, snapshots_due
from projections.structure import IdCoord, Shaped

# Read by every append: compiled once (ledger.compiled).
_CELLS = CompiledRead(
    lambda stream_id, row_ids, col_ids: Cell.objects.filter(
        stream_id=stream_id, row_id__any_of=row_ids, col_id__any_of=col_ids
    ).values_list("row_id", "col_id", "value", "last_seq")
)


def load_cells(*, stream_id: int, coords: Iterable[IdCoord]) -> dict[IdCoord, CellState]:
    """Return the stored state of the given cells, by (row id, col id) (absent cells are left out)."""
    wanted = set(coords)
    if not wanted:
        return {}
    rows = {row for row, _ in wanted}
    cols = {col for _, col in wanted}
    found: dict[IdCoord, CellState] = {}
    # Filter by the row and column sets in SQL, then keep exact pairs: one
    # query whatever the shape of the edit (a paste is a rectangle anyway).
    for row_id, col_id, value, last_seq in _CELLS.rows(stream_id=stream_id, row_ids=rows, col_ids=cols):
        if (row_id, col_id) in wanted:
            found[(row_id, col_id)] = CellState(value=value, last_seq=last_seq)
    return found


def store_cells(*, stream_id: int, cells: Mapping[IdCoord, CellState]) -> None:
    """Upsert the given cell states."""
    if not cells:
        return
    if connection.vendor == "postgresql":
        # One statement of four arrays instead of a Cell instance and five
        # prepared values per cell (docs/benchmarks.md has the figures).
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {q(Cell._meta.db_table)} (stream_id, row_id, col_id, value, last_seq)"
                " SELECT %s, * FROM unnest(%s::varchar[], %s::varchar[], %s::text[], %s::bigint[])"
                " ON CONFLICT (stream_id, row_id, col_id)"
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
            Cell(stream_id=stream_id, row_id=row_id, col_id=col_id, value=state.value, last_seq=state.last_seq)
            for (row_id, col_id), state in cells.items()
        ],
        update_conflicts=True,
        unique_fields=["stream", "row_id", "col_id"],
        update_fields=["value", "last_seq"],
        batch_size=5000,
    )


_DELETE_CHUNK = 5000


def drop_cells(*, stream_id: int, row_ids: Iterable[str] = (), col_ids: Iterable[str] = ()) -> None:
    """Delete the cells of deleted rows and columns."""
    for field, ids in (("row_id", list(row_ids)), ("col_id", list(col_ids))):
        if not ids:
            continue
        if connection.vendor == "postgresql":
            # One array parameter instead of thousands of bound ones (docs/benchmarks.md, "Structure").
            with connection.cursor() as cursor:
                cursor.execute(
                    f"DELETE FROM {connection.ops.quote_name(Cell._meta.db_table)}"
                    f" WHERE stream_id = %s AND {field} = ANY(%s::varchar[])",
                    [stream_id, ids],
                )
            continue
        for start in range(0, len(ids), _DELETE_CHUNK):
            Cell.objects.filter(stream_id=stream_id, **{f"{field}__in": ids[start : start + _DELETE_CHUNK]}).delete()


def store_order(*, stream_id: int, seq: int, hash: str, rows: Axis | None = None, cols: Axis | None = None) -> None:
    """Store the order of the rows and/or the columns (those that changed) as of event ``seq``, whose hash is ``hash``.

    The writer keeps what it stored in this process's cache of decoded
    orders (selectors.remember_order): the next edit need not decode it.
    """
    for prefix, axis in ((ROW_PREFIX, rows), (COL_PREFIX, cols)):
        if axis is not None:
            # An upsert, not update_or_create: that one reads back how many
            # rows its UPDATE changed, which a pipelined write (ledger.db)
            # learns only at its end.
            (order,) = Order.objects.bulk_create(
                [Order(stream_id=stream_id, axis=prefix, seq=seq, hash=hash, count=len(axis), runs=axis.encode())],
                update_conflicts=True, unique_fields=["stream", "axis"], update_fields=["seq", "hash", "count", "runs"],
            )
            assert order.pk is not None
            remember_order(stream_id=stream_id, prefix=prefix, key=(order.pk, seq, hash), axis=axis)


def sheet_at_filling_cache(*, stream_id: int, seq: int) -> Shaped:
    """Return the sheet right after event ``seq``, storing the snapshots the fold passes that are due.

    Time travel as a page does it: selectors.sheet_at folds, and the
    snapshots it leaves behind (snapshots.snapshots_due says which, and why)
    make the next trip near there quick. A write, so a service.
    """
    start = nearest_snapshot(stream_id=stream_id, seq=seq)[0]
    due = snapshots_due(start=start, seq=seq, every=snapshot_interval())

    def store(at: int, state: Shaped) -> None:
        if at in due:
            record_snapshots(stream_id=stream_id, snapshots=[(at, state)])

    return sheet_at(stream_id=stream_id, seq=seq, checkpoint=store)


def refresh_cell_statistics() -> None:
    """Have PostgreSQL's planner count a large batch of new cells now, not when autovacuum's analyze gets to it.

    Right after a file of a million cells is imported, the statistics still
    describe the table before it: the planner then reads a window of rows
    by scanning every cell of the sheet instead of the (stream, row_id,
    col_id) index, ten times slower for the first viewers
    (docs/benchmarks.md, "Grid"). ANALYZE samples the table (about 30,000
    rows), a fraction of a second. Elsewhere (SQLite) nothing is done.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(Cell._meta.db_table)}")
