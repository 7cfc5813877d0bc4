"""One browser window on the grid page, with the websocket frames it sent and received."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import BrowserContext, Locator, Page, WebSocket, expect

Frame = dict[str, Any]


def cell_name(row: int, col: int) -> str:
    """The spreadsheet name of a 0-based cell: (0, 0) is "A1", (9, 27) is "AB10"."""
    letters = ""
    n = col + 1
    while n > 0:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return f"{letters}{row + 1}"


@dataclass
class SheetPage:
    context: BrowserContext
    page: Page
    label: str
    # ("out" | "in", frame) in the order Chromium saw them, over every socket of the page.
    frames: list[tuple[str, Frame]] = field(default_factory=list)
    sockets: int = 0

    def __post_init__(self) -> None:
        self.page.on("websocket", self._record)
        self.page.on("pageerror", lambda error: print("PAGEERROR", error))

    def _record(self, socket: WebSocket) -> None:
        self.sockets += 1
        socket.on("framesent", lambda payload: self.frames.append(("out", json.loads(payload))))
        socket.on("framereceived", lambda payload: self.frames.append(("in", json.loads(payload))))

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.wait_live()

    # ---- the page's state, through its window.ledgersheet handle ----

    def wait_live(self, *, pending: int | None = None, timeout: float = 15_000) -> None:
        """Wait until the page is subscribed and live (and has ``pending`` edits unacknowledged)."""
        condition = "window.ledgersheet && ledgersheet.status === 'live'"
        if pending is not None:
            condition += f" && ledgersheet.pending === {pending}"
        self.page.wait_for_function(condition, timeout=timeout)

    def wait_seq(self, seq: int, *, timeout: float = 10_000) -> None:
        """Wait until the page has applied every event up to ``seq``."""
        self.page.wait_for_function(f"window.ledgersheet && ledgersheet.lastSeq >= {seq}", timeout=timeout)

    def wait_status(self, status: str, *, timeout: float = 10_000) -> None:
        self.page.wait_for_function(f"window.ledgersheet && ledgersheet.status === {json.dumps(status)}",
                                    timeout=timeout)

    @property
    def last_seq(self) -> int:
        return int(self.page.evaluate("ledgersheet.lastSeq"))

    @property
    def pending(self) -> int:
        return int(self.page.evaluate("ledgersheet.pending"))

    def cells(self) -> dict[str, str]:
        """Every non-empty cell the grid shows, by name ("B3")."""
        return dict(self.page.evaluate("ledgersheet.cells()"))

    # ---- what a person sees and does ----

    def cell(self, row: int, col: int) -> Locator:
        """The grid's drawn cell for the 0-based (row, col) of the protocol (only rows in view are drawn)."""
        return self.page.locator(f"#grid .ls-row-{row} > .slick-cell.l{col + 1}")

    def select(self, row: int, col: int) -> None:
        """Select one cell through the automation handle: it scrolls there, and keystrokes go to it."""
        self.page.evaluate("([row, col]) => ledgersheet.select(row, col)", [row, col])
        self.wait_loaded(row)

    def wait_loaded(self, row: int, *, timeout: float = 10_000) -> None:
        """Wait until the grid holds the row (a big sheet fetches the rows in view as the person scrolls)."""
        self.page.wait_for_function("row => ledgersheet.isLoaded(row)", arg=row, timeout=timeout)

    @property
    def status(self) -> Locator:
        return self.page.locator("#status")

    def messages(self, code: str) -> Locator:
        return self.page.locator(f"#messages .message[data-code='{code}']")

    def type_into(self, row: int, col: int, text: str) -> None:
        """Select the cell, type over it and press Enter, as a person would."""
        self.select(row, col)
        self.page.keyboard.type(text)
        self.page.keyboard.press("Enter")

    def edit_cell(self, row: int, col: int) -> None:
        """Open the cell's editor with its value in it (F2), as a double-click does."""
        self.select(row, col)
        self.page.keyboard.press("F2")

    def paste(self, row: int, col: int, block: list[list[str]]) -> None:
        """Put a tab-separated block on the clipboard, select the cell and press Ctrl+V."""
        text = "\n".join("\t".join(line) for line in block)
        self.select(row, col)
        self.page.evaluate("text => navigator.clipboard.writeText(text)", text)
        self.page.keyboard.press("Control+V")

    def watch_highlights(self) -> None:
        """Start recording every cell that gets the remote-change highlight (it fades after 1.6 s)."""
        self.page.evaluate("""() => {
            window.highlighted = [];
            new MutationObserver((changes) => {
                for (const change of changes) {
                    if (change.target.classList && change.target.classList.contains("ls-remote-change")) {
                        highlighted.push([Number(change.target.dataset.y), Number(change.target.dataset.x)]);
                    }
                }
            }).observe(document.querySelector("#grid"), {attributes: true, attributeFilter: ["class"], subtree: true});
        }""")

    def highlighted(self) -> list[tuple[int, int]]:
        """The (row, col) of every cell highlighted since watch_highlights, each once, sorted."""
        return sorted({(row, col) for row, col in self.page.evaluate("window.highlighted")})

    def select_block(self, top: int, left: int, bottom: int, right: int) -> None:
        """Select one corner, then extend to the other with Shift and the arrow keys, as a person does."""
        self.select(top, left)
        for _ in range(bottom - top):
            self.page.keyboard.press("Shift+ArrowDown")
        for _ in range(right - left):
            self.page.keyboard.press("Shift+ArrowRight")

    def selection(self) -> dict[str, Any]:
        """The selected block: {top, bottom, left, right, whole}."""
        return dict(self.page.evaluate("ledgersheet.selection()"))

    def column_header(self, col: int) -> Locator:
        """The letter heading the 0-based column: a click selects the column whole."""
        return self.page.locator("#grid .slick-header-column").nth(col + 1)

    def select_column(self, col: int) -> None:
        self.column_header(col).click()

    @property
    def context_menu(self) -> Locator:
        return self.page.locator(".ls-menu")

    def menu(self, row: int, col: int, item: str) -> None:
        """Right-click the cell (inside a selection, it stays) and choose the context menu item of that title."""
        self.page.evaluate("row => ledgersheet.scrollTo(row)", row)
        self.cell(row, col).click(button="right")
        self.menu_item(item).click()
        expect(self.context_menu).to_be_hidden()

    def menu_item(self, title: str) -> Locator:
        return self.context_menu.locator("a").filter(
            has=self.page.locator(".ls-menu-title", has_text=re.compile(f"^{re.escape(title)}$")))

    def editor_open(self) -> bool:
        return bool(self.page.evaluate("ledgersheet.editing"))

    def row_count(self) -> int:
        """How many rows the sheet has, as the grid shows it."""
        return int(self.page.evaluate("ledgersheet.rowCount"))

    def column_headers(self) -> list[str]:
        return list(self.page.evaluate("ledgersheet.columns()"))

    def expect_cell(self, row: int, col: int, text: str, *, timeout: float = 10_000) -> None:
        """Wait until the grid shows this text at (row, col)."""
        self.page.wait_for_function("([row, col, text]) => ledgersheet.getCell(row, col) === text",
                                    arg=[row, col, text], timeout=timeout)

    # ---- the websocket traffic ----

    def sent(self, kind: str) -> list[Frame]:
        return [frame for direction, frame in self.frames if direction == "out" and frame["type"] == kind]

    def received(self, kind: str) -> list[Frame]:
        return [frame for direction, frame in self.frames if direction == "in" and frame["type"] == kind]

    def received_events(self) -> list[Frame]:
        return [event for frame in self.received("events") for event in frame["events"]]
