"""The per-sheet hash chain: hash = sha256(prev_hash + canonical event).

The canonical form is documented in docs/auditing.md so that an auditor can
recompute the chain from an export with their own code; change it only with
a migration that re-chains nothing (old events keep their hashes) and a new
format version.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

GENESIS_HASH = "0" * 64


def format_timestamp(moment: datetime) -> str:
    """Render a timestamp as UTC ISO 8601 with microseconds and a Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(
    *,
    sheet: str,
    seq: int,
    row: int,
    col: int,
    old_value: str,
    new_value: str,
    broadcaster_id: int,
    client_event_id: str,
    recorded_at: str,
) -> bytes:
    """Encode the hashed fields as compact, key-sorted UTF-8 JSON."""
    document: dict[str, Any] = {
        "broadcaster_id": broadcaster_id,
        "client_event_id": client_event_id,
        "col": col,
        "new_value": new_value,
        "old_value": old_value,
        "recorded_at": recorded_at,
        "row": row,
        "seq": seq,
        "sheet": sheet,
        "type": "CellChanged",
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(prev_hash: str, canonical: bytes) -> str:
    """Return the hex SHA-256 of the previous hash (ASCII hex) followed by the canonical event."""
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()
