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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings

from projections.fold import Cells, CellState, FoldableEvent, fold
from projections.models import ProjectionSnapshot

DEFAULT_INTERVAL = 10_000


def snapshot_interval() -> int:
    """Return how many events lie between two snapshots."""
    return max(1, int(getattr(settings, "SHEETS_SNAPSHOT_EVERY", DEFAULT_INTERVAL)))


def encode(cells: Cells) -> list[list[Any]]:
    """Render non-empty cells as the stored ``[row, col, value, last_seq]`` list, row-major."""
    # Sorting the coordinates alone and skipping cleared cells on the way
    # halves the time of sorted(non_empty(cells).items()) on a large sheet,
    # and every stored snapshot pays it.
    rendered = []
    for coord in sorted(cells):
        state = cells[coord]
        if state.value != "":
            rendered.append([coord[0], coord[1], state.value, state.last_seq])
    return rendered


def decode(data: Sequence[Sequence[Any]]) -> Cells:
    """Read the stored list back into cells."""
    return {(int(row), int(col)): CellState(value=str(value), last_seq=int(last_seq)) for row, col, value, last_seq in data}


SPREAD = 8


def snapshots_due(*, start: int, seq: int, every: int, most: int = SPREAD) -> set[int]:
    """Return the multiples of ``every`` in (start, seq] a fold should store: at most ``most``, the last included."""
    first, last = (start // every + 1) * every, (seq // every) * every
    if first > last:
        return set()
    count = (last - first) // every + 1
    return {first + ((count - 1) * i // most) * every for i in range(1, most + 1)}


def nearest_snapshot(*, stream_id: int, seq: int) -> tuple[int, Cells]:
    """Return the latest snapshot at or before ``seq`` as (its seq, its cells), or (0, no cells)."""
    found = (
        ProjectionSnapshot.objects.filter(stream_id=stream_id, seq__lte=seq)
        .order_by("-seq")
        .values_list("seq", "cells")
        .first()
    )
    if found is None:
        return 0, {}
    return found[0], decode(found[1])


def fold_with_checkpoints(
    events: Iterable[FoldableEvent], cells: Cells, *, every: int, checkpoint: Callable[[int, Cells], None] | None
) -> Cells:
    """Fold ascending events onto ``cells``, calling ``checkpoint(seq, cells)`` after every multiple of ``every``."""
    if checkpoint is None:
        return fold(events, cells)
    batch: list[FoldableEvent] = []
    for event in events:
        batch.append(event)
        if event.seq % every == 0:
            cells = fold(batch, cells)
            batch = []
            checkpoint(event.seq, cells)
    return fold(batch, cells)


def record_snapshots(*, stream_id: int, snapshots: Sequence[tuple[int, Cells]]) -> int:
    """Store snapshots that are not stored yet; return how many were given."""
    if not snapshots:
        return 0
    rows = [ProjectionSnapshot(stream_id=stream_id, seq=seq, cells=encode(cells)) for seq, cells in snapshots]
    # Two readers folding past the same multiple at once store the same
    # derived state: whichever commits second has nothing to add.
    ProjectionSnapshot.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
