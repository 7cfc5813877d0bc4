"""Receiving from the channel layer while Redis may be away.

Channels lets whatever the layer's receive raises end the consumer: with
Redis down every sheet socket would close with 1011 and no new one could
stay open, so no edit could be made. The layer is only a hint
(docs/architecture.md, decision 2): wait for Redis instead, and rejoin the
group once it is back, since a restarted Redis has forgotten the groups.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What channels-redis raises while Redis cannot be reached.
LAYER_DOWN = (RedisError, OSError)
RETRY_FIRST = 0.1
RETRY_MAX = 2.0


async def receive_retrying(
    receive: Callable[[], Awaitable[dict[str, Any]]], rejoin: Callable[[], Awaitable[None]]
) -> dict[str, Any]:
    """Return the next layer message, retrying with backoff while the layer is unreachable.

    After a failure ``rejoin`` is awaited (again, with backoff, until it
    stops raising) before receiving: a receive that succeeded first would
    wait for ever outside the group. Until then pings fill from the ledger.
    """
    delay = RETRY_FIRST
    while True:
        try:
            return await receive()
        except LAYER_DOWN as exc:
            logger.warning("channel layer unreachable (%s); retrying in %.1fs", exc, delay)
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)
            try:
                await rejoin()
            except LAYER_DOWN:
                continue
            break
