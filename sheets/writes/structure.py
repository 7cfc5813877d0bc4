"""Judging a structure request (StructureRequest): an insert or delete of rows or columns.

check_structure_shape refuses what is wrong with the request alone (its ids);
judge_insert and judge_delete judge it against an axis of the sheet as the
operations before it left it, and give back that axis changed. The write
path (sheets.writes.edits) calls them inside its transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from ledger.hashing import ROWS_DELETED, ROWS_INSERTED
from projections.axis import Axis, NotInAxis
from sheets.exceptions import EditRejected, IdTaken, InvalidEdit, NoSuchCol, NoSuchRow, TooLarge, TooManyChanges
from sheets.models import ID_PATTERN, MAX_STRUCTURE_IDS

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True, slots=True)
class StructureRequest:
    """One insert or delete of rows or columns waiting to be appended: one event of ``type``."""

    user: User
    client_event_id: uuid.UUID
    type: str  # ledger.hashing.ROWS_INSERTED, ROWS_DELETED, COLUMNS_INSERTED or COLUMNS_DELETED
    ids: tuple[str, ...]
    after: str | None = None

    @property
    def size(self) -> int:
        return len(self.ids)


def check_structure_shape(request: StructureRequest) -> None:
    """Refuse a structure change of no id, of more than MAX_STRUCTURE_IDS, or of an id that is not one."""
    noun = "rows" if request.type in (ROWS_INSERTED, ROWS_DELETED) else "columns"
    if not request.ids:
        raise InvalidEdit(f"name at least one of the {noun}")
    if len(request.ids) > MAX_STRUCTURE_IDS:
        raise TooManyChanges(f"one operation names at most {MAX_STRUCTURE_IDS} {noun}, got {len(request.ids)}")
    for id_ in (*request.ids, *([request.after] if request.after is not None else [])):
        if not isinstance(id_, str) or not ID_PATTERN.fullmatch(id_):
            raise InvalidEdit(f"{id_!r} is not an id: 1 to 36 letters, digits, '_' or '-'")


def _no_such(on_rows: bool, message: str, ids: Sequence[str]) -> EditRejected:
    if on_rows:
        return NoSuchRow(message, row_ids=sorted(set(ids)))
    return NoSuchCol(message, col_ids=sorted(set(ids)))


def judge_insert(request: StructureRequest, axis: Axis, *, on_rows: bool) -> tuple[Axis, int]:
    """Return the axis with the new ids and the position of the first, or refuse the insert."""
    noun, limit = ("rows", settings.SHEETS_MAX_ROWS) if on_rows else ("columns", settings.SHEETS_MAX_COLS)
    if request.after is not None and not axis.has_ever(request.after):
        raise _no_such(on_rows, f"there never was a {noun[:-1]} {request.after!r} to insert after", [request.after])
    seen: set[str] = set()
    taken = set()
    for id_ in request.ids:
        if id_ in seen or axis.has_ever(id_):
            taken.add(id_)
        seen.add(id_)
    if taken:
        raise IdTaken(f"these {noun[:-1]} ids are used already (an id is never reused)", ids=sorted(taken))
    if len(axis) + len(request.ids) > limit:
        raise TooLarge(f"a sheet holds at most {limit:,} {noun}; it has {len(axis):,} and the insert adds {len(request.ids):,}")
    return axis.insert(after=request.after, ids=request.ids)


def judge_delete(request: StructureRequest, axis: Axis, *, on_rows: bool) -> tuple[Axis, list[int]]:
    """Return the axis without the ids and their positions just before, or refuse the delete."""
    noun = "rows" if on_rows else "columns"
    if len(set(request.ids)) != len(request.ids):
        twice = sorted({id_ for id_ in request.ids if request.ids.count(id_) > 1})
        raise InvalidEdit(f"the delete names {', '.join(twice)} more than once")
    try:
        return axis.delete(request.ids)
    except NotInAxis as exc:
        raise _no_such(on_rows, f"the delete names {noun} that do not exist or were deleted already", exc.args[0]) from None
