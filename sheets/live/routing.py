"""The websocket route of a sheet."""

from django.urls import re_path

from sheets.live.consumer import SheetConsumer

websocket_urlpatterns = [
    re_path(r"^ws/sheet/(?P<sheet_name>[^/]+)/$", SheetConsumer.as_asgi()),
]


def sheet_socket_path(name: str) -> str:
    """Return the path of the sheet's websocket (the one route above)."""
    return f"/ws/sheet/{name}/"
