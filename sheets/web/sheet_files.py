"""A sheet's cells as a file, CSV or XLSX, as of any seq: one line per row in order, no header, a window at a time.

The rows come from projections.as_of: the order as of the seq and, a window
of rows at a time, the last edit of each of their cells up to it. Memory is
bounded by a window, whatever the size of the sheet, and every window
agrees with every other (events never change), with no transaction held
open across the download.

Values are written as they are, never as code. In XLSX a value that starts
with ``=`` is stored as text, not as a formula (openpyxl would otherwise
make it one); characters XML 1.0 cannot hold (control characters other
than tab, newline and carriage return) become U+FFFD there, since XLSX has
no place for them. The CSV is exact: docs/protocol.md says why, and what a
spreadsheet program may make of a value that looks like a formula.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from django.http import HttpRequest, StreamingHttpResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from ledger.models import Stream
from projections.as_of import order_at, values_at
from projections.selectors import Layout
from sheets.web.export import csv_text
from sheets.web.streaming import chunks

WINDOW = 5_000
FILE_CHUNK = 1 << 20
# The most columns an XLSX worksheet holds (XFD).
XLSX_MAX_COLS = 16_384
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class TooWideForXlsx(ValueError):
    """The sheet has more columns than an XLSX worksheet holds."""


@dataclass
class SheetFile:
    """The sheet right after event ``seq``, row by row."""

    stream: Stream
    seq: int
    layout: Layout = field(init=False)

    def __post_init__(self) -> None:
        self.layout, _ = order_at(self.stream, seq=self.seq)
        self.col_ids = self.layout.cols.ids()

    @property
    def row_count(self) -> int:
        return len(self.layout.rows)

    def rows(self, first: int, count: int | None = None) -> list[list[str]]:
        """The values of rows ``first`` … ``first + count - 1`` (a window), each a list of one value per column."""
        row_ids = self.layout.rows.window(first, WINDOW if count is None else count)
        values = values_at(stream_id=self.stream.pk, row_ids=row_ids, seq=self.seq)
        return [[values.get((row_id, col_id), "") for col_id in self.col_ids] for row_id in row_ids]

    def windows(self) -> Iterator[list[list[str]]]:
        for first in range(0, self.row_count, WINDOW):
            yield self.rows(first)

    # CSV, streamed a window at a time

    def csv_step(self, first: int) -> tuple[str, int | None]:
        following = first + WINDOW
        return csv_text(self.rows(first)), (following if following < self.row_count else None)

    # XLSX, written to a temporary file by openpyxl's write-only mode, then streamed

    def write_xlsx(self, target: IO[bytes]) -> None:
        if len(self.col_ids) > XLSX_MAX_COLS:
            raise TooWideForXlsx(
                f"an XLSX worksheet holds at most {XLSX_MAX_COLS:,} columns; this sheet has {len(self.col_ids):,}"
            )
        book = Workbook(write_only=True)
        sheet = book.create_sheet(title=self.stream.name[:31])
        for window in self.windows():
            for values in window:
                sheet.append([_text_cell(sheet, value) for value in _trimmed(values)])
        book.save(target)


def _trimmed(values: list[str]) -> list[str]:
    """The values up to the last non-empty one: an XLSX row need not spell out its empty tail."""
    end = len(values)
    while end and values[end - 1] == "":
        end -= 1
    return values[:end]


def _text_cell(sheet: object, value: str) -> WriteOnlyCell | None:
    if value == "":
        return None
    cell = WriteOnlyCell(sheet, value=_NOT_IN_XML.sub("\ufffd", value))
    # openpyxl reads a leading "=" as a formula; a ledger holds what people typed.
    cell.data_type = "s"
    return cell


def _file_step(handle: IO[bytes]) -> tuple[bytes, IO[bytes] | None]:
    data = handle.read(FILE_CHUNK)
    if len(data) < FILE_CHUNK:
        handle.close()
        return data, None
    return data, handle


def sheet_file_response(request: HttpRequest, *, stream: Stream, seq: int, file_format: str,
                        filename: str) -> StreamingHttpResponse:
    """The download of the sheet as of ``seq`` as ``file_format`` ("csv" or "xlsx"); TooWideForXlsx for a wide XLSX."""
    sheet_file = SheetFile(stream=stream, seq=seq)
    if file_format == "xlsx":
        # A zip is written whole before it can be read: into a file on disk, not memory.
        handle = tempfile.TemporaryFile()
        try:
            sheet_file.write_xlsx(handle)
        except BaseException:
            handle.close()
            raise
        handle.seek(0)
        content = chunks(request, _file_step, handle)
    else:
        content = chunks(request, sheet_file.csv_step, 0) if sheet_file.row_count else iter([""])
    response = StreamingHttpResponse(content, content_type=CONTENT_TYPES[file_format])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
