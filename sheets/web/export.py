"""The history's CSV export, streamed a batch at a time, in seq order so that the hash chain reads top down."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

from ledger.audit import export_batch
from ledger.hashing import CELL_CHANGED
from ledger.notation import a1
from ledger.selectors import EventFilter
from ledger.serialization import record_to_dict
from sheets.models import Sheet

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
        return _csv([COLUMNS])

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
        return _csv(rows), (batch[-1][0].seq if batch else after), len(batch)

    def lines(self) -> Iterator[str]:
        yield self.header()
        after, size = 0, BATCH
        while size == BATCH:
            text, after, size = self.chunk(after)
            yield text

    async def alines(self) -> AsyncIterator[str]:
        yield self.header()
        after, size = 0, BATCH
        while size == BATCH:
            text, after, size = await sync_to_async(self.chunk)(after)
            yield text


def _csv(rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def csv_response(request: HttpRequest, *, sheet: Sheet, filters: EventFilter) -> StreamingHttpResponse:
    """Stream the filtered events up to the current head as CSV."""
    export = Export(sheet=sheet, filters=filters, upto=sheet.head)
    # Under ASGI (daphne) Django would read a synchronous iterator into a
    # list before sending a byte, so a million-event export gets an
    # asynchronous one there, fetching each batch in the sync thread. Each
    # batch is its own keyset query, so no cursor has to outlive a thread hop.
    content = export.alines() if isinstance(request, ASGIRequest) else export.lines()
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{sheet.name}-history.csv"'
    return response
