"""The real stack behind daphne: login form, handshake refusals, and a process killed with SIGKILL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from proj.testing import open_websocket
from proj.testing.servers import DaphneServers, HttpSession, LoginFailed
from tests.conftest import PASSWORD
from tests.live.clients import SheetClient
from tests.live.conftest import LIVE_ENV, Team

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]


def test_login_form_gives_a_session_only_for_the_right_password(daphne_servers: DaphneServers, team: Team) -> None:
    (server,) = daphne_servers.start(1)
    with pytest.raises(LoginFailed):
        HttpSession(server.base_url).login(team.alice.username, PASSWORD + "x")

    session = HttpSession(server.base_url)
    session.login(team.alice.username, PASSWORD)

    assert session.get_json(f"/api/sheets/{team.sheet.name}/cells/") == {
        "head": 0, "at": 0, "row_count": 40, "col_count": 8, "row_from": 0,
        "row_ids": [f"r{i}" for i in range(40)], "col_ids": [f"c{i}" for i in range(8)], "cells": [],
    }
    assert HttpSession(server.base_url).request("GET", f"/api/sheets/{team.sheet.name}/cells/")[0] == 401


@pytest.fixture
def outsider(team: Team, make_user: Callable[..., Any]) -> Any:
    """A user with no role on the team's sheet."""
    return make_user()


@pytest.mark.asyncio
async def test_websocket_refusals_through_daphne(daphne_servers: DaphneServers, team: Team, outsider: Any) -> None:
    (server,) = daphne_servers.start(1)
    sessionid = await asyncio.to_thread(team.login, server, team.alice)
    stranger_sessionid = await asyncio.to_thread(team.login, server, outsider)
    path = f"/ws/sheet/{team.sheet.name}/"

    with pytest.raises(InvalidStatus) as refused:
        await open_websocket(server, path, sessionid=sessionid, origin="http://evil.example")
    assert refused.value.response.status_code == 403

    anonymous = await open_websocket(server, path, sessionid=None)
    assert await anonymous.close_code() == 4401
    missing = await open_websocket(server, "/ws/sheet/no-such-sheet/", sessionid=sessionid)
    assert await missing.close_code() == 4404
    stranger = await open_websocket(server, path, sessionid=stranger_sessionid)
    assert await stranger.close_code() == 4403


@pytest.mark.asyncio
async def test_a_client_of_a_killed_process_catches_up_after_the_restart(
    daphne_servers: DaphneServers, team: Team
) -> None:
    first, second = daphne_servers.start(2, env=LIVE_ENV)
    alice = SheetClient(first, team.sheet.name, await asyncio.to_thread(team.login, first, team.alice), name="alice")
    bob = SheetClient(second, team.sheet.name, await asyncio.to_thread(team.login, second, team.bob), name="bob")
    for client in (alice, bob):
        await client.connect()
        await client.subscribe(since=0)
    await alice.edit([(0, 0, "before the crash")])
    await bob.wait_for_seq(1)

    await asyncio.to_thread(second.kill)
    with pytest.raises(ConnectionClosed):
        await bob.next_frame()
    for i in range(20):
        await alice.edit([(1, i % 8, f"while down {i}")])
    await asyncio.to_thread(second.start)
    frames = await bob.reconnect()

    *replay, last = frames
    assert last == {"type": "caught_up", "head": 21}
    assert [event["seq"] for frame in replay for event in frame["events"]] == list(range(2, 22))
    await alice.wait_for_seq(21)
    assert bob.applied == alice.applied
