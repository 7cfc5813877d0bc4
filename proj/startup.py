"""Checks that must pass before a daphne process accepts connections."""

from __future__ import annotations

import redis
from django.core.exceptions import ImproperlyConfigured

# channels-redis blocks on BZPOPMIN, which Redis added in 5.0: an older
# server accepts the connection and then fails every receive.
MIN_REDIS_VERSION = (5, 0)


def check_redis(url: str, *, timeout: float = 5.0) -> tuple[int, ...]:
    """Return the Redis server's version; raise ImproperlyConfigured if unreachable or older than 5."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        raw = str(client.info("server")["redis_version"])
    except (redis.RedisError, OSError) as exc:
        raise ImproperlyConfigured(f"Redis at {url} (REDIS_URL) cannot be reached: {exc}") from None
    finally:
        client.close()
    version = tuple(int(part) for part in raw.split(".") if part.isdigit())
    if version[:2] < MIN_REDIS_VERSION:
        raise ImproperlyConfigured(
            f"Redis at {url} is version {raw}; channels-redis needs 5.0 or newer (BZPOPMIN)"
        )
    return version
