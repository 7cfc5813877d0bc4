"""The API's answers to what its endpoints raise: ``{"error": "<a sentence>"}`` with its status.

Errors are translated here, at the edge (docs/architecture.md, house
style); the endpoints only raise. An operation refused by the write path
has its own shape, in sheets.web.api.ops.
"""

from __future__ import annotations

import json
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from sheets.exceptions import InvalidToken, LastOwner, NameTaken, SheetNotFound, UserNotFound
from sheets.web.access import NoAccess
from sheets.web.api.auth import CsrfFailed
from sheets.web.params import BadParameter

# Each exception the endpoints may raise, and its status; the message is str(exc).
STATUS_OF: dict[type[Exception], int] = {
    InvalidToken: 401,
    CsrfFailed: 403,
    NoAccess: 403,
    SheetNotFound: 404,
    UserNotFound: 404,
    BadParameter: 400,
    NameTaken: 409,
    LastOwner: 409,
}


def error(api: NinjaAPI, request: HttpRequest, status: int, message: str) -> HttpResponse:
    return api.create_response(request, {"error": message}, status=status)


def _validation_message(exc: ValidationError) -> str:
    """One sentence for pydantic's list of errors: ``rows: Input should be a valid integer``."""
    parts = []
    for problem in exc.errors:
        where = ".".join(str(part) for part in problem.get("loc", ())[1:]) or "body"
        parts.append(f"{where}: {problem.get('msg', 'invalid')}")
    return "; ".join(parts) or "the request is not valid"


def install(api: NinjaAPI) -> None:
    """Register the answers of every error on ``api``."""
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
