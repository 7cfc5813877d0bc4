"""ASGI app of the baseline: the relay consumer on the same URL shape, no auth, no database.

HTTP still goes to Django so the bench's readiness check works alike for
both apps.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
django.setup()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.urls import path  # noqa: E402

from bench.baseline.consumer import RelayConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": get_asgi_application(),
        "websocket": URLRouter([path("ws/sheet/<str:sheet_name>/", RelayConsumer.as_asgi())]),
    }
)
