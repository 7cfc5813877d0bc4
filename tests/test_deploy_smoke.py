"""deploy/smoke.py, the operator's end-to-end check, passes against a real daphne and fails on a wrong password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from proj.testing.servers import DaphneServers
from tests.conftest import PASSWORD
from tests.live.conftest import LIVE_ENV, team  # noqa: F401
from tests.servers import daphne_servers, pytest_runtest_makereport  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]


def smoke(base_url: str, username: str, sheet: str, password: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "smoke.py"), base_url, username, sheet, "--clients", "3"],
        env={**os.environ, "LEDGERSHEET_PASSWORD": password}, capture_output=True, text=True, timeout=60,
    )


def test_smoke_logs_in_edits_and_sees_every_socket_receive_the_edit(daphne_servers: DaphneServers, team):  # noqa: F811
    (server,) = daphne_servers.start(1, env=LIVE_ENV)
    result = smoke(server.base_url, team.alice.username, team.sheet.name, PASSWORD)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok    socket 3 received the edit live" in result.stdout
    assert result.stdout.rstrip().endswith("all checks passed")
    assert team.sheet.stream.events.count() == 1


def test_smoke_fails_at_login_with_a_wrong_password(daphne_servers: DaphneServers, team):  # noqa: F811
    (server,) = daphne_servers.start(1, env=LIVE_ENV)
    result = smoke(server.base_url, team.alice.username, team.sheet.name, "not-" + PASSWORD)
    assert result.returncode == 1
    assert "FAIL  logged in as" in result.stdout
    assert team.sheet.stream.events.count() == 0
