"""Periodic snapshots of the projection, so that time travel never folds from seq 1.

When they are taken: never on the append path (it must stay as short as
the row lock allows). ``rebuild_projections`` drops them all (they are a
cache); with ``--snapshots`` it takes one at every multiple of
``SHEETS_SNAPSHOT_EVERY``. Time travel (services.cells_at_filling_cache)
stores a few at the multiples its fold passes (``snapshots_due``): the
last one, so that a second trip there is quick, and a handful spread over
the way, so that a trip anywhere earlier folds at most a fraction of the
distance. Storing all of them would make a first long trip write a copy
of every cell at every multiple it passes; storing only the last would
leave a trip just below it folding from the far start.

A snapshot is the whole state the fold needs (projections.structure.Shaped):
the order of rows and of columns, tombstones included, and the non-empty
cells by id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings

from ledger.hashing import COL_PREFIX, ROW_PREFIX
from ledger.models import Stream
from projections.axis import Axis
from projections.fold import CellState
from projections.models import ProjectionSnapshot
from projections.structure import Shaped, fold

DEFAULT_INTERVAL = 10_000


def snapshot_interval() -> int:
    """Return how many events lie between two snapshots."""
    return max(1, int(getattr(settings, "SHEETS_SNAPSHOT_EVERY", DEFAULT_INTERVAL)))


def encode(state: Shaped) -> dict[str, Any]:
    """Render the state as the stored document: both orders and the non-empty ``[row_id, col_id, value, last_seq]``."""
    cells = [
        [coord[0], coord[1], cell.value, cell.last_seq]
        for coord, cell in sorted(state.cells.items())
        if cell.value != ""
    ]
    return {"rows": state.rows.encode(), "cols": state.cols.encode(), "cells": cells}


def decode(data: Mapping[str, Any]) -> Shaped:
    """Read a stored document back (ValueError, KeyError or TypeError if it is not one)."""
    return Shaped(
        rows=Axis.decode(ROW_PREFIX, data["rows"]),
        cols=Axis.decode(COL_PREFIX, data["cols"]),
        cells={
            (str(row_id), str(col_id)): CellState(value=str(value), last_seq=int(last_seq))
            for row_id, col_id, value, last_seq in data["cells"]
        },
    )


def same_state(one: Shaped, other: Shaped) -> bool:
    """Whether two states show the same sheet: order, tombstones and non-empty cells."""
    return (
        one.rows.encode() == other.rows.encode()
        and one.cols.encode() == other.cols.encode()
        and {k: v for k, v in one.cells.items() if v.value} == {k: v for k, v in other.cells.items() if v.value}
    )


SPREAD = 8


def snapshots_due(*, start: int, seq: int, every: int, most: int = SPREAD) -> set[int]:
    """Return the multiples of ``every`` in (start, seq] a fold should store: at most ``most``, the last included."""
    first, last = (start // every + 1) * every, (seq // every) * every
    if first > last:
        return set()
    count = (last - first) // every + 1
    return {first + ((count - 1) * i // most) * every for i in range(1, most + 1)}


def created_state(*, stream_id: int) -> Shaped:
    """The stream's state before its first event: the rows and columns it was created with."""
    rows, cols = Stream.objects.values_list("rows", "cols").get(pk=stream_id)
    return Shaped.created(rows=rows, cols=cols)


def nearest_snapshot(*, stream_id: int, seq: int) -> tuple[int, Shaped]:
    """Return the latest snapshot at or before ``seq`` as (its seq, its state), or (0, the state as created)."""
    found = (
        ProjectionSnapshot.objects.filter(stream_id=stream_id, seq__lte=seq)
        .order_by("-seq")
        .values_list("seq", "cells")
        .first()
    )
    if found is None:
        return 0, created_state(stream_id=stream_id)
    return found[0], decode(found[1])


def fold_with_checkpoints(
    events: Iterable[Mapping[str, Any]], state: Shaped, *, every: int, checkpoint: Callable[[int, Shaped], None] | None
) -> Shaped:
    """Fold ascending events onto ``state``, calling ``checkpoint(seq, state)`` after every multiple of ``every``."""
    if checkpoint is None:
        return fold(events, state)
    batch: list[Mapping[str, Any]] = []
    for event in events:
        batch.append(event)
        if event["seq"] % every == 0:
            state = fold(batch, state)
            batch = []
            checkpoint(event["seq"], state)
    return fold(batch, state)


def record_snapshots(*, stream_id: int, snapshots: Sequence[tuple[int, Shaped]]) -> int:
    """Store snapshots that are not stored yet; return how many were given."""
    if not snapshots:
        return 0
    rows = [ProjectionSnapshot(stream_id=stream_id, seq=seq, cells=encode(state)) for seq, state in snapshots]
    # Two readers folding past the same multiple at once store the same
    # derived state: whichever commits second has nothing to add.
    ProjectionSnapshot.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
