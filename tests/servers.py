"""The pytest side of proj/testing/servers.py: the ``daphne_servers`` fixture and the hook that shows server logs.

How to use it (tests/live does exactly this; tests/browser can do the same):

    # tests/<dir>/conftest.py
    from tests.servers import daphne_servers, pytest_runtest_makereport  # noqa: F401

    def test_something(daphne_servers, make_sheet, make_user):
        alice = make_user()                              # password: tests.conftest.PASSWORD
        sheet = make_sheet(editors=[alice])
        first, second = daphne_servers.start(2)          # list[DaphneServer], both answering HTTP
        first.base_url                                   # "http://127.0.0.1:<port>"; first.url("/sheets/x/")
        sessionid = login(first.base_url, alice.username, PASSWORD)   # or HttpSession(...).login(...)
        first.ws_url(f"/ws/sheet/{sheet.name}/")         # "ws://127.0.0.1:<port>/ws/sheet/.../"
        second.kill()                                    # SIGKILL, as a crash; second.stop() is SIGTERM
        second.start()                                   # the same port again, waits until ready

- ``daphne_servers`` depends on ``committed_db``: the processes read the test
  database that pytest-django created, so everything a test creates must be
  committed (never use the ``db`` fixture with it). Its ``start(n, env=...)``
  returns ``n`` ready servers (``env`` overrides settings for those
  processes, e.g. ``SHEETS_RATE_LIMIT_BURST``); teardown stops every one.
- Importing ``pytest_runtest_makereport`` into the conftest attaches the log
  of every server in ``item.stash[SERVERS_KEY]`` to the report of a failing
  test (``daphne_servers`` fills it; a longer-lived server built with
  ``DaphneServers(base_env=server_env(), ...)`` can be put there too).
- The servers, ``HttpSession``, ``login``, ``server_env`` and the rest are
  proj/testing/servers.py's; the websocket clients are proj.testing's
  ``ProtocolClient`` (proj/testing/protocol.py, transports.py), and
  tests/live/clients.py's ``SheetClient`` on top of it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from proj.testing.servers import SERVERS_KEY, DaphneServer, DaphneServers, server_env

__all__ = ["daphne_servers", "pytest_runtest_makereport"]


@pytest.fixture
def daphne_servers(committed_db: None, request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaphneServers]:
    """Start real daphne processes on the test database with ``daphne_servers.start(n)``."""
    stash: list[DaphneServer] = []
    request.node.stash[SERVERS_KEY] = stash
    log_dir = tmp_path_factory.mktemp("daphne")
    servers = DaphneServers(base_env=server_env(), log_dir=log_dir, stash=stash)
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item,
                              call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach every daphne log of a failing test to its report."""
    report = yield
    if report.failed:
        for server in item.stash.get(SERVERS_KEY, []):
            report.sections.append((f"{server.name} log ({server.log_path})", server.log_tail()))
    return report
