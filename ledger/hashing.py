"""The per-stream hash chain: hash = sha256(prev_hash + canonical event).

The canonical form is documented in docs/auditing.md so that an auditor can
recompute the chain from an export with their own code; change it only with
a migration that re-chains nothing (old events keep their hashes) and a new
format version.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

GENESIS_HASH = "0" * 64
EVENT_TYPE = "CellChanged"


class LedgerRecord(NamedTuple):
    """One stored event as the chain sees it: the hashed fields, then the two links.

    The one list of an event's fields: hashing, serialisation, replay rows,
    exports and verification all take their columns from it.
    """

    seq: int
    row: int
    col: int
    old_value: str
    new_value: str
    broadcaster_id: int
    client_event_id: str  # hyphenated
    recorded_at: str  # as format_timestamp renders it
    prev_hash: str
    hash: str


# The fields of an event that its hash covers, besides the stream's name and the type.
EVENT_FIELDS: tuple[str, ...] = LedgerRecord._fields[:-2]


def format_timestamp(moment: datetime) -> str:
    """Render a timestamp as UTC ISO 8601 with microseconds and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(*, sheet: str, **fields: Any) -> bytes:
    """Encode the hashed fields (EVENT_FIELDS, each given by name) as compact, key-sorted UTF-8 JSON."""
    document: dict[str, Any] = {name: fields[name] for name in EVENT_FIELDS}
    document["sheet"] = sheet
    document["type"] = EVENT_TYPE
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """Return the hex SHA-256 of the previous hash (ASCII hex) followed by the canonical event."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


def record_hash(record: LedgerRecord, *, sheet: str) -> str:
    """Return the hash the record should carry given its own prev_hash and content."""
    return chain_hash(record.prev_hash, canonical_bytes(sheet=sheet, **record._asdict()))
