"""The history's CSV export, streamed a batch at a time, in seq order so that the hash chain reads top down."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.http import HttpRequest, StreamingHttpResponse

from ledger.audit import export_batch
from ledger.hashing import CELL_CHANGED
from ledger.notation import a1
from ledger.selectors import EventFilter
from ledger.serialization import record_to_dict
from sheets.models import Sheet
from sheets.web.streaming import chunks

# The API's event fields (ledger/serialization.py) plus the cell's name;
# tests hold the two to the same values.
# The first fourteen are those of a cell edit; then the canonical form's
# version and the fields of the other types, lists as JSON (docs/auditing.md).
COLUMNS = [
    "seq", "type", "sheet", "row", "col", "cell", "old_value", "new_value", "broadcaster_id", "broadcaster",
    "client_event_id", "recorded_at", "prev_hash", "hash",
    "format", "row_id", "col_id", "after", "row_ids", "col_ids", "rows", "cols",
]
_LISTS = ("row_ids", "col_ids", "rows", "cols")
BATCH = 2_000


@dataclass(frozen=True, slots=True)
class Export:
    sheet: Sheet
    filters: EventFilter
    upto: int  # the head when the export started: later events are not part of it

    def header(self) -> str:
        return csv_text([COLUMNS])

    def chunk(self, after: int) -> tuple[str, int, int]:
        """Return the CSV text of the next batch after ``after``, its last seq and its size."""
        batch = export_batch(
            stream_id=self.sheet.stream_id, filters=self.filters, after=after, upto=self.upto, size=BATCH
        )
        rows = []
        for record, username in batch:
            data = record_to_dict(record, sheet_name=self.sheet.name, broadcaster=username, with_hashes=True)
            data["format"] = record.format
            if record.type == CELL_CHANGED:
                data["cell"] = a1(data["row"], data["col"])
            for name in _LISTS:
                if name in data:
                    data[name] = json.dumps(data[name])
            rows.append(["" if data.get(column) is None else data[column] for column in COLUMNS])
        return csv_text(rows), (batch[-1][0].seq if batch else after), len(batch)

    def step(self, after: int) -> tuple[str, int | None]:
        """One step of the download (sheets.web.streaming): the next batch (the header first), and where the one
        after starts."""
        text, last, size = self.chunk(after)
        return (self.header() + text if after == 0 else text), (last if size == BATCH else None)


def csv_text(rows: Sequence[Sequence[object]]) -> str:
    """Rows as CSV text: RFC 4180 quoting, CRLF line ends, values as they are."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def csv_response(request: HttpRequest, *, sheet: Sheet, filters: EventFilter) -> StreamingHttpResponse:
    """Stream the filtered events up to the current head as CSV."""
    export = Export(sheet=sheet, filters=filters, upto=sheet.head)
    response = StreamingHttpResponse(chunks(request, export.step, 0), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{sheet.name}-history.csv"'
    return response
