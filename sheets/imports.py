"""A new sheet from a CSV or XLSX file: read it whole and judge it, then create the sheet and append its cells.

Reading comes first and writes nothing: a file that cannot be read, or
that would not fit a sheet, is refused before any sheet exists. Then the
sheet is created, sized to fit, with the importer as its owner, and its
non-empty cells are appended through the one write path
(sheets.writes.edits), in edits of at most SHEETS_MAX_CHANGES changes made
by the importer, so the ledger tells who brought them in.

A large file is appended in chunks, one transaction each (EDITS_PER_COMMIT
edits): in one transaction a million-row file spent longer in COMMIT,
checking the deferred foreign keys of millions of rows, than in appending
them (docs/benchmarks.md, "Transfer"). Meanwhile the sheet is IMPORTING,
which every read, page, socket and list treats as absent
(sheets.selectors.get_sheet); the transaction of the last chunk makes it
READY, so no one ever sees half a file. The first chunk commits with the
sheet: a failure there leaves nothing and the name free. A failure after
it cannot take the committed events back (the database refuses DELETE on
the ledger, and every event's hash includes the sheet's name), so the
sheet is marked FAILED: hidden for good, its partial ledger intact and
verifiable, its name taken.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import logging
import uuid
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.transaction import TransactionManagementError

from ledger.values import is_storable
from projections.services import refresh_cell_statistics
from sheets.exceptions import ImportRefused, ImportTooLarge
from sheets.models import Sheet, SheetState
from sheets.services import create_sheet
from sheets.writes.edits import Change, EditRequest, append_edits

# The most a file may weigh (docs/protocol.md, section 10).
MAX_IMPORT_BYTES = 50 * 1024 * 1024
# Edits appended per call of the write path: the events of one call are built at once.
REQUESTS_PER_CALL = 10
# Edits per transaction (SHEETS_IMPORT_EDITS_PER_COMMIT, if set, overrides it): see import_sheet.
EDITS_PER_COMMIT = 100

logger = logging.getLogger(__name__)


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
    """Create the sheet, sized to fit ``grid`` (at least 1 x 1), and append its non-empty cells as ``owner``.

    A file of one chunk is one transaction, as any write. A larger one is
    appended a chunk per transaction while the sheet is IMPORTING (hidden),
    and its last chunk makes it READY in the same commit.
    """
    rows = max(1, len(grid))
    cols = max(1, max((len(row) for row in grid), default=0))
    chunks = _chunks(_edits(grid), max(1, getattr(settings, "SHEETS_IMPORT_EDITS_PER_COMMIT", EDITS_PER_COMMIT)))
    chunk, upcoming = next(chunks, []), next(chunks, None)
    with transaction.atomic():
        # The first chunk commits with the sheet: if it fails, nothing is left and the name is free.
        state = SheetState.READY if upcoming is None else SheetState.IMPORTING
        sheet = create_sheet(name=name, title=title, rows=rows, cols=cols, owner_username=owner.get_username(), state=state)
        append_chunk(sheet_id=sheet.pk, owner=owner, edits=chunk, rows_done=rows if upcoming is None else None)
    chunked = upcoming is not None
    try:
        while upcoming is not None:
            chunk, upcoming = upcoming, next(chunks, None)
            with transaction.atomic():
                append_chunk(sheet_id=sheet.pk, owner=owner, edits=chunk, rows_done=rows if upcoming is None else None)
    except Exception:
        _mark_failed(sheet_id=sheet.pk)
        raise
    if chunked:
        # A file of several chunks is a large share of the cells table: let the first viewers meet fresh statistics.
        refresh_cell_statistics()
    # Read again: the stream's head moved with every append.
    return Sheet.objects.select_related("stream").get(pk=sheet.pk)


def append_chunk(*, sheet_id: int, owner: Any, edits: list[list[Change]], rows_done: int | None) -> None:
    """Append one chunk's edits through the write path; with ``rows_done``, the last chunk: the sheet is READY."""
    for start in range(0, len(edits), REQUESTS_PER_CALL):
        requests = [
            EditRequest(user=owner, client_event_id=uuid.uuid4(), changes=changes)
            for changes in edits[start:start + REQUESTS_PER_CALL]
        ]
        # No announcement: no socket can be on a sheet that is not READY, nor on one created in this transaction.
        for outcome in append_edits(sheet_id=sheet_id, requests=requests, announce=False):
            if isinstance(outcome, Exception):
                # Judged above, so only a bug gets here: this chunk rolls back, and the import fails.
                raise ImportRefused(f"a cell of the file was refused: {outcome}")
    if rows_done is not None:
        Sheet.objects.filter(pk=sheet_id).update(state=SheetState.READY, rows_imported=rows_done)
    elif edits:
        # The row of the chunk's last cell may go on in the next chunk: the rows before it are done.
        Sheet.objects.filter(pk=sheet_id).update(rows_imported=edits[-1][-1].row or 0)


def _mark_failed(*, sheet_id: int) -> None:
    """Leave a sheet whose import failed after its first commit hidden for good (its events cannot be deleted)."""
    try:
        with transaction.atomic():
            Sheet.objects.filter(pk=sheet_id, state=SheetState.IMPORTING).update(state=SheetState.FAILED)
    except (DatabaseError, TransactionManagementError):
        # Stuck IMPORTING instead: hidden just the same, and the import's own error is the one to raise.
        logger.exception("the failed import of sheet %s could not be marked failed", sheet_id)


def _chunks(edits: Iterator[list[Change]], size: int) -> Iterator[list[list[Change]]]:
    while chunk := list(itertools.islice(edits, size)):
        yield chunk


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
