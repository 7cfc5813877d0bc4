"""Frames the server sends must fit daphne's message limit (1 MiB by default), however large the sheet."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import connect

from tests.conftest import edit
from tests.live.conftest import LIVE_ENV

pytestmark = [pytest.mark.live, pytest.mark.asyncio]


@pytest.fixture
def big_sheet(team):
    # All 320 cells of the sheet with 5,000 characters each: a snapshot of
    # about 1.6 MB, over daphne's 1 MiB limit on incoming messages.
    edit(team.sheet, team.alice, *[(row, col, f"{row % 10}" * 5_000) for row in range(40) for col in range(8)])
    return team


async def test_a_snapshot_too_large_for_one_frame_becomes_a_replay_in_frames_that_fit(daphne_servers, big_sheet):
    (server,) = daphne_servers.start(1, env={**LIVE_ENV, "SHEETS_SNAPSHOT_THRESHOLD": "10"})
    sessionid = big_sheet.login(server, big_sheet.alice)
    async with connect(server.ws_url(f"/ws/sheet/{big_sheet.sheet.name}/"), origin=server.origin,
                       additional_headers={"Cookie": f"sessionid={sessionid}"}, max_size=None, proxy=None) as ws:
        await ws.send(json.dumps({"type": "subscribe", "since": 0}))
        seqs, sizes = [], []
        while (frame := json.loads(raw := await asyncio.wait_for(ws.recv(), 30)))["type"] != "caught_up":
            assert frame["type"] == "events", frame["type"]
            sizes.append(len(raw.encode()))
            seqs.extend(event["seq"] for event in frame["events"])
        assert frame == {"type": "caught_up", "head": 320}
        assert seqs == list(range(1, 321))
        assert len(sizes) > 1 and max(sizes) <= 1_000_000
        # The socket is alive and serves the next request.
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 30)) == {"type": "pong", "head": 320}
