"""Reads for the auditor: keyset pages newest first, export batches, activity over time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Min, QuerySet
from django.db.models.functions import Trunc

from ledger.hashing import LedgerRecord
from ledger.models import Event
from ledger.selectors import EventFilter, filtered_events
from ledger.serialization import RECORD_COLUMNS, record_from_row


def audit_events(*, stream_id: int, filters: EventFilter) -> QuerySet[Event]:
    """Return the filtered events of the stream, ascending by seq."""
    return filtered_events(stream_id=stream_id, filters=filters)


@dataclass(frozen=True, slots=True)
class HistoryPage:
    events: list[Event]  # newest first
    newer: int | None  # the ``after`` cursor of the page of newer events, None on the newest page
    older: int | None  # the ``before`` cursor of the page of older events, None on the oldest page


def history_page(
    *,
    stream_id: int,
    filters: EventFilter,
    limit: int,
    before: int | None = None,
    after: int | None = None,
) -> HistoryPage:
    """Return one page of filtered events, newest first: below ``before``, or just above ``after``.

    Keyset, not OFFSET: each page is an index range scan from a seq, as
    quick on page 10,000 of a million events as on page 1.
    """
    queryset = audit_events(stream_id=stream_id, filters=filters)
    if after is not None:
        rows = list(queryset.filter(seq__gt=after).order_by("seq")[: limit + 1])
        has_newer = len(rows) > limit
        rows = rows[:limit][::-1]
        has_older = queryset.filter(seq__lte=after).exists()
    else:
        below = queryset if before is None else queryset.filter(seq__lt=before)
        rows = list(below.order_by("-seq")[: limit + 1])
        has_older = len(rows) > limit
        rows = rows[:limit]
        has_newer = before is not None and queryset.filter(seq__gte=before).exists()
    if not rows:
        # Past either end: offer the way back from where the reader stands.
        newer = before - 1 if has_newer and before is not None else None
        older = after + 1 if has_older and after is not None else None
        return HistoryPage(events=[], newer=newer, older=older)
    return HistoryPage(
        events=rows,
        newer=rows[0].seq if has_newer else None,
        older=rows[-1].seq if has_older else None,
    )


def export_batch(*, stream_id: int, filters: EventFilter, after: int, upto: int,
                 size: int) -> list[tuple[LedgerRecord, str]]:
    """Return the next ``size`` filtered events with ``after < seq <= upto``, ascending, with their user's name.

    Plain records, not model instances: two instances per row (the event and
    its user) would be built only to read their fields back, a million
    times over for a long ledger.
    """
    queryset = audit_events(stream_id=stream_id, filters=filters)
    rows = queryset.filter(seq__gt=after, seq__lte=upto).values_list(*RECORD_COLUMNS, "broadcaster__username")
    return [(record_from_row(row[:-1]), row[-1]) for row in rows[:size]]


BUCKETS: list[tuple[str, timedelta]] = [
    ("minute", timedelta(minutes=1)),
    ("hour", timedelta(hours=1)),
    ("day", timedelta(days=1)),
    ("week", timedelta(weeks=1)),
    ("month", timedelta(days=31)),
    ("year", timedelta(days=366)),
]
MAX_BUCKETS = 90


@dataclass(frozen=True, slots=True)
class Activity:
    """Edits per time bucket and user, for the activity chart."""

    kind: str  # the Trunc kind of the buckets: minute, hour, day, week, month or year
    buckets: list[datetime]
    users: list[str]
    counts: dict[tuple[datetime, str], int]


def bucket_kind(first: datetime, last: datetime) -> str:
    """Return the finest bucket that spans first..last in at most MAX_BUCKETS buckets."""
    span = last - first
    for kind, width in BUCKETS:
        if span <= width * MAX_BUCKETS:
            return kind
    return BUCKETS[-1][0]


def activity(*, stream_id: int, filters: EventFilter) -> Activity:
    """Count the filtered events per time bucket and user, with buckets sized to the range."""
    queryset = audit_events(stream_id=stream_id, filters=filters).order_by()
    bounds = queryset.aggregate(first=Min("recorded_at"), last=Max("recorded_at"))
    if bounds["first"] is None:
        return Activity(kind="day", buckets=[], users=[], counts={})
    kind = bucket_kind(bounds["first"], bounds["last"])
    rows = (
        queryset.annotate(bucket=Trunc("recorded_at", kind))
        .values_list("bucket", "broadcaster_id")
        .annotate(n=Count("id"))
    )
    by_id = {(bucket, user_id): n for bucket, user_id, n in rows}
    # Names are looked up once afterwards: grouping by the id avoids joining
    # the users table onto every event of the range.
    names = dict(
        get_user_model().objects.filter(pk__in={user_id for _, user_id in by_id}).values_list("pk", "username")
    )
    counts = {(bucket, names[user_id]): n for (bucket, user_id), n in by_id.items()}
    return Activity(
        kind=kind,
        buckets=sorted({bucket for bucket, _ in counts}),
        users=sorted({user for _, user in counts}),
        counts=counts,
    )
