"""Frames the server sends must fit daphne's message limit (1 MiB by default), however large the sheet."""

from __future__ import annotations

import pytest

from proj.testing import decode_frame, open_client, sheet_path
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
    client = await open_client(server, sheet_path(big_sheet.sheet.name), sessionid=sessionid, max_size=None)
    try:
        await client.send_subscribe(0)
        seqs, sizes = [], []
        # Read below the client: the size of each message as sent is the point.
        while (frame := decode_frame(raw := await client.transport.receive(30)))["type"] != "caught_up":
            assert frame["type"] == "events", frame["type"]
            sizes.append(len(raw.encode()))
            seqs.extend(event["seq"] for event in frame["events"])
        assert frame == {"type": "caught_up", "head": 320}
        assert seqs == list(range(1, 321))
        assert len(sizes) > 1 and max(sizes) <= 1_000_000
        # The socket is alive and serves the next request.
        await client.send_ping()
        assert await client.receive() == {"type": "pong", "head": 320}
    finally:
        await client.close()
