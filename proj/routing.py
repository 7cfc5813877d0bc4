"""Websocket routes."""

from django.urls import re_path

from sheets.consumers import SheetConsumer

websocket_urlpatterns = [
    re_path(r"^ws/sheet/(?P<sheet_name>[^/]+)/$", SheetConsumer.as_asgi()),
]
