"""ASGI entry point: HTTP goes to Django, websockets to the sheet consumer."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
# Set up Django (apps, models, settings) before anything imports a consumer:
# consumers import models, and importing models before setup() fails under
# daphne with AppRegistryNotReady.
django.setup()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

from proj.routing import websocket_urlpatterns  # noqa: E402
from proj.startup import check_redis  # noqa: E402

if settings.REDIS_URL:
    # Fail the process at start with a clear message rather than accept
    # websockets that can never receive a live event.
    check_redis(settings.REDIS_URL)

application = ProtocolTypeRouter(
    {
        "http": get_asgi_application(),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
