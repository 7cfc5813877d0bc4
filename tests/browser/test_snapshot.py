"""A window that fell far behind gets a snapshot instead of the replay, and its grid becomes the server's."""

from __future__ import annotations

import pytest

from proj.testing.servers import DaphneServers, server_env
from tests.browser.conftest import SERVER_ENV

pytestmark = pytest.mark.browser


def test_a_window_far_behind_replaces_its_grid_with_the_snapshot(open_sheet, team, api, tmp_path_factory):
    # A server that answers "more than 3 events behind" with a snapshot.
    servers = DaphneServers(base_env=server_env(), log_dir=tmp_path_factory.mktemp("snapshot"), stash=[])
    try:
        (near,) = servers.start(1, env={**SERVER_ENV, "SHEETS_SNAPSHOT_THRESHOLD": "3"})
        alice, bob = open_sheet(team.alice, on=near), open_sheet(team.bob, on=near)
        alice.type_into(0, 0, "cleared later")
        alice.type_into(5, 5, "kept")
        bob.expect_cell(5, 5, "kept")
        alice.wait_live(pending=0)
        alice.wait_seq(2)

        alice.context.set_offline(True)
        alice.wait_status("offline")
        bob.select(0, 0)
        bob.page.keyboard.press("Delete")  # the snapshot lists only non-empty cells: A1 must go
        bob.paste(2, 1, [["1", "2", "3"], ["4", "5", "6"]])
        bob.wait_live(pending=0)
        bob.wait_seq(9)
        alice.context.set_offline(False)
        alice.wait_live(pending=0)
        alice.wait_seq(9)

        (snapshot,) = alice.received("snapshot")
        assert snapshot["head"] == 9
        assert alice.sent("subscribe")[-1] == {"type": "subscribe", "since": 2}
        expected = {"F6": "kept", "B3": "1", "C3": "2", "D3": "3", "B4": "4", "C4": "5", "D4": "6"}
        assert alice.cells() == bob.cells() == expected
        alice.expect_cell(0, 0, "")
    finally:
        servers.stop_all()
