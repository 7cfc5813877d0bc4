"""The per-stream hash chain: hash = sha256(prev_hash + canonical event).

The canonical form is documented in docs/auditing.md so that an auditor can
recompute the chain from an export with their own code. It is versioned per
event (``format``): format 1 is a cell edit as written before rows had ids,
format 2 any event since. A new format never re-chains an old event: each
keeps the bytes and the hash it was written with.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

GENESIS_HASH = "0" * 64

CELL_CHANGED = "CellChanged"
ROWS_INSERTED = "RowsInserted"
ROWS_DELETED = "RowsDeleted"
COLUMNS_INSERTED = "ColumnsInserted"
COLUMNS_DELETED = "ColumnsDeleted"
# The protocol's fields of each type of event, besides seq, type, sheet,
# broadcaster_id, client_event_id and recorded_at (docs/protocol.md, section 3).
TYPE_FIELDS: dict[str, tuple[str, ...]] = {
    CELL_CHANGED: ("row_id", "col_id", "row", "col", "old_value", "new_value"),
    ROWS_INSERTED: ("row_ids", "row", "after"),
    ROWS_DELETED: ("row_ids", "rows"),
    COLUMNS_INSERTED: ("col_ids", "col", "after"),
    COLUMNS_DELETED: ("col_ids", "cols"),
}
FORMAT_BEFORE_IDS = 1
FORMAT_CURRENT = 2

# A sheet's first rows and columns have implicit ids: the prefix and their
# position when the sheet was created (docs/architecture.md, decision 12).
ROW_PREFIX = "r"
COL_PREFIX = "c"


class LedgerRecord(NamedTuple):
    """One stored event, every column in its canonical form (the one list of an event's columns).

    The first ten are those of format 1; the rest have the defaults such an
    event has. ``ids`` and ``positions`` are JSON lists, as stored.
    """

    seq: int
    row: int | None
    col: int | None
    old_value: str
    new_value: str
    broadcaster_id: int
    client_event_id: str  # hyphenated
    recorded_at: str  # as format_timestamp renders it
    prev_hash: str
    hash: str
    type: str = CELL_CHANGED
    format: int = FORMAT_BEFORE_IDS
    row_id: str | None = None
    col_id: str | None = None
    after: str | None = None
    ids: str | None = None
    positions: str | None = None


def format_timestamp(moment: datetime) -> str:
    """Render a timestamp as UTC ISO 8601 with microseconds and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def document(record: LedgerRecord, *, sheet: str) -> dict[str, Any]:
    """The event as the protocol shows it, without the broadcaster's name and the hashes."""
    doc: dict[str, Any] = {
        "seq": record.seq,
        "type": record.type,
        "sheet": sheet,
        "broadcaster_id": record.broadcaster_id,
        "client_event_id": record.client_event_id,
        "recorded_at": record.recorded_at,
    }
    kind = record.type
    if kind == CELL_CHANGED:
        # An edit from before rows had ids names the implicit ids of its positions.
        doc["row_id"] = record.row_id if record.row_id is not None else f"{ROW_PREFIX}{record.row}"
        doc["col_id"] = record.col_id if record.col_id is not None else f"{COL_PREFIX}{record.col}"
        doc.update(row=record.row, col=record.col, old_value=record.old_value, new_value=record.new_value)
        return doc
    ids = json.loads(record.ids or "[]")
    if kind == ROWS_INSERTED:
        doc.update(row_ids=ids, row=record.row, after=record.after)
    elif kind == COLUMNS_INSERTED:
        doc.update(col_ids=ids, col=record.col, after=record.after)
    elif kind == ROWS_DELETED:
        doc.update(row_ids=ids, rows=json.loads(record.positions or "[]"))
    elif kind == COLUMNS_DELETED:
        doc.update(col_ids=ids, cols=json.loads(record.positions or "[]"))
    else:
        raise ValueError(f"unknown event type {kind!r}")
    return doc


def canonical_bytes(record: LedgerRecord, *, sheet: str) -> bytes:
    """Encode the hashed content of an event as compact, key-sorted UTF-8 JSON, in the event's format.

    Format 1 hashes the ten keys an edit had before rows had ids; format 2
    hashes every field of the event's document and ``"format": 2``.
    """
    doc = document(record, sheet=sheet)
    if record.format == FORMAT_BEFORE_IDS:
        del doc["row_id"], doc["col_id"]
    else:
        doc["format"] = record.format
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """Return the hex SHA-256 of the previous hash (ASCII hex) followed by the canonical event."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


def record_hash(record: LedgerRecord, *, sheet: str) -> str:
    """Return the hash the record should carry given its own prev_hash and content."""
    return chain_hash(record.prev_hash, canonical_bytes(record, sheet=sheet))
