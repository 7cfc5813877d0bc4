"""Operational endpoints: /healthz for load balancers, /metrics for Prometheus."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from redis.exceptions import RedisError

from proj.metrics import render

logger = logging.getLogger(__name__)
CHECK_TIMEOUT_SECONDS = 2.0


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        logger.warning("health check: database unreachable", exc_info=True)
        return False


async def _channel_layer_ok() -> bool:
    # A round trip through the layer proves more than a connect: the same
    # send/receive path that carries live events.
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        channel = await layer.new_channel("healthz.")
        await asyncio.wait_for(layer.send(channel, {"type": "healthz"}), CHECK_TIMEOUT_SECONDS)
        message = await asyncio.wait_for(layer.receive(channel), CHECK_TIMEOUT_SECONDS)
        return message.get("type") == "healthz"
    except (TimeoutError, RedisError, OSError):
        logger.warning("health check: channel layer unreachable", exc_info=True)
        return False


async def healthz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when the database and the channel layer both answer, else 503."""
    database = await sync_to_async(_database_ok, thread_sensitive=True)()
    layer = await _channel_layer_ok()
    healthy = database and layer
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "database": database, "channel_layer": layer},
        status=200 if healthy else 503,
    )


def metrics(request: HttpRequest) -> HttpResponse:
    """Expose the Prometheus metrics."""
    body, content_type = render()
    return HttpResponse(body, content_type=content_type)
