"""POST /api/sheets/<name>/ops/: one operation message of the websocket, appended through the one write path.

The body is parsed by the websocket's own parser (sheets.writes.operations)
and appended by sheets.writes.edits.append_one, whose after-commit
broadcast brings the events to the sheet's open sockets like any others.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from ninja import Router

from sheets.exceptions import EditRejected, Forbidden
from sheets.ratelimit import Buckets
from sheets.web.access import NoAccess, sheet_access
from sheets.web.api.auth import credential_key
from sheets.web.api.schemas import OPERATION_BODY, Error, Seqs
from sheets.writes.edits import append_one
from sheets.writes.operations import ProtocolError, decode_message, edit_id_of, parse_operation

router = Router(tags=["writing"])

# Per API token or session, in this process (sheets.ratelimit).
_buckets = Buckets()


def _body_text(request: HttpRequest) -> str:
    """The body as text, refused unread when it is over the websocket's frame limit."""
    limit = settings.SHEETS_MAX_FRAME_BYTES
    too_large = ProtocolError("too_large", f"the body is over SHEETS_MAX_FRAME_BYTES ({limit} bytes): split the operation")
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_large from None
    if len(body) > limit:
        raise too_large
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("invalid_json", "the body is not UTF-8 JSON") from None


@router.post(
    "/sheets/{name}/ops/",
    url_name="api-ops",
    response={200: Seqs, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error, 413: Error, 429: Error, 503: Error},
    openapi_extra=OPERATION_BODY,
    summary="Append one operation (edit, insert_rows, delete_rows, insert_cols, delete_cols)",
)
def ops(request: HttpRequest, name: str) -> dict[str, list[int]]:
    """Answer `{"seqs": [...]}` once committed; a retry with the same client_event_id answers the original seqs."""
    try:
        access = sheet_access(request, name)
    except NoAccess as exc:
        raise Forbidden(str(exc)) from None
    message = decode_message(_body_text(request), what="body")
    try:
        operation = parse_operation(message, user=request.user)
        allowed = _buckets.take(
            credential_key(request), rate=settings.SHEETS_RATE_LIMIT_PER_SECOND, burst=settings.SHEETS_RATE_LIMIT_BURST
        )
        if not allowed:
            raise ProtocolError("rate_limited", "too many operations; slow down and retry", edit_id_of(message))
        result = append_one(sheet_id=access.sheet.pk, request=operation)
    except EditRejected as exc:
        exc.client_event_id = edit_id_of(message)  # type: ignore[attr-defined]  # echoed by sheets.web.api.errors
        raise
    return {"seqs": result.seqs}
