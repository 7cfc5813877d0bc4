"""Reads of the ledger."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.contrib.auth import get_user_model
from django.db import connections, router
from django.db.models import F, Func, Q, QuerySet, TextField
from django.db.models.functions import Cast

from ledger.hashing import (
    CELL_CHANGED,
    COL_PREFIX,
    COLUMNS_DELETED,
    COLUMNS_INSERTED,
    ROW_PREFIX,
    ROWS_DELETED,
    ROWS_INSERTED,
    LedgerRecord,
)
from ledger.models import Event, Stream
from ledger.serialization import RECORD_COLUMNS, EventRow, record_from_row


def _events(stream_id: int) -> QuerySet[Event]:
    return Event.objects.filter(stream_id=stream_id).select_related("broadcaster").order_by("seq")


def stream_head(*, stream_id: int) -> int:
    """Return the stream's last committed seq."""
    return Stream.objects.filter(pk=stream_id).values_list("head", flat=True).get()


def stream_heads(stream_ids: Iterable[int]) -> dict[int, int]:
    """Return the last committed seq of each stream that exists, by id, in one query."""
    return dict(Stream.objects.filter(pk__in=list(stream_ids)).values_list("pk", "head"))


def streams_named(name: str | None) -> QuerySet[Stream]:
    """Return every stream by name, or the one named ``name`` (possibly none)."""
    streams = Stream.objects.order_by("name")
    return streams if name is None else streams.filter(name=name)


def events_after(*, stream_id: int, after: int, limit: int, upto: int | None = None) -> list[Event]:
    """Return up to ``limit`` events with ``after < seq <= upto``, ascending."""
    queryset = _events(stream_id).filter(seq__gt=after)
    if upto is not None:
        queryset = queryset.filter(seq__lte=upto)
    return list(queryset[:limit])


# The record's columns with the two that PostgreSQL renders as text itself.
_TEXT_COLUMNS = tuple(
    {"client_event_id": "cid_text", "recorded_at": "at_text"}.get(column, column) for column in RECORD_COLUMNS
)


class _UtcTimestampText(Func):
    """A timestamptz as format_timestamp renders it ("YYYY-MM-DDTHH:MM:SS.ffffffZ"), formatted by PostgreSQL.

    With Django's tz loader in place psycopg parses every timestamptz in
    Python, once per event of a replay; text is loaded in C and is already
    the string the protocol sends.
    """

    template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    output_field = TextField()


def _replay_queryset(queryset: QuerySet[Event], *, after: int, upto: int | None) -> QuerySet[Event]:
    queryset = queryset.filter(seq__gt=after)
    if upto is not None:
        queryset = queryset.filter(seq__lte=upto)
    return queryset.order_by("seq")


def _username_field() -> str:
    """What event.broadcaster.get_username() returns, joined in the same query."""
    return f"broadcaster__{get_user_model().USERNAME_FIELD}"


# Stand-ins for the parameters while the statement is compiled: each found
# again in the compiled statement's parameters names the value to put there.
_MARKS = {"stream_id": -1_000_001, "after": -1_000_002, "upto": -1_000_003}


@lru_cache(maxsize=16)
def _replay_statement(alias: str, limit: int, bounded: bool) -> tuple[str, tuple[str, ...]]:
    """The replay's statement on PostgreSQL, compiled by the ORM once per process, and its parameters' names in order.

    A replay runs it once per frame; building and compiling the queryset
    each time cost about as much as the database answering it.
    """
    queryset = _replay_queryset(
        Event.objects.using(alias).filter(stream_id=_MARKS["stream_id"]),
        after=_MARKS["after"], upto=_MARKS["upto"] if bounded else None,
    )
    as_text = queryset.annotate(
        cid_text=Cast("client_event_id", TextField()), at_text=_UtcTimestampText(F("recorded_at"))
    ).values_list(*_TEXT_COLUMNS, _username_field())[:limit]
    sql, params = as_text.query.sql_with_params()
    names = {mark: name for name, mark in _MARKS.items()}
    return sql, tuple(names[param] for param in params)


def event_rows_after(*, stream_id: int, after: int, limit: int, upto: int | None = None) -> list[EventRow]:
    """Return up to ``limit`` events with ``after < seq <= upto``, ascending, as plain rows (see EventRow).

    The replay path: the same events as events_after without building a
    model instance per event.
    """
    alias = router.db_for_read(Event)
    if connections[alias].vendor == "postgresql":
        sql, names = _replay_statement(alias, limit, upto is not None)
        values = {"stream_id": stream_id, "after": after, "upto": upto}
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, [values[name] for name in names])
            return [(LedgerRecord._make(row[:-1]), row[-1]) for row in cursor.fetchall()]
    # Elsewhere (SQLite) the column forms differ (a UUID as 32 hex digits,
    # microseconds omitted when zero): convert the loaded values in Python.
    queryset = _replay_queryset(Event.objects.filter(stream_id=stream_id), after=after, upto=upto)
    rows = queryset.values_list(*RECORD_COLUMNS, _username_field())[:limit]
    return [(record_from_row(row[:-1]), row[-1]) for row in rows]


@dataclass(frozen=True, slots=True)
class EventFilter:
    """The audit filters of the events API and the history page; None means "any".

    ``row_ids`` keeps the events that touch any of those rows: their cell
    changes (an event written before rows had ids by its position, the
    row's implicit id) and the insert and the delete of them; ``col_ids``
    likewise, and both together the cell changes in those rows and columns.
    """

    user_id: int | None = None
    row_ids: tuple[str, ...] | None = None
    col_ids: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None
    recorded_from: datetime | None = None
    recorded_to: datetime | None = None
    seq_from: int | None = None
    seq_to: int | None = None


# Beyond this many ids, a filter keeps only their cell changes: one LIKE per
# id over the structure events' id lists would make the query unbounded.
STRUCTURE_MATCH_IDS = 100


def _implicit_positions(ids: tuple[str, ...], prefix: str) -> list[int]:
    pattern = re.compile(rf"{prefix}(0|[1-9][0-9]{{0,8}})")
    return [int(id_[1:]) for id_ in ids if pattern.fullmatch(id_)]


def _cells_in(ids: tuple[str, ...], *, field: str, position: str, prefix: str) -> Q:
    """Cell changes in any of these rows (columns), those written before ids by the position the id stands for."""
    match = Q(**{f"{field}__in": ids})
    implicit = _implicit_positions(ids, prefix)
    if implicit:
        match |= Q(**{f"{field}__isnull": True, f"{position}__in": implicit})
    return Q(type=CELL_CHANGED) & match


def _structure_of(ids: tuple[str, ...], types: tuple[str, str]) -> Q:
    """The inserts and deletes that name any of these ids."""
    match = Q(pk__in=[])
    for id_ in ids[:STRUCTURE_MATCH_IDS]:
        match |= Q(ids__contains=json.dumps(id_))
    return Q(type__in=types) & match


def filtered_events(*, stream_id: int, filters: EventFilter) -> QuerySet[Event]:
    """Return the stream's events matching every given filter, ascending by seq."""
    queryset = _events(stream_id)
    if filters.user_id is not None:
        queryset = queryset.filter(broadcaster_id=filters.user_id)
    rows, cols = filters.row_ids, filters.col_ids
    if rows is not None and cols is not None:
        queryset = queryset.filter(
            _cells_in(rows, field="row_id", position="row", prefix=ROW_PREFIX)
            & _cells_in(cols, field="col_id", position="col", prefix=COL_PREFIX)
        )
    elif rows is not None:
        queryset = queryset.filter(
            _cells_in(rows, field="row_id", position="row", prefix=ROW_PREFIX)
            | _structure_of(rows, (ROWS_INSERTED, ROWS_DELETED))
        )
    elif cols is not None:
        queryset = queryset.filter(
            _cells_in(cols, field="col_id", position="col", prefix=COL_PREFIX)
            | _structure_of(cols, (COLUMNS_INSERTED, COLUMNS_DELETED))
        )
    if filters.types is not None:
        queryset = queryset.filter(type__in=filters.types)
    if filters.recorded_from is not None:
        queryset = queryset.filter(recorded_at__gte=filters.recorded_from)
    if filters.recorded_to is not None:
        queryset = queryset.filter(recorded_at__lte=filters.recorded_to)
    if filters.seq_from is not None:
        queryset = queryset.filter(seq__gte=filters.seq_from)
    if filters.seq_to is not None:
        queryset = queryset.filter(seq__lte=filters.seq_to)
    return queryset


def events_page(*, stream_id: int, filters: EventFilter, after: int, limit: int) -> tuple[list[Event], int | None]:
    """Return one keyset page of filtered events after ``after`` and the ``after`` of the next page."""
    page = list(filtered_events(stream_id=stream_id, filters=filters).filter(seq__gt=after)[: limit + 1])
    if len(page) > limit:
        return page[:limit], page[limit - 1].seq
    return page, None
