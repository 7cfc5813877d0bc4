"""Token buckets for operations: one per websocket connection (sheets.live), one per API token or session (sheets.web).

Buckets live in the process that serves the socket or the request, like
the per-user socket slots (sheets.live.connections): they bound what one
client costs a process, not a cluster-wide quota.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable


class TokenBucket:
    """Allow ``burst`` messages at once, refilled at ``rate`` per second."""

    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.updated = clock()

    def take(self) -> bool:
        """Spend one token; False when the bucket is empty."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Buckets:
    """A TokenBucket per key (an API token, a session), the ``capacity`` most recently used ones kept.

    A bucket dropped for room comes back full, which costs at most one
    burst per forgotten client; unbounded, the map would grow with every
    session ever seen. Requests are served on several threads, hence the lock.
    """

    def __init__(self, *, capacity: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.clock = clock
        self.buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self.lock = threading.Lock()

    def take(self, key: str, *, rate: float, burst: int) -> bool:
        """Spend one token of ``key``'s bucket (made full at first use); False when it is empty."""
        with self.lock:
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = TokenBucket(rate=rate, burst=burst, clock=self.clock)
                if len(self.buckets) > self.capacity:
                    self.buckets.popitem(last=False)
            else:
                self.buckets.move_to_end(key)
            return bucket.take()
