"""Two real daphne processes sharing PostgreSQL and Redis, with real websocket clients (issue 2, live test)."""

from __future__ import annotations

import asyncio

import pytest

from proj.testing.servers import DaphneServers
from tests.live.clients import SheetClient
from tests.live.conftest import LIVE_ENV, Team

pytestmark = [pytest.mark.live, pytest.mark.asyncio, pytest.mark.timeout(120)]


async def start_pair(daphne_servers: DaphneServers, team: Team) -> tuple[SheetClient, SheetClient]:
    """Start two processes; alice is subscribed on the first, bob on the second."""
    first, second = daphne_servers.start(2, env=LIVE_ENV)
    alice_sid, bob_sid = await asyncio.gather(
        asyncio.to_thread(team.login, first, team.alice), asyncio.to_thread(team.login, second, team.bob)
    )
    alice = SheetClient(first, team.sheet.name, alice_sid, name="alice@daphne-1")
    bob = SheetClient(second, team.sheet.name, bob_sid, name="bob@daphne-2")
    for client in (alice, bob):
        await client.connect()
        assert await client.subscribe(since=0) == [{"type": "caught_up", "head": 0}]
    return alice, bob


async def test_an_edit_through_one_process_reaches_a_client_of_the_other(
    daphne_servers: DaphneServers, team: Team
) -> None:
    alice, bob = await start_pair(daphne_servers, team)

    seqs = await alice.edit([(3, 1, "12"), (3, 2, "x")])

    assert seqs == [1, 2]
    await asyncio.gather(alice.wait_for_seq(2), bob.wait_for_seq(2))
    assert [(e["seq"], e["row"], e["col"], e["old_value"], e["new_value"]) for e in bob.applied] == [
        (1, 3, 1, "", "12"), (2, 3, 2, "", "x"),
    ]
    assert {(e["broadcaster"], e["broadcaster_id"], e["client_event_id"]) for e in bob.applied} == {
        (team.alice.username, team.alice.pk, next(iter(alice.acks)))
    }
    assert alice.applied == bob.applied


async def test_a_reconnecting_client_receives_exactly_the_50_missed_events_then_caught_up(
    daphne_servers: DaphneServers, team: Team
) -> None:
    alice, bob = await start_pair(daphne_servers, team)
    await alice.edit([(0, 0, "before")])
    await bob.wait_for_seq(1)
    await bob.disconnect()

    for i in range(50):
        await alice.edit([(i % 40, i % 8, f"missed {i}")])
    await bob.connect()
    frames = await bob.subscribe()
    await alice.wait_for_seq(51)

    *replay, last = frames
    assert last == {"type": "caught_up", "head": 51}
    assert {frame["type"] for frame in replay} == {"events"}
    assert [event["seq"] for frame in replay for event in frame["events"]] == list(range(2, 52))
    assert [event["new_value"] for event in bob.applied[1:]] == [f"missed {i}" for i in range(50)]
    assert bob.applied == alice.applied


async def test_a_client_subscribing_during_200_edits_receives_every_seq_once_in_order(
    daphne_servers: DaphneServers, team: Team
) -> None:
    alice, _ = await start_pair(daphne_servers, team)
    reader = SheetClient(daphne_servers.servers[1], team.sheet.name, await asyncio.to_thread(
        team.login, daphne_servers.servers[1], team.bob), name="late reader@daphne-2")
    writing = asyncio.Event()

    async def write() -> None:
        for i in range(200):
            if i == 30:
                writing.set()
            # Cells repeat every 120 edits, so the grid check covers overwrites too.
            await alice.edit([(i % 40, (i // 40) % 3, f"v{i}")])

    writer = asyncio.create_task(write())
    await asyncio.wait_for(writing.wait(), 30)
    await reader.connect()
    await reader.subscribe(since=0)
    assert not writer.done(), "the writer finished before the reader subscribed; the test proves nothing"
    await asyncio.wait_for(writer, 60)

    # As a careful client does once the stream goes quiet (PROTOCOL 3.3): the
    # server sends what the client lacks before the pong (the channel layer
    # may drop a live message), and anything applied twice fails apply().
    for client in (reader, alice):
        assert await client.ping() == 200
        assert client.last_seq == 200
    assert [event["seq"] for event in reader.applied] == list(range(1, 201))
    assert reader.applied == alice.applied
    api = await asyncio.to_thread(team.http, daphne_servers.servers[0], team.alice)
    server_cells = await asyncio.to_thread(api.get_json, f"/api/sheets/{team.sheet.name}/cells/")
    assert server_cells["head"] == 200
    assert sorted(server_cells["cells"], key=lambda c: (c["row"], c["col"])) == reader.cells()
