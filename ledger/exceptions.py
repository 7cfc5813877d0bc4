"""Why the ledger refused an edit; the consumer maps each to a protocol error code."""

from __future__ import annotations

from typing import Any


class EditRejected(Exception):
    """An edit was refused and nothing was appended."""

    code = "invalid_message"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidEdit(EditRejected):
    code = "invalid_message"


class TooManyChanges(EditRejected):
    code = "too_many_changes"


class ValueTooLong(EditRejected):
    code = "value_too_long"


class OutOfRange(EditRejected):
    code = "out_of_range"


class Forbidden(EditRejected):
    code = "forbidden"


class Conflict(EditRejected):
    """A change's base_seq is older than the cell's last change; ``details['cells']`` holds their state."""

    code = "conflict"
