"""Browser tests: Debian's Chromium driven by Playwright against a real daphne process.

Each test gets a fresh sheet (alice and bob edit, carol views) and opens it
in separate browser contexts (separate cookie jars, like separate people).
On failure every open window is saved to test-output/ as a PNG, next to the
websocket frames it saw.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from proj.testing.servers import SERVERS_KEY, DaphneServer, DaphneServers, HttpSession, login, server_env
from sheets.models import Sheet
from tests.browser.sheet_page import SheetPage
from tests.conftest import PASSWORD
from tests.servers import pytest_runtest_makereport  # noqa: F401

CHROMIUM = os.environ.get("LEDGERSHEET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
BASE_DIR = Path(__file__).resolve().parents[2]
OUTPUT_DIR = BASE_DIR / "test-output"
VENDORED_GRID = BASE_DIR / "static" / "vendor" / "slickgrid" / "slick.grid.js"
# Quicker reconnects than a real tab's (cap 15 s), so a test waits seconds, not a minute.
FAST_TIMING = {"backoffBase": 200, "backoffCap": 1500}
# The page pastes and edits in bursts; the rate limit has its own tests.
SERVER_ENV = {
    "SHEETS_RATE_LIMIT_PER_SECOND": "1000",
    "SHEETS_RATE_LIMIT_BURST": "1000",
    # Small enough that a test can paste past it and see the page split the edit.
    "SHEETS_MAX_FRAME_BYTES": "65536",
}

expect.set_options(timeout=10_000)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    # Playwright's sync API keeps an asyncio loop running in this thread, and
    # Django then refuses every ORM call the test makes (creating users and
    # sheets) as "async unsafe". Nothing here runs ORM code inside that loop,
    # so lift the guard, and only for the browser tests (package scope).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as driver:
            yield driver
            # While that loop runs, asgiref keeps Django's connections per
            # context rather than per thread: close them now, or the test
            # database cannot be dropped at the end of the session.
            connections.close_all()


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@pytest.fixture(scope="package")
def shared_server(django_db_setup: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaphneServer]:
    """One daphne process for every browser test: starting Django takes seconds, tests use their own sheets."""
    if not VENDORED_GRID.exists():
        pytest.fail(f"{VENDORED_GRID} is missing: `make setup` installs the grid library (npm) and copies it there")
    servers = DaphneServers(base_env=server_env(), log_dir=tmp_path_factory.mktemp("daphne"), stash=[])
    try:
        (first,) = servers.start(1, env=SERVER_ENV)
        yield first
    finally:
        servers.stop_all()


@pytest.fixture
def server(shared_server: DaphneServer, committed_db: None, request: pytest.FixtureRequest) -> DaphneServer:
    """The shared daphne, running (a test may have killed it), with its log attached to a failure report."""
    if not shared_server.running:
        shared_server.start()
    request.node.stash[SERVERS_KEY] = [shared_server]
    return shared_server


@dataclass
class Team:
    sheet: Sheet
    alice: Any
    bob: Any
    carol: Any  # a viewer


@pytest.fixture
def team(committed_db: None, make_user: Callable[..., Any], make_sheet: Callable[..., Sheet]) -> Team:
    alice, bob, carol = make_user(), make_user(), make_user()
    sheet = make_sheet(rows=30, cols=8, editors=[alice, bob], viewers=[carol])
    return Team(sheet=sheet, alice=alice, bob=bob, carol=carol)


@pytest.fixture
def window(browser: Browser, server: DaphneServer,
           request: pytest.FixtureRequest) -> Iterator[Callable[..., SheetPage]]:
    """A new browser context (a person of their own), logged in as ``user`` or not at all; nothing opened yet.

    Every window a test opens is saved to test-output/ when the test fails, and closed after it.
    """
    pages: list[SheetPage] = []

    def open_window(user: Any | None = None, *, timing: dict[str, int] | None = None, javascript: bool = True,
                    on: DaphneServer = server) -> SheetPage:
        context = browser.new_context(viewport={"width": 1200, "height": 720}, java_script_enabled=javascript)
        if user is not None:
            context.add_cookies([{"name": "sessionid", "value": login(on.base_url, user.username, PASSWORD),
                                  "url": on.base_url}])
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=on.base_url)
        context.add_init_script(f"window.LEDGERSHEET_TIMING = {json.dumps(timing or FAST_TIMING)};")
        page = SheetPage(context=context, page=context.new_page(), label=user.username if user else "anonymous")
        pages.append(page)
        return page

    # pytest counts a failed call before it tears fixtures down, so a rise
    # here means this test failed while its windows are still open.
    failed_before = request.session.testsfailed
    yield open_window
    if request.session.testsfailed > failed_before:
        save_failure_artifacts(request.node.name, pages)
    for page in pages:
        page.context.close()


@pytest.fixture
def open_sheet(window: Callable[..., SheetPage], server: DaphneServer, team: Team) -> Callable[..., SheetPage]:
    """Open the team's sheet as a user in a new window (``window``); wait until the grid is live."""

    def open_as(user: Any, *, timing: dict[str, int] | None = None,
                before_open: Callable[[Page], None] | None = None, on: DaphneServer = server) -> SheetPage:
        page = window(user, timing=timing, on=on)
        if before_open is not None:
            before_open(page.page)
        page.open(on.url(f"/sheets/{team.sheet.name}/"))
        return page

    return open_as


def save_failure_artifacts(test_name: str, pages: list[SheetPage]) -> None:
    """Save a screenshot and the websocket frames of every window the failed test opened."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name)
    for index, page in enumerate(pages, start=1):
        base = OUTPUT_DIR / f"{stem}-{index}-{page.label}"
        try:
            page.page.screenshot(path=f"{base}.png", full_page=True)
        except PlaywrightError as exc:  # a closed page must not hide the test's own failure
            Path(f"{base}.png.txt").write_text(f"no screenshot: {exc!r}\n")
        Path(f"{base}-frames.jsonl").write_text("".join(json.dumps([d, f]) + "\n" for d, f in page.frames))


@pytest.fixture
def api(server: DaphneServer, team: Team) -> HttpSession:
    """An HTTP session of alice's, for reading what the server holds."""
    session = HttpSession(server.base_url)
    session.login(team.alice.username, PASSWORD)
    return session
