"""A fault-injecting relay between a page's sheet websocket and the real server.

Playwright's ``page.route_web_socket`` hands every socket the page opens to
``Relay.connect``, which opens the real connection to daphne and passes
frames both ways, except where a test has asked for a fault: swallow the
next frame of a kind, cut the line right after one, or stop passing anything
while keeping the socket open (a network that vanished without a close).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, WebSocketRoute

Frame = dict[str, Any]


class Relay:
    def __init__(self) -> None:
        self.connections = 0
        # (connection number, "out" | "in" | "dropped", frame), in order.
        self.frames: list[tuple[int, str, Frame]] = []
        self._drop_next: set[str] = set()
        self._cut_after: str | None = None
        self.silent_connection: int | None = None

    def install(self, page: Page) -> None:
        page.route_web_socket(re.compile(r"/ws/sheet/"), self.connect)

    # ---- faults ----

    def drop_next(self, kind: str) -> None:
        """Swallow the next server frame of this type; the connection stays up."""
        self._drop_next.add(kind)

    def cut_after(self, kind: str) -> None:
        """Swallow the next server frame of this type and everything after it, then close both sides."""
        self._cut_after = kind

    def go_silent(self) -> None:
        """Pass nothing either way on the current connection, and close nothing: a dead line that looks open."""
        self.silent_connection = self.connections

    # ---- the relay ----

    def connect(self, page_side: WebSocketRoute) -> None:
        self.connections += 1
        number = self.connections
        server_side = page_side.connect_to_server()
        cut = False  # closing is asynchronous: frames already on their way must not slip through

        def to_server(message: str | bytes) -> None:
            frame = json.loads(message)
            if number == self.silent_connection:
                self.frames.append((number, "dropped", frame))
                return
            self.frames.append((number, "out", frame))
            server_side.send(message)

        def to_page(message: str | bytes) -> None:
            nonlocal cut
            frame = json.loads(message)
            kind = frame["type"]
            if cut or number == self.silent_connection or kind in self._drop_next:
                self._drop_next.discard(kind)
                self.frames.append((number, "dropped", frame))
                return
            if kind == self._cut_after:
                self._cut_after, cut = None, True
                self.frames.append((number, "dropped", frame))
                server_side.close()
                page_side.close(code=4000, reason="the test cut the line")
                return
            self.frames.append((number, "in", frame))
            page_side.send(message)

        page_side.on_message(to_server)
        server_side.on_message(to_page)

    # ---- what went through ----

    def select(self, direction: str, kind: str, connection: int | None = None) -> list[Frame]:
        return [frame for n, d, frame in self.frames
                if d == direction and frame["type"] == kind and connection in (None, n)]

    def where(self, test: Callable[[int, str, Frame], bool]) -> list[tuple[int, str, Frame]]:
        return [entry for entry in self.frames if test(*entry)]
