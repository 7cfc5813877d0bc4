"""The API's answers to what its endpoints raise: ``{"error": "<a sentence>"}`` with its status.

Errors are translated here, at the edge (docs/architecture.md, house
style); the endpoints only raise. An operation refused by the write path
has its own shape, in sheets.web.api.ops.
"""

from __future__ import annotations

import json
import logging
from functools import wraps
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from sheets.exceptions import (
    EditRejected,
    ImportTooLarge,
    InvalidToken,
    LastOwner,
    MemberNotFound,
    NameTaken,
    NotOwner,
    SheetError,
    SheetNotFound,
    UserNotFound,
)
from sheets.web.access import NoAccess
from sheets.web.api.auth import CsrfFailed
from sheets.web.params import BadParameter
from sheets.writes.operations import ProtocolError

logger = logging.getLogger(__name__)

# Each exception the endpoints may raise, and its status; the message is str(exc).
STATUS_OF: dict[type[Exception], int] = {
    InvalidToken: 401,
    CsrfFailed: 403,
    NoAccess: 403,
    NotOwner: 403,
    SheetNotFound: 404,
    UserNotFound: 404,
    MemberNotFound: 404,
    BadParameter: 400,
    SheetError: 400,
    ImportTooLarge: 413,
    NameTaken: 409,
    LastOwner: 409,
}


def error(api: NinjaAPI, request: HttpRequest, status: int, message: str) -> HttpResponse:
    return api.create_response(request, {"error": message}, status=status)


def _validation_message(exc: ValidationError) -> str:
    """One sentence for pydantic's list of errors: ``rows: Input should be a valid integer``."""
    parts = []
    for problem in exc.errors:
        # ninja's loc is ("body", <the parameter>, field…); the parameter's name means nothing to a client.
        where = ".".join(str(part) for part in problem.get("loc", ())[2:]) or "body"
        parts.append(f"{where}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


# The status of each error code of an operation (docs/protocol.md, sections 8 and 10).
OPERATION_STATUS = {
    "invalid_json": 400,
    "invalid_message": 400,
    "value_too_long": 400,
    "out_of_range": 400,
    "forbidden": 403,
    "conflict": 409,
    "no_such_row": 409,
    "no_such_col": 409,
    "id_taken": 409,
    "too_many_changes": 413,
    "too_large": 413,
    "rate_limited": 429,
    "unavailable": 503,
}
DATABASE_DOWN = (OperationalError, InterfaceError)


def operation_error(
    api: NinjaAPI, request: HttpRequest, code: str, message: str, client_event_id: str | None, details: dict[str, Any]
) -> HttpResponse:
    """An operation's error as the websocket's error frame has it: ``{"error": code, "message": …, …its fields}``."""
    body: dict[str, Any] = {"error": code, "message": message}
    if client_event_id is not None:
        body["client_event_id"] = client_event_id
    body.update(details)
    response = api.create_response(request, body, status=OPERATION_STATUS.get(code, 400))
    if code in ("rate_limited", "unavailable"):
        response["Retry-After"] = "1"
    return response


def _database_down(api: NinjaAPI, request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.warning("database unavailable during %s %s", request.method, request.path, exc_info=exc)
    return operation_error(api, request, "unavailable", "the database cannot be reached; retry later", None, {})


def install(api: NinjaAPI) -> None:
    """Register the answers of every error on ``api``."""
    api.add_exception_handler(
        ProtocolError, lambda request, exc: operation_error(api, request, exc.code, exc.message, exc.client_event_id, {})
    )
    api.add_exception_handler(
        EditRejected,
        lambda request, exc: operation_error(
            api, request, exc.code, exc.message, getattr(exc, "client_event_id", None), exc.details
        ),
    )
    for down in DATABASE_DOWN:
        api.add_exception_handler(down, lambda request, exc: _database_down(api, request, exc))
    for exc_class, status in STATUS_OF.items():
        api.add_exception_handler(exc_class, lambda request, exc, status=status: error(api, request, status, str(exc)))
    api.add_exception_handler(AuthenticationError, lambda request, exc: error(api, request, 401, "log in first"))
    api.add_exception_handler(HttpError, lambda request, exc: error(api, request, exc.status_code, _http_message(exc)))
    api.add_exception_handler(ValidationError, lambda request, exc: error(api, request, 400, _validation_message(exc)))


def _http_message(exc: HttpError) -> str:
    # ninja's own wording for a body it cannot read as JSON.
    if exc.status_code == 400 and exc.message.startswith("Cannot parse request body"):
        return "the body must be a JSON object"
    return exc.message


def json_405(view: Any) -> Any:
    """Answer a method an endpoint does not take with a JSON 405 (ninja's own is plain text), keeping ``Allow``."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            message = f"{request.method} is not allowed here; use {allowed}"
            response = HttpResponseNotAllowed(
                allowed.split(", "), content=json.dumps({"error": message}), content_type="application/json"
            )
        return response

    return wrapper
