"""Downloading a sheet's cells as a file (docs/protocol.md, section 10): CSV or XLSX, now or as of a seq."""

# No "from __future__ import annotations": ninja reads the Annotated parameters at definition time.
from typing import Annotated

from django.http import HttpRequest, StreamingHttpResponse
from ninja import Query, Router

from sheets.web.access import sheet_access
from sheets.web.params import BadParameter, int_param
from sheets.web.sheet_files import CONTENT_TYPES, TooWideForXlsx, sheet_file_response

router = Router(tags=["export"])


@router.get(
    "/sheets/{name}/export/", url_name="api-export", summary="The sheet's cells as a CSV or XLSX file",
    response={200: None},
)
def export(
    request: HttpRequest,
    name: str,
    format: Annotated[str | None, Query(None, description="csv (default) or xlsx")] = None,  # noqa: A002
    at: Annotated[str | None, Query(None, description="the seq to export the sheet as of (default: the head)")] = None,
) -> StreamingHttpResponse:
    """One line per row in order, one field per column, no header; values exactly as recorded (XLSX: as text)."""
    sheet = sheet_access(request, name).sheet
    file_format = request.GET.get("format", "") or "csv"
    if file_format not in CONTENT_TYPES:
        raise BadParameter(f"format must be csv or xlsx, got {file_format[:20]!r}")
    at_seq = int_param(request.GET, "at", maximum=sheet.head)
    seq = sheet.head if at_seq is None else at_seq
    filename = f"{sheet.name}.{file_format}" if at_seq is None else f"{sheet.name}-at-{seq}.{file_format}"
    try:
        return sheet_file_response(request, stream=sheet.stream, seq=seq, file_format=file_format, filename=filename)
    except TooWideForXlsx as exc:
        raise BadParameter(str(exc)) from None
