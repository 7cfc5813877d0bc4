"""Reading and writing the cells table from inside the ledger's transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import connection

from projections.fold import Cells, CellState, Coord
from projections.models import Cell


def load_cells(*, sheet_id: int, coords: Iterable[Coord]) -> Cells:
    """Return the stored state of the given cells (absent cells are left out)."""
    wanted = set(coords)
    if not wanted:
        return {}
    rows = {row for row, _ in wanted}
    cols = {col for _, col in wanted}
    found: Cells = {}
    # Filter by the row and column sets in SQL, then keep exact pairs: one
    # query whatever the shape of the edit (a paste is a rectangle anyway).
    for row, col, value, last_seq in Cell.objects.filter(sheet_id=sheet_id, row__in=rows, col__in=cols).values_list(
        "row", "col", "value", "last_seq"
    ):
        if (row, col) in wanted:
            found[(row, col)] = CellState(value=value, last_seq=last_seq)
    return found


def store_cells(*, sheet_id: int, cells: Mapping[Coord, CellState]) -> None:
    """Upsert the given cell states."""
    if not cells:
        return
    if connection.vendor == "postgresql":
        # One statement of four arrays instead of a Cell instance and five
        # prepared values per cell: a third of the time for a large paste.
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {q(Cell._meta.db_table)} (sheet_id, {q('row')}, {q('col')}, value, last_seq)"
                " SELECT %s, * FROM unnest(%s::integer[], %s::integer[], %s::text[], %s::bigint[])"
                f" ON CONFLICT (sheet_id, {q('row')}, {q('col')})"
                " DO UPDATE SET value = EXCLUDED.value, last_seq = EXCLUDED.last_seq",
                [
                    sheet_id,
                    [row for row, _ in cells],
                    [col for _, col in cells],
                    [state.value for state in cells.values()],
                    [state.last_seq for state in cells.values()],
                ],
            )
        return
    Cell.objects.bulk_create(
        [
            Cell(sheet_id=sheet_id, row=row, col=col, value=state.value, last_seq=state.last_seq)
            for (row, col), state in cells.items()
        ],
        update_conflicts=True,
        unique_fields=["sheet", "row", "col"],
        update_fields=["value", "last_seq"],
    )
