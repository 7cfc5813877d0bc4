"""Reads of the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connections
from django.db.models import F, Func, QuerySet, TextField
from django.db.models.functions import Cast

from ledger.hashing import format_timestamp
from ledger.models import Event
from sheets.models import Sheet


def _events(sheet_id: int) -> QuerySet[Event]:
    return Event.objects.filter(sheet_id=sheet_id).select_related("broadcaster").order_by("seq")


def sheet_head(*, sheet_id: int) -> int:
    """Return the sheet's last committed seq."""
    return Sheet.objects.filter(pk=sheet_id).values_list("head", flat=True).get()


def events_after(*, sheet_id: int, after: int, limit: int, upto: int | None = None) -> list[Event]:
    """Return up to ``limit`` events with ``after < seq <= upto``, ascending."""
    queryset = _events(sheet_id).filter(seq__gt=after)
    if upto is not None:
        queryset = queryset.filter(seq__lte=upto)
    return list(queryset[:limit])


# seq, row, col, old_value, new_value, broadcaster_id, broadcaster's username,
# client_event_id (hyphenated), recorded_at (as ledger.hashing.format_timestamp).
EventRow = tuple[int, int, int, str, str, int, str, str, str]

_ROW_FIELDS = ("seq", "row", "col", "old_value", "new_value", "broadcaster_id")


class _UtcTimestampText(Func):
    """A timestamptz as format_timestamp renders it ("YYYY-MM-DDTHH:MM:SS.ffffffZ"), formatted by PostgreSQL.

    With Django's tz loader in place psycopg parses every timestamptz in
    Python, which was the largest part of a replay's time; text is loaded
    in C and is already the string the protocol sends.
    """

    template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    output_field = TextField()


def event_rows_after(*, sheet_id: int, after: int, limit: int, upto: int | None = None) -> list[EventRow]:
    """Return up to ``limit`` events with ``after < seq <= upto``, ascending, as plain rows (see EventRow).

    The replay path: the same events as events_after without building a
    model instance per event.
    """
    queryset = Event.objects.filter(sheet_id=sheet_id, seq__gt=after)
    if upto is not None:
        queryset = queryset.filter(seq__lte=upto)
    # What event.broadcaster.get_username() returns, joined in the same query.
    username_field = f"broadcaster__{get_user_model().USERNAME_FIELD}"
    queryset = queryset.order_by("seq")
    if connections[queryset.db].vendor == "postgresql":
        return list(
            queryset.annotate(
                cid_text=Cast("client_event_id", TextField()), at_text=_UtcTimestampText(F("recorded_at"))
            ).values_list(*_ROW_FIELDS, username_field, "cid_text", "at_text")[:limit]
        )
    # Elsewhere (SQLite) the column forms differ (a UUID as 32 hex digits,
    # microseconds omitted when zero): convert the loaded values in Python.
    rows = queryset.values_list(*_ROW_FIELDS, username_field, "client_event_id", "recorded_at")[:limit]
    return [
        (seq, row, col, old, new, uid, username, str(cid), format_timestamp(at))
        for seq, row, col, old, new, uid, username, cid, at in rows
    ]


@dataclass(frozen=True, slots=True)
class EventFilter:
    """The audit filters of the events API and the history page; None means "any"."""

    user_id: int | None = None
    row: int | None = None
    col: int | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None
    seq_from: int | None = None
    seq_to: int | None = None


def filtered_events(*, sheet_id: int, filters: EventFilter) -> QuerySet[Event]:
    """Return the sheet's events matching every given filter, ascending by seq."""
    queryset = _events(sheet_id)
    if filters.user_id is not None:
        queryset = queryset.filter(broadcaster_id=filters.user_id)
    if filters.row is not None:
        queryset = queryset.filter(row=filters.row)
    if filters.col is not None:
        queryset = queryset.filter(col=filters.col)
    if filters.recorded_from is not None:
        queryset = queryset.filter(recorded_at__gte=filters.recorded_from)
    if filters.recorded_to is not None:
        queryset = queryset.filter(recorded_at__lte=filters.recorded_to)
    if filters.seq_from is not None:
        queryset = queryset.filter(seq__gte=filters.seq_from)
    if filters.seq_to is not None:
        queryset = queryset.filter(seq__lte=filters.seq_to)
    return queryset


def events_page(*, sheet_id: int, filters: EventFilter, after: int, limit: int) -> tuple[list[Event], int | None]:
    """Return one keyset page of filtered events after ``after`` and the ``after`` of the next page."""
    page = list(filtered_events(sheet_id=sheet_id, filters=filters).filter(seq__gt=after)[: limit + 1])
    if len(page) > limit:
        return page[:limit], page[limit - 1].seq
    return page, None
