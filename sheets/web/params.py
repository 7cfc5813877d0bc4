"""Parsing query parameters of the API and the pages, and the one answer to a bad one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.http import JsonResponse, QueryDict
from django.utils.dateparse import parse_datetime

from ledger.hashing import TYPE_FIELDS
from ledger.models import Stream
from ledger.notation import parse_a1
from ledger.selectors import EventFilter
from projections.axis import Axis
from projections.selectors import order_now
from sheets.models import ID_PATTERN


@dataclass(frozen=True, slots=True)
class CellRange:
    """A rectangle of cells by position, bounds included (a single cell when top == bottom and left == right)."""

    top: int
    left: int
    bottom: int
    right: int


class BadParameter(ValueError):
    """A query parameter that cannot be used; answered with 400."""


def json_error(status: int, message: str) -> JsonResponse:
    """The JSON error answer of every view: ``{"error": message}``."""
    return JsonResponse({"error": message}, status=status)


def bad_parameter(exc: BadParameter) -> JsonResponse:
    """Answer a bad parameter, of an API call or of a page, with 400 and the reason as JSON."""
    return json_error(400, str(exc))


def int_param(query: QueryDict, name: str, *, default: int | None = None, minimum: int = 0,
              maximum: int | None = None) -> int | None:
    raw = query.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be an integer, got {raw[:40]!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"from {minimum} to {maximum}" if maximum is not None else f"at least {minimum}"
        raise BadParameter(f"{name} must be {bounds}, got {value}")
    return value


def time_param(query: QueryDict, name: str) -> datetime | None:
    raw = query.get(name, "")
    if raw == "":
        return None
    try:
        moment = parse_datetime(raw)
    except ValueError:
        moment = None
    if moment is None:
        raise BadParameter(f"{name} must be an ISO 8601 time such as 2026-11-24T14:00:00Z, got {raw[:40]!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def user_param(query: QueryDict, name: str = "user") -> int | None:
    """Accept a user's pk (digits) or username; an unknown user is an error, not an empty result."""
    raw = query.get(name, "").strip()
    if raw == "":
        return None
    User = get_user_model()
    if raw.isdigit():
        return int(raw)
    pk = User.objects.filter(username=raw).values_list("pk", flat=True).first()
    if pk is None:
        raise BadParameter(f"no user named {raw[:40]!r}")
    return pk


def id_param(query: QueryDict, name: str) -> str | None:
    raw = query.get(name, "")
    if raw == "":
        return None
    if not ID_PATTERN.fullmatch(raw):
        raise BadParameter(f"{name} must be an id (1 to 36 of A-Z a-z 0-9 _ -), got {raw[:40]!r}")
    return raw


def types_param(query: QueryDict, name: str = "type") -> tuple[str, ...] | None:
    """Accept one event type or several, comma-separated (``RowsInserted,RowsDeleted``)."""
    raw = query.get(name, "").strip()
    if raw == "":
        return None
    types = tuple(part.strip() for part in raw.split(","))
    unknown = [kind for kind in types if kind not in TYPE_FIELDS]
    if unknown:
        raise BadParameter(f"{name} must be one or more of {', '.join(TYPE_FIELDS)}, got {unknown[0][:40]!r}")
    return types


def _ids_at(axis: Axis, first: int, last: int) -> set[str]:
    """The ids of the live rows (columns) now at positions first … last (none outside the sheet)."""
    return set(axis.window(first, last - first + 1))


def event_filter(query: QueryDict, *, stream: Stream) -> EventFilter:
    """Build the audit filter from ``user``, ``row_id``, ``col_id``, ``row``, ``col``, ``cell``, ``type``, ``from``,
    ``to``, ``seq_from`` and ``seq_to``.

    ``row``, ``col`` and ``cell`` (a cell such as B4 or a range such as
    B2:D10) are positions now: they mean the rows and columns standing
    there, by id, so that they keep their whole history, from before any
    insert above them. Several of them on one axis keep what they share.
    """
    row_sets: list[set[str]] = []
    col_sets: list[set[str]] = []
    if (row_id := id_param(query, "row_id")) is not None:
        row_sets.append({row_id})
    if (col_id := id_param(query, "col_id")) is not None:
        col_sets.append({col_id})
    row, col, cells = int_param(query, "row"), int_param(query, "col"), cell_range_param(query)
    if row is not None or col is not None or cells is not None:
        layout = order_now(stream=stream)
        if row is not None:
            row_sets.append(_ids_at(layout.rows, row, row))
        if col is not None:
            col_sets.append(_ids_at(layout.cols, col, col))
        if cells is not None:
            row_sets.append(_ids_at(layout.rows, cells.top, cells.bottom))
            col_sets.append(_ids_at(layout.cols, cells.left, cells.right))
    filters = EventFilter(
        user_id=user_param(query),
        row_ids=tuple(sorted(set.intersection(*row_sets))) if row_sets else None,
        col_ids=tuple(sorted(set.intersection(*col_sets))) if col_sets else None,
        types=types_param(query),
        recorded_from=time_param(query, "from"),
        recorded_to=time_param(query, "to"),
        seq_from=int_param(query, "seq_from"),
        seq_to=int_param(query, "seq_to"),
    )
    if filters.recorded_from and filters.recorded_to and filters.recorded_from > filters.recorded_to:
        raise BadParameter("from must not be later than to")
    return filters


def cell_range_param(query: QueryDict, name: str = "cell") -> CellRange | None:
    """Parse a cell (``B4``) or a range of cells (``B2:D10``, corners in any order)."""
    raw = query.get(name, "").strip()
    if raw == "":
        return None
    corners = raw.split(":")
    if len(corners) > 2:
        raise BadParameter(f"{name} must be a cell such as B4 or a range such as B2:D10, got {raw[:40]!r}")
    try:
        points = [parse_a1(corner) for corner in corners]
    except ValueError:
        raise BadParameter(f"{name} must be a cell such as B4 or a range such as B2:D10, got {raw[:40]!r}") from None
    rows = [row for row, _ in points]
    cols = [col for _, col in points]
    return CellRange(top=min(rows), left=min(cols), bottom=max(rows), right=max(cols))


def diff_bounds(query: QueryDict, *, head: int) -> tuple[int, int]:
    """Read ``from`` (required) and ``to`` (default: the head) as seqs of a diff, 0 <= from <= to <= head."""
    from_seq = int_param(query, "from", maximum=head)
    to_seq = int_param(query, "to", maximum=head, default=head)
    if from_seq is None or to_seq is None:
        raise BadParameter("from is required: the seq to compare from (0 is the empty sheet)")
    if from_seq > to_seq:
        raise BadParameter(f"from ({from_seq}) must not be after to ({to_seq})")
    return from_seq, to_seq
