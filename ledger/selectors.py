"""Reads of the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

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
