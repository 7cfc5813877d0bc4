"""The real stack behind uvicorn, the alternative server, with either channels-redis layer (issue 5: "support both").

The same path a browser takes: the login form, the websocket handshake,
subscribe, edit, the ack and the events on a socket of another process
(so the channel layer carries them), and a reconnect that catches up
after that process was SIGKILLed. Then a restart of a private Redis:
live delivery must come back; with the default layer also to a socket
that subscribed during the outage (the pub/sub layer cannot: see
docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed

from proj.testing import open_websocket
from proj.testing.servers import DaphneServers, UvicornServer
from tests.live.clients import SheetClient
from tests.live.conftest import LIVE_ENV, Team
from tests.live.faultenv import RedisServer

pytestmark = [pytest.mark.live, pytest.mark.timeout(120)]

LAYERS = ["core", "pubsub"]
# How many edits after a Redis restart may go by before one reaches the
# other process live, and how long each may take to arrive.
RESUME_TRIES = 40
RESUME_WAIT_S = 0.5


@pytest.fixture(params=LAYERS)
def layer_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """LIVE_ENV with CHANNEL_LAYER set: the processes talk through Redis with that layer."""
    return {**LIVE_ENV, "CHANNEL_LAYER": request.param}


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test alone, so stopping it disturbs no other test run."""
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


async def _alice_and_bob(servers: DaphneServers, team: Team, env: dict[str, str]) -> tuple[SheetClient, SheetClient]:
    """Start two uvicorn processes and log alice in on the first, bob on the second (not connected yet)."""
    first, second = servers.start(2, env=env, server="uvicorn")
    assert isinstance(first, UvicornServer)
    alice = SheetClient(first, team.sheet.name, await asyncio.to_thread(team.login, first, team.alice), name="alice")
    bob = SheetClient(second, team.sheet.name, await asyncio.to_thread(team.login, second, team.bob), name="bob")
    return alice, bob


async def _until_live(writer: SheetClient, reader: SheetClient) -> int:
    """Edit until one edit reaches ``reader`` live, and return its seq.

    Only a group message brings it (the reader neither pings nor
    resubscribes); the first edits after a Redis restart may be lost while
    the layer reconnects, and the server fills that gap from the ledger.
    """
    for attempt in range(RESUME_TRIES):
        (seq,) = await writer.edit([(1, attempt % 8, f"after the restart {attempt}")])
        try:
            await reader.wait_for_seq(seq, timeout=RESUME_WAIT_S)
            return seq
        except TimeoutError:
            continue
    pytest.fail(f"no live delivery to {reader.name} in {RESUME_TRIES} edits after the Redis restart")


@pytest.mark.asyncio
async def test_login_subscribe_edit_and_catch_up_after_a_sigkill_under_uvicorn(
    daphne_servers: DaphneServers, team: Team, layer_env: dict[str, str]
) -> None:
    alice, bob = await _alice_and_bob(daphne_servers, team, layer_env)
    second = bob.server
    for client in (alice, bob):
        await client.connect()
        assert await client.subscribe(since=0) == [{"type": "caught_up", "head": 0}]

    assert await alice.edit([(0, 0, "one"), (0, 1, "two")]) == [1, 2]
    await bob.wait_for_seq(2)
    assert await bob.edit([(1, 0, "from bob")]) == [3]
    for client in (alice, bob):
        # An ack and its events come in either order (docs/protocol.md, section 7).
        await client.wait_for_seq(3)
    assert alice.applied == bob.applied

    await asyncio.to_thread(second.kill)
    with pytest.raises(ConnectionClosed):
        await bob.next_frame()
    for i in range(10):
        await alice.edit([(2, i % 8, f"while down {i}")])
    await asyncio.to_thread(second.start)
    *replay, last = await bob.reconnect()

    assert last == {"type": "caught_up", "head": 13}
    assert [event["seq"] for frame in replay for event in frame["events"]] == list(range(4, 14))
    # Live delivery again after the restart, both ways across the layer.
    await bob.edit([(3, 0, "after the restart")])
    await alice.wait_for_seq(14)
    await alice.edit([(3, 1, "and back")])
    for client in (alice, bob):
        await client.wait_for_seq(15)
    assert bob.applied == alice.applied
    for client in (alice, bob):
        await client.disconnect()


@pytest.mark.asyncio
async def test_handshake_refusals_keep_their_close_codes_under_uvicorn(
    daphne_servers: DaphneServers, team: Team, layer_env: dict[str, str]
) -> None:
    (server,) = daphne_servers.start(1, env=layer_env, server="uvicorn")
    path = f"/ws/sheet/{team.sheet.name}/"
    sessionid = await asyncio.to_thread(team.login, server, team.alice)

    anonymous = await open_websocket(server, path, sessionid=None)
    assert await anonymous.close_code() == 4401
    missing = await open_websocket(server, "/ws/sheet/no-such-sheet/", sessionid=sessionid)
    assert await missing.close_code() == 4404


@pytest.mark.asyncio
async def test_live_delivery_resumes_after_a_redis_restart_under_uvicorn(
    daphne_servers: DaphneServers, team: Team, layer_env: dict[str, str], private_redis: RedisServer
) -> None:
    alice, bob = await _alice_and_bob(daphne_servers, team, {**layer_env, "REDIS_URL": private_redis.url})
    for client in (alice, bob):
        await client.connect()
        await client.subscribe(since=0)
    await alice.edit([(0, 0, "before")])
    await bob.wait_for_seq(1)

    await asyncio.to_thread(private_redis.stop)
    assert await alice.edit([(0, 1, "while Redis is down")]) == [2], "edits commit without Redis"
    await asyncio.to_thread(private_redis.start)

    seq = await _until_live(alice, bob)
    await alice.wait_for_seq(seq)
    assert bob.applied == alice.applied
    for client in (alice, bob):
        await client.disconnect()


@pytest.mark.parametrize("connect_during_outage", [True, False], ids=["connect-and-subscribe", "subscribe"])
@pytest.mark.asyncio
async def test_a_socket_that_subscribes_while_redis_is_down_edits_and_goes_live_once_it_is_back(
    daphne_servers: DaphneServers, team: Team, private_redis: RedisServer, connect_during_outage: bool,
) -> None:
    # The default layer only: the pub/sub layer needs Redis to open a socket
    # at all, and its receive never fails, so a socket whose group_add failed
    # during the outage stays outside the group (docs/benchmarks.md, "Server
    # and channel layer"); that is why it is not the default.
    layer_env = {**LIVE_ENV, "CHANNEL_LAYER": "core"}
    alice, bob = await _alice_and_bob(daphne_servers, team, {**layer_env, "REDIS_URL": private_redis.url})
    await alice.connect()
    await alice.subscribe(since=0)
    if not connect_during_outage:
        await bob.connect()
    await asyncio.to_thread(private_redis.stop)

    if connect_during_outage:
        await bob.connect()
    await bob.subscribe(since=0)
    assert await bob.edit([(0, 0, "while Redis is down")]) == [1]
    await asyncio.to_thread(private_redis.start)

    await _until_live(alice, bob)
    for client in (alice, bob):
        await client.disconnect()
