"""The HTTP API (docs/protocol.md, section 10) on django-ninja: one NinjaAPI, its OpenAPI description and docs page.

Its URLs are included without a namespace, so that the pages reverse
``api-events``, ``api-cells`` … as before; ninja reverses its own docs
URLs through a namespace, hence the two small overrides below.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, path, reverse
from ninja import NinjaAPI, Swagger

from sheets.web.api import catalog, errors, exports, ops, reads
from sheets.web.api.auth import SessionAuth, TokenAuth

DESCRIPTION = (
    "The HTTP API of Ledgersheet. Authenticate with `Authorization: Bearer <token>` (a personal API token, "
    "made on the account page or with `manage.py create_token`) or with the session cookie (then unsafe "
    "methods need the CSRF token). Every error is a JSON object with an `error` field. "
    "docs/protocol.md in the repository is the full reference."
)

# ninja's names for its own URLs, and ours (without a namespace they must say they are the API's).
_RENAMED = {"openapi-json": "api-openapi", "openapi-view": "api-docs"}


class _Docs(Swagger):
    def get_openapi_url(self, api: NinjaAPI, path_params: dict[str, Any]) -> str:
        return reverse("api-openapi", kwargs=path_params)


class LedgersheetAPI(NinjaAPI):
    def get_root_path(self, path_params: dict[str, Any]) -> str:
        return reverse("api-root", kwargs=path_params)


api = LedgersheetAPI(
    title="Ledgersheet",
    version="2",
    description=DESCRIPTION,
    auth=[TokenAuth(), SessionAuth()],
    docs=_Docs(),
    openapi_url="/openapi.json",
    docs_url="/docs",
)
errors.install(api)
api.add_router("", catalog.router)
api.add_router("", reads.router)
api.add_router("", ops.router)
api.add_router("", exports.router)


def urlpatterns() -> list[URLPattern]:
    """The API's URLs, to include under ``api/``: ninja's own, renamed, each answering a wrong method in JSON."""
    patterns, _app_name, _namespace = api.urls
    renamed = []
    for pattern in patterns:
        assert isinstance(pattern, URLPattern)
        name = _RENAMED.get(pattern.name or "", pattern.name)
        renamed.append(path(str(pattern.pattern), errors.json_405(pattern.callback), name=name))
    return renamed
