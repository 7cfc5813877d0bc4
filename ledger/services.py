"""The ledger's writes: streams, and events appended to them under the stream's lock."""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, models

from ledger.compiled import CompiledRead, CompiledUpdate
from ledger.hashing import CELL_CHANGED, FORMAT_CURRENT, canonical_bytes, chain_hash, format_timestamp
from ledger.models import Event, Stream
from ledger.serialization import RECORD_COLUMNS, record_of


@dataclass(frozen=True, slots=True)
class CellChange:
    """One event to append: the cell (``row_id``, ``col_id``), now at ``row``, ``col``, going from one value to another."""

    broadcaster_id: int
    client_event_id: uuid.UUID
    row_id: str
    col_id: str
    row: int
    col: int
    old_value: str
    new_value: str

    def columns(self) -> dict[str, object]:
        return {
            "type": CELL_CHANGED, "row_id": self.row_id, "col_id": self.col_id, "row": self.row, "col": self.col,
            "old_value": self.old_value, "new_value": self.new_value,
        }


@dataclass(frozen=True, slots=True)
class StructureChange:
    """One event to append that inserts or deletes rows or columns (ledger.hashing.TYPE_FIELDS)."""

    broadcaster_id: int
    client_event_id: uuid.UUID
    type: str
    ids: tuple[str, ...]
    after: str | None = None
    row: int | None = None  # RowsInserted: the position of the first new row
    col: int | None = None  # ColumnsInserted: the position of the first new column
    positions: tuple[int, ...] = ()  # RowsDeleted, ColumnsDeleted: positions just before, ascending

    def columns(self) -> dict[str, object]:
        return {
            "type": self.type, "ids": json.dumps(list(self.ids)), "after": self.after, "row": self.row,
            "col": self.col, "positions": json.dumps(list(self.positions)) if self.positions else None,
        }


def create_stream(*, name: str, rows: int = 0, cols: int = 0) -> Stream:
    """Start an empty stream at the genesis hash, of ``rows`` rows and ``cols`` columns with implicit ids."""
    return Stream.objects.create(name=name, rows=rows, cols=cols)


# The stream's row as Stream.from_db takes it, and the statement that locks it by pk.
_STREAM_COLUMNS = [field.attname for field in Stream._meta.concrete_fields]
_LOCK = CompiledRead(lambda stream_id: Stream.objects.select_for_update().filter(pk=stream_id).values_list(*_STREAM_COLUMNS))


def _locked(found: list[tuple[Any, ...]]) -> Stream:
    if not found:
        raise Stream.DoesNotExist("Stream matching query does not exist.")
    return Stream.from_db(DEFAULT_DB_ALIAS, _STREAM_COLUMNS, found[0])


def lock_stream(*, stream_id: int) -> Stream:
    """Return the stream with its row locked until the end of the caller's transaction.

    The lock serialises appends to one stream: seqs are then handed out in
    commit order, so a reader that has seen seq N can never later meet a
    smaller seq committing behind it (docs/architecture.md, decision 1).
    It also makes idempotency checks race-free: two retries of one
    client_event_id queue here, and the second finds the first one's events.
    Raises Stream.DoesNotExist.
    """
    return _locked(_LOCK.rows(stream_id=stream_id))


@functools.cache
def _lock_of(owner: type[models.Model]) -> CompiledRead:
    return CompiledRead(
        lambda owner_id: Stream.objects.select_for_update(of=("self",))
        .filter(pk__in=owner._default_manager.filter(pk=owner_id).values("stream_id"))
        .values_list(*_STREAM_COLUMNS)
    )


def lock_stream_of(*, owner: type[models.Model], owner_id: int) -> Stream:
    """lock_stream for the stream of row ``owner_id`` of a model with a ``stream`` foreign key (a sheet's, say).

    Found and locked in one statement; raises Stream.DoesNotExist when there is no such row.
    """
    return _locked(_lock_of(owner).rows(owner_id=owner_id))


# Which client_event_ids a stream holds already: an append asks for every
# operation, and only a retry needs the events themselves.
_CLIENT_IDS_FOUND = CompiledRead(
    lambda stream_id, client_event_ids: Event.objects.filter(
        stream_id=stream_id, client_event_id__any_of=client_event_ids
    ).values_list("client_event_id")
)


def events_for_client_ids(*, stream_id: int, client_event_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[Event]]:
    """Return the stream's events made by each of these client_event_ids, ascending by seq."""
    found: dict[uuid.UUID, list[Event]] = {}
    wanted = set(client_event_ids)
    if not wanted:
        return found
    held = {client_event_id for (client_event_id,) in _CLIENT_IDS_FOUND.rows(stream_id=stream_id, client_event_ids=wanted)}
    if not held:
        return found
    for event in (
        Event.objects.filter(stream_id=stream_id, client_event_id__in=held).select_related("broadcaster").order_by("seq")
    ):
        found.setdefault(event.client_event_id, []).append(event)
    return found


def chain_events(
    *, stream: Stream, changes: Iterable[CellChange | StructureChange], recorded_at: datetime
) -> list[Event]:
    """Return the changes as the stream's next events, seq and hash set, and advance ``stream`` in memory.

    Nothing is written: ``write_events`` stores them, in the transaction
    that holds the stream's lock (``lock_stream``).
    """
    at = format_timestamp(recorded_at)
    events = []
    for change in changes:
        event = Event(
            stream=stream, seq=stream.head + 1, format=FORMAT_CURRENT, broadcaster_id=change.broadcaster_id,
            client_event_id=change.client_event_id, recorded_at=recorded_at, prev_hash=stream.head_hash,
            **change.columns(),
        )
        event.hash = chain_hash(stream.head_hash, canonical_bytes(record_of(event, recorded_at=at), sheet=stream.name))
        events.append(event)
        stream.head, stream.head_hash = event.seq, event.hash
    return events


def write_events(*, stream: Stream, events: Sequence[Event]) -> None:
    """Insert events made by chain_events and move the stored head to the last of them."""
    if not events:
        return
    _insert_events(events)
    _MOVE_HEAD.run(pk=stream.pk, head=events[-1].seq, head_hash=events[-1].hash)


_MOVE_HEAD = CompiledUpdate(Stream, where=("pk",), set=("head", "head_hash"))


@functools.cache
def _insert_sql() -> str:
    """The INSERT of _insert_events, built once: the column types come from the fields (PostgreSQL only)."""
    q = connection.ops.quote_name
    names = ", ".join(q(column) for column in RECORD_COLUMNS)
    arrays = []
    for column in RECORD_COLUMNS:
        field = Event._meta.get_field(column)
        assert isinstance(field, models.Field)
        arrays.append(f"%s::{field.db_type(connection)}[]")
    return f"INSERT INTO {q(Event._meta.db_table)} (stream_id, {names}) SELECT %s, * FROM unnest({', '.join(arrays)})"


def _insert_events(events: Sequence[Event]) -> None:
    """Insert the events in one statement (on PostgreSQL their pks are not read back)."""
    if connection.vendor != "postgresql":
        Event.objects.bulk_create(events)
        return
    # bulk_create prepares each value of every event through its field,
    # which dominates a large paste; PostgreSQL takes each column whole, as
    # one array, and unnests them (docs/benchmarks.md has the figures). An
    # event is known by its stream and seq; reading back the pks nobody uses
    # would cost every append a round trip (ledger.db.pipelined).
    with connection.cursor() as cursor:
        cursor.execute(
            _insert_sql(),
            [events[0].stream_id, *([getattr(event, column) for event in events] for column in RECORD_COLUMNS)],
        )
    for event in events:
        event._state.adding = False
