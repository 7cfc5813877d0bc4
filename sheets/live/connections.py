"""What an open socket costs its process, and the limits on it: a slot per user, an idle timeout."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any


class UserSlots:
    """Open sheet sockets per user pk in this process, up to a cap.

    The cap is per process: it bounds what one user can cost a daphne
    process, which is the resource at stake; it is not a cluster-wide quota.
    """

    def __init__(self) -> None:
        self.open: Counter[Any] = Counter()

    def take(self, user_id: Any, *, cap: int) -> bool:
        """Count one more socket for the user, unless they are at the cap."""
        if self.open[user_id] >= cap:
            return False
        self.open[user_id] += 1
        return True

    def give_back(self, user_id: Any) -> None:
        self.open[user_id] -= 1
        if self.open[user_id] <= 0:
            del self.open[user_id]


class IdleTimer:
    """Call ``on_idle`` once ``timeout`` seconds pass without a ``restart`` (0: never)."""

    def __init__(self, timeout: float, on_idle: Callable[[], None]) -> None:
        self.timeout = timeout
        self.on_idle = on_idle
        self.handle: asyncio.TimerHandle | None = None

    def restart(self) -> None:
        self.cancel()
        if self.timeout > 0:
            self.handle = asyncio.get_running_loop().call_later(self.timeout, self.on_idle)

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
