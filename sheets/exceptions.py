"""Errors of the sheets app: the consumer maps them to protocol error frames, the views to 4xx JSON."""

from __future__ import annotations

from typing import Any


class SheetError(Exception):
    """A sheet command or service was given something it cannot do."""


class SheetNotFound(SheetError):
    pass


class UserNotFound(SheetError):
    pass


class EditRejected(Exception):
    """An operation was refused and nothing was appended; ``code`` is its protocol error code."""

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


class NoSuchRow(EditRejected):
    """A named row does not exist or was deleted; ``details['row_ids']`` lists those."""

    code = "no_such_row"


class NoSuchCol(EditRejected):
    """A named column does not exist or was deleted; ``details['col_ids']`` lists those."""

    code = "no_such_col"


class IdTaken(EditRejected):
    """An id to insert was used by the sheet before, or twice in the message; ``details['ids']`` lists them."""

    code = "id_taken"


class TooLarge(EditRejected):
    """An insert would take the sheet past its limits of rows or columns."""

    code = "too_large"


class Forbidden(EditRejected):
    code = "forbidden"


class Conflict(EditRejected):
    """A change's base_seq is older than the cell's last change; ``details['cells']`` holds their state."""

    code = "conflict"


class InvalidToken(Exception):
    """An API token that is malformed, unknown, revoked or of an inactive user; answered with 401."""


class LastOwner(SheetError):
    """The change would leave a sheet without an owner; answered with 409."""


class NameTaken(SheetError):
    """A sheet of that name exists already; answered with 409."""


class NotOwner(SheetError):
    """Only an owner of the sheet may do this; answered with 403."""


class MemberNotFound(SheetError):
    """The user has no role on the sheet; answered with 404."""


class ImportRefused(SheetError):
    """A file cannot become a sheet (unreadable, or not something a sheet holds); nothing was created. 400."""


class ImportTooLarge(ImportRefused):
    """The file, or the sheet it would make, is over a limit; nothing was created. 413."""
