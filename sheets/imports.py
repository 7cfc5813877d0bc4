"""A new sheet from a CSV or XLSX file: read it whole and judge it, then create the sheet and append its cells.

Reading comes first and writes nothing: a file that cannot be read, or
that would not fit a sheet, is refused before any sheet exists. Then one
transaction creates the sheet, sized to fit, with the importer as its
owner, and appends the non-empty cells through the one write path
(sheets.writes.edits), in edits of at most SHEETS_MAX_CHANGES changes made
by the importer, so the ledger tells who brought them in. If anything
fails midway the transaction takes the sheet with it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from django.conf import settings
from django.db import transaction

from ledger.values import is_storable
from sheets.exceptions import ImportRefused, ImportTooLarge
from sheets.models import Sheet
from sheets.services import create_sheet
from sheets.writes.edits import Change, EditRequest, append_edits

# The most a file may weigh (docs/protocol.md, section 10).
MAX_IMPORT_BYTES = 50 * 1024 * 1024
# Edits appended per call of the write path: one transaction holds them all anyway.
REQUESTS_PER_CALL = 10


Grid = list[list[str]]


def read_upload(*, filename: str, data: IO[bytes], size: int) -> Grid:
    """Read a CSV or XLSX file (by its name, else its first bytes) into rows of text; raise ImportRefused."""
    if size > MAX_IMPORT_BYTES:
        raise ImportTooLarge(f"the file has {size:,} bytes; at most {MAX_IMPORT_BYTES:,} can be imported")
    head = data.read(4)
    data.seek(0)
    lowered = filename.lower()
    if lowered.endswith(".xlsx") or (not lowered.endswith(".csv") and head.startswith(b"PK")):
        grid = _read_xlsx(data)
    else:
        grid = _read_csv(data.read())
    _judge(grid)
    return grid


def _read_csv(raw: bytes) -> Grid:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused(f"the CSV file is not UTF-8 text (byte {exc.start:,} is not)") from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:64 * 1024], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel  # one column, or nothing to tell by: the common comma dialect
    try:
        return [list(row) for row in csv.reader(io.StringIO(text, newline=""), dialect)]
    except csv.Error as exc:
        raise ImportRefused(f"the CSV file cannot be read: {exc}") from None


def _read_xlsx(data: IO[bytes]) -> Grid:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # data_only: a formula comes in as the value it last had, as the file shows it.
        book = load_workbook(data, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise ImportRefused(f"the file is not a readable XLSX workbook ({exc.__class__.__name__})") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise ImportRefused("the workbook has no worksheet")
        return [[_as_text(value) for value in row] for row in _limited_rows(sheet)]
    finally:
        book.close()


def _limited_rows(sheet: Any) -> Iterator[tuple[Any, ...]]:
    for count, row in enumerate(sheet.iter_rows(values_only=True), start=1):
        if count > settings.SHEETS_MAX_ROWS:
            raise ImportTooLarge(f"the worksheet has more than {settings.SHEETS_MAX_ROWS:,} rows, the most a sheet holds")
        yield row


def _as_text(value: Any) -> str:
    """A cell's value as the text a person sees in a plain cell (no number format applied)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else format(value, ".15g")
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _judge(grid: Grid) -> None:
    """Refuse what no sheet could hold: too many rows or columns, a value too long or not storable."""
    while grid and not any(grid[-1]):
        grid.pop()  # trailing empty lines (a final newline, an XLSX's formatted blank rows)
    if len(grid) > settings.SHEETS_MAX_ROWS:
        raise ImportTooLarge(f"the file has {len(grid):,} rows; a sheet holds at most {settings.SHEETS_MAX_ROWS:,}")
    width = max((len(row) for row in grid), default=0)
    if width > settings.SHEETS_MAX_COLS:
        raise ImportTooLarge(f"the file has {width:,} columns; a sheet holds at most {settings.SHEETS_MAX_COLS:,}")
    limit = settings.SHEETS_MAX_VALUE_LENGTH
    for row_number, row in enumerate(grid, start=1):
        for col_number, value in enumerate(row, start=1):
            if len(value) > limit:
                raise ImportRefused(
                    f"the value at row {row_number}, column {col_number} has {len(value):,} characters;"
                    f" the limit is {limit:,}"
                )
            if not is_storable(value):
                raise ImportRefused(f"the value at row {row_number}, column {col_number} holds a NUL character")


def import_sheet(*, name: str, title: str, owner: Any, grid: Grid) -> Sheet:
    """Create the sheet, sized to fit ``grid`` (at least 1 x 1), and append its non-empty cells as ``owner``."""
    rows = max(1, len(grid))
    cols = max(1, max((len(row) for row in grid), default=0))
    with transaction.atomic():
        sheet = create_sheet(name=name, title=title, rows=rows, cols=cols, owner_username=owner.get_username())
        batch: list[EditRequest] = []
        for changes in _edits(grid):
            batch.append(EditRequest(user=owner, client_event_id=uuid.uuid4(), changes=changes))
            if len(batch) == REQUESTS_PER_CALL:
                _append(sheet, batch)
                batch = []
        if batch:
            _append(sheet, batch)
    # Read again: the stream's head moved with every append.
    return Sheet.objects.select_related("stream").get(pk=sheet.pk)


def _edits(grid: Grid) -> Iterator[list[Change]]:
    size = settings.SHEETS_MAX_CHANGES
    changes: list[Change] = []
    for row, values in enumerate(grid):
        for col, value in enumerate(values):
            if value != "":
                changes.append(Change(row=row, col=col, value=value))
                if len(changes) == size:
                    yield changes
                    changes = []
    if changes:
        yield changes


def _append(sheet: Sheet, requests: list[EditRequest]) -> None:
    for outcome in append_edits(sheet_id=sheet.pk, requests=requests):
        if isinstance(outcome, Exception):
            # Judged above, so only a bug gets here: roll the whole import back.
            raise ImportRefused(f"a cell of the file was refused: {outcome}")
