"""A progress line for long management commands, shown on a terminal only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Stream(Protocol):
    def write(self, msg: str = "", style_func: Callable[[str], str] | None = None, ending: str | None = None) -> None: ...
    def isatty(self) -> bool: ...
    def flush(self) -> None: ...


class Progress:
    """Redraw one ``label [####    ] done/total`` line; silent when the output is not a terminal.

    Logs and pipes get the command's summary only: a carriage-return bar
    written to a file is noise, not information.
    """

    WIDTH = 30

    def __init__(self, stream: Stream, *, label: str, total: int, every: int = 5_000) -> None:
        self._stream = stream
        self._label = label
        self._total = max(total, 1)
        self._every = every
        self._shown = 0
        self._active = stream.isatty()

    def update(self, done: int) -> None:
        """Redraw the line if at least ``every`` items passed since the last redraw."""
        if self._active and (done - self._shown >= self._every or done == self._total):
            self._shown = done
            filled = min(self.WIDTH, self.WIDTH * done // self._total)
            bar = "#" * filled + " " * (self.WIDTH - filled)
            self._stream.write(f"\r{self._label} [{bar}] {done:,}/{self._total:,}", ending="")
            self._stream.flush()

    def close(self) -> None:
        """End the progress line so that the next output starts on a fresh line."""
        if self._active and self._shown:
            self._stream.write("\r\033[K", ending="")
            self._stream.flush()
