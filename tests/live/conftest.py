"""Live tests run real daphne processes (proj/testing/servers.py); the process fixtures come from tests/servers.py."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from proj.testing.servers import DaphneServer, HttpSession
from sheets.models import Sheet
from tests.conftest import PASSWORD
from tests.servers import daphne_servers, pytest_runtest_makereport  # noqa: F401

# These tests stream hundreds of edits from one socket; the per-connection
# rate limit is a separate feature with its own tests, so lift it here.
LIVE_ENV = {"SHEETS_RATE_LIMIT_PER_SECOND": "100000", "SHEETS_RATE_LIMIT_BURST": "100000"}


@dataclass
class Team:
    """A sheet with two editors, alice and bob, whose passwords are PASSWORD."""

    sheet: Sheet
    alice: Any
    bob: Any

    def login(self, server: DaphneServer, user: Any) -> str:
        """Log ``user`` in through /accounts/login/ on ``server`` and return the sessionid."""
        return HttpSession(server.base_url).login(user.username, PASSWORD)

    def http(self, server: DaphneServer, user: Any) -> HttpSession:
        session = HttpSession(server.base_url)
        session.login(user.username, PASSWORD)
        return session


@pytest.fixture
def team(committed_db: None, make_user: Callable[..., Any], make_sheet: Callable[..., Sheet]) -> Team:
    alice, bob = make_user(), make_user()
    return Team(sheet=make_sheet(rows=40, cols=8, editors=[alice, bob]), alice=alice, bob=bob)
