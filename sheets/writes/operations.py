"""Operation messages (``edit``, ``insert_rows``, ``delete_rows``, ``insert_cols``, ``delete_cols``) parsed into
the write path's requests: one parser for the websocket's frames (sheets.live) and the API's bodies (sheets.web).

Only the shape is checked here; what needs the sheet (bounds, rights,
conflicts) is the write service's business (sheets.writes.edits).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from ledger.hashing import COLUMNS_DELETED, COLUMNS_INSERTED, ROWS_DELETED, ROWS_INSERTED
from ledger.values import is_storable
from sheets.models import ID_PATTERN
from sheets.writes.edits import Change, EditRequest, Request, check_change_count, check_storable
from sheets.writes.structure import StructureRequest

# The structure operations: the event each appends, the field of its ids, whether it takes "after".
STRUCTURE_OPERATIONS: dict[str, tuple[str, str, bool]] = {
    "insert_rows": (ROWS_INSERTED, "row_ids", True),
    "delete_rows": (ROWS_DELETED, "row_ids", False),
    "insert_cols": (COLUMNS_INSERTED, "col_ids", True),
    "delete_cols": (COLUMNS_DELETED, "col_ids", False),
}
OPERATIONS = ("edit", *STRUCTURE_OPERATIONS)


class ProtocolError(Exception):
    """A frame that breaks the protocol; answered with an error frame, never a close."""

    def __init__(self, code: str, message: str, client_event_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_event_id = client_event_id


@dataclass(frozen=True, slots=True)
class Edit:
    client_event_id: uuid.UUID
    changes: list[Change]


@dataclass(frozen=True, slots=True)
class Structure:
    client_event_id: uuid.UUID
    type: str  # the event it appends (ledger.hashing)
    ids: tuple[str, ...]
    after: str | None


def is_int(value: Any) -> bool:
    # JSON true/false arrive as bool, which Python counts as int.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and ID_PATTERN.fullmatch(value) is not None


def decode_message(text: str, *, what: str = "frame") -> dict[str, Any]:
    """Return the JSON object in ``text`` (a frame, a request body) that has a string "type"."""
    try:
        message = json.loads(text)
    except ValueError:
        raise ProtocolError("invalid_json", f"the {what} is not valid JSON") from None
    except RecursionError:
        raise ProtocolError("invalid_json", f"the {what}'s JSON is nested too deeply") from None
    if not isinstance(message, dict):
        raise ProtocolError("invalid_message", f"a {what} must be a JSON object")
    if not isinstance(message.get("type"), str):
        raise ProtocolError("invalid_message", f'a {what} needs a string "type"')
    return message


def edit_id_of(message: dict[str, Any]) -> str | None:
    """Return the client_event_id to echo in an error, when the frame carries a string one."""
    value = message.get("client_event_id")
    return value if is_storable(value) and len(value) <= 100 else None


def _client_event_id(message: dict[str, Any]) -> uuid.UUID:
    raw_id = message.get("client_event_id")
    if isinstance(raw_id, str):
        try:
            return uuid.UUID(raw_id)
        except ValueError:
            pass
    raise ProtocolError("invalid_message", '"client_event_id" must be a UUID string', edit_id_of(message))


def parse_structure(message: dict[str, Any]) -> Structure:
    """Parse insert_rows, delete_rows, insert_cols or delete_cols (the counts and ids are judged by sheets.writes)."""
    echo = edit_id_of(message)
    client_event_id = _client_event_id(message)
    event_type, field, takes_after = STRUCTURE_OPERATIONS[message["type"]]
    ids = message.get(field)
    if not isinstance(ids, list) or not ids:
        raise ProtocolError("invalid_message", f'"{field}" must be a non-empty list of ids', echo)
    for index, id_ in enumerate(ids):
        if not _is_id(id_):
            raise ProtocolError("invalid_message", f'{field}[{index}] must be an id (1 to 36 of A-Z a-z 0-9 _ -)', echo)
    after = None
    if takes_after:
        if "after" not in message:
            raise ProtocolError("invalid_message", '"after" is required: an id, or null for the start', echo)
        after = message["after"]
        if after is not None and not _is_id(after):
            raise ProtocolError("invalid_message", '"after" must be an id or null', echo)
    return Structure(client_event_id=client_event_id, type=event_type, ids=tuple(ids), after=after)


def parse_edit(message: dict[str, Any]) -> Edit:
    echo = edit_id_of(message)
    client_event_id = _client_event_id(message)
    raw_changes = message.get("changes")
    if not isinstance(raw_changes, list) or not raw_changes:
        raise ProtocolError("invalid_message", '"changes" must be a non-empty list', echo)
    check_change_count(len(raw_changes))
    changes = []
    for index, raw in enumerate(raw_changes):
        if not isinstance(raw, dict):
            raise ProtocolError("invalid_message", f"change {index} must be an object", echo)
        value, base_seq = raw.get("value"), raw.get("base_seq")
        if "row_id" in raw or "col_id" in raw:
            row_id, col_id = raw.get("row_id"), raw.get("col_id")
            if "row" in raw or "col" in raw:
                raise ProtocolError(
                    "invalid_message", f'change {index}: name the cell by "row_id" and "col_id" or by "row" and "col"',
                    echo,
                )
            if not _is_id(row_id) or not _is_id(col_id):
                raise ProtocolError(
                    "invalid_message", f'change {index}: "row_id" and "col_id" must be ids (1 to 36 of A-Z a-z 0-9 _ -)',
                    echo,
                )
            change = Change(row_id=row_id, col_id=col_id, value=value, base_seq=base_seq)
        else:
            row, col = raw.get("row"), raw.get("col")
            if not is_int(row) or not is_int(col):
                raise ProtocolError("invalid_message", f'change {index}: "row" and "col" must be integers', echo)
            change = Change(row=row, col=col, value=value, base_seq=base_seq)
        if not isinstance(value, str):
            raise ProtocolError("invalid_message", f'change {index}: "value" must be a string', echo)
        check_storable(change)
        if base_seq is not None and (not is_int(base_seq) or base_seq < 0):
            raise ProtocolError("invalid_message", f'change {index}: "base_seq" must be a non-negative integer', echo)
        changes.append(change)
    return Edit(client_event_id=client_event_id, changes=changes)


def parse_operation(message: dict[str, Any], *, user: Any) -> Request:
    """Parse an operation message of ``user`` into the request that sheets.writes.edits appends."""
    kind = message.get("type")
    if kind == "edit":
        edit = parse_edit(message)
        return EditRequest(user=user, client_event_id=edit.client_event_id, changes=edit.changes)
    if kind in STRUCTURE_OPERATIONS:
        op = parse_structure(message)
        return StructureRequest(user=user, client_event_id=op.client_event_id, type=op.type, ids=op.ids, after=op.after)
    raise ProtocolError(
        "invalid_message", f"{str(kind)[:40]!r} is not an operation: use one of {', '.join(OPERATIONS)}", edit_id_of(message)
    )
