"""No socket is stale for more than a second, whatever the channel layer loses (issue 14).

Real daphne processes on the shared Redis and PostgreSQL; the layer is made
to lose on purpose: the group keys deleted under listening sockets, a
channel capacity of one message under a burst from two processes, sockets
of the same process opening and closing while announcements arrive. The
listeners never ping, so nothing the client does repairs a loss: only the
server's bound (sheets/broadcast/hub.py) can bring them the head, and each
must hold every acknowledged seq within STALE_AFTER of its ack. Each
listener is a strict SheetClient, so a gap, a duplicate or a reordering on
the way fails it.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
import urllib.request

import pytest
import redis

from proj.testing.servers import DaphneServer, DaphneServers
from tests.live.clients import SheetClient
from tests.live.conftest import LIVE_ENV, Team

pytestmark = [pytest.mark.live, pytest.mark.asyncio, pytest.mark.timeout(180)]

# The bound under test (docs/architecture.md, decision 14): two head checks
# of SHEETS_LIVE_CHECK_SECONDS (0.25 s) plus a read of the missing events.
STALE_AFTER = 1.0
LISTENERS_PER_SERVER = 3
GAPS = re.compile(r'^ledgersheet_gaps_total\{detected_by="(check|hub)"\} (\S+)$', re.MULTILINE)


async def listeners(servers: list[DaphneServer], team: Team, sessionids: list[str]) -> list[SheetClient]:
    clients = [SheetClient(server, team.sheet.name, sessionid, name=f"listener {i}@{server.name}")
               for server, sessionid in zip(servers, sessionids, strict=True)
               for i in range(LISTENERS_PER_SERVER)]
    for client in clients:
        await client.connect()
        await client.subscribe(since=0)
    return clients


async def all_hold(clients: list[SheetClient], seq: int, *, acked_at: float) -> float:
    """Wait until every client has applied ``seq``, at most STALE_AFTER after its ack; return how long after."""
    left = STALE_AFTER - (time.monotonic() - acked_at)
    await asyncio.gather(*(client.wait_for_seq(seq, timeout=max(left, 0.001)) for client in clients))
    return time.monotonic() - acked_at


def layer_losses(servers: list[DaphneServer]) -> float:
    """Announcements the hubs found lost and handed on from the ledger (from the processes' /metrics)."""
    total = 0.0
    for server in servers:
        with urllib.request.urlopen(f"{server.base_url}/metrics", timeout=10) as response:
            total += sum(float(value) for _, value in GAPS.findall(response.read().decode()))
    return total


@pytest.fixture
def layer() -> redis.Redis:
    return redis.Redis.from_url(os.environ["REDIS_URL"])


def delete_groups(layer: redis.Redis) -> int:
    """Delete every group membership of the channel layer, as an eviction or a FLUSHDB would."""
    keys = list(layer.scan_iter(match="asgi:group:*"))
    return layer.delete(*keys) if keys else 0


async def test_listeners_whose_group_keys_were_deleted_get_every_edit_within_a_second(
    daphne_servers: DaphneServers, team: Team, layer: redis.Redis
) -> None:
    servers = daphne_servers.start(2, env=LIVE_ENV)
    sessionids = await asyncio.gather(*(asyncio.to_thread(team.login, server, team.bob) for server in servers))
    clients = await listeners(servers, team, list(sessionids))
    writer = SheetClient(servers[0], team.sheet.name, await asyncio.to_thread(team.login, servers[0], team.alice),
                         name="writer")
    await writer.connect()
    await writer.subscribe(since=0)
    lost_before = layer_losses(servers)
    assert delete_groups(layer) >= 1

    worst = 0.0
    for i in range(10):
        [seq] = await writer.edit([(i, 0, f"after the flush {i}")])
        worst = max(worst, await all_hold(clients, seq, acked_at=time.monotonic()))
    # The loss was real: the hubs found it and handed the events on from the ledger.
    assert layer_losses(servers) > lost_before
    # And they joined again: the groups are back in Redis.
    assert list(layer.scan_iter(match="asgi:group:*"))
    for client in clients:
        assert [event["new_value"] for event in client.applied] == [f"after the flush {i}" for i in range(10)]
    print(f"worst staleness after deleting the groups: {worst * 1000:.0f} ms")


async def test_a_channel_capacity_of_one_under_a_burst_loses_no_client_the_head_for_a_second(
    daphne_servers: DaphneServers, team: Team
) -> None:
    servers = daphne_servers.start(2, env={**LIVE_ENV, "CHANNEL_LAYER_CAPACITY": "1"})
    sessionids = await asyncio.gather(*(asyncio.to_thread(team.login, server, team.bob) for server in servers))
    clients = await listeners(servers, team, list(sessionids))
    writers = []
    for i, server in enumerate(servers):
        writer = SheetClient(server, team.sheet.name, await asyncio.to_thread(team.login, server, team.alice),
                             name=f"writer {i}")
        await writer.connect()
        await writer.subscribe(since=0)
        writers.append(writer)

    async def burst(writer: SheetClient, column: int) -> list[int]:
        return [seq for i in range(40) for seq in await writer.edit([(i % 40, column, f"{writer.name} {i}")])]

    seqs = await asyncio.gather(*(burst(writer, column) for column, writer in enumerate(writers)))
    head = max(max(part) for part in seqs)
    assert head == 80
    worst = await all_hold(clients + writers, head, acked_at=time.monotonic())
    for client in clients:
        assert [event["seq"] for event in client.applied] == list(range(1, head + 1)), client.name
    print(f"staleness at the end of the burst, capacity 1: {worst * 1000:.0f} ms")


async def test_sockets_of_the_same_process_closing_mid_stream_cost_the_listeners_nothing(
    daphne_servers: DaphneServers, team: Team
) -> None:
    # channels-redis #366: a receive cancelled as its socket closes could
    # swallow a message popped for another socket of the process.
    servers = daphne_servers.start(2, env=LIVE_ENV)
    listener_sid, churn_sid, writer_sid = await asyncio.gather(
        asyncio.to_thread(team.login, servers[0], team.bob),
        asyncio.to_thread(team.login, servers[0], team.bob),
        asyncio.to_thread(team.login, servers[1], team.alice),
    )
    clients = await listeners(servers[:1], team, [listener_sid])
    writer = SheetClient(servers[1], team.sheet.name, writer_sid, name="writer@daphne-2")
    await writer.connect()
    await writer.subscribe(since=0)
    done = asyncio.Event()
    rng = random.Random(14)

    async def churn(n: int) -> int:
        cycles = 0
        while not done.is_set():
            passer = SheetClient(servers[0], team.sheet.name, churn_sid, name=f"churn {n}")
            await passer.connect()
            await passer.send_subscribe(0)
            if rng.random() < 0.5:
                await passer.next_frame()
            await passer.close()
            cycles += 1
        return cycles

    churners = [asyncio.create_task(churn(n)) for n in range(4)]
    worst = 0.0
    try:
        for i in range(60):
            [seq] = await writer.edit([(i % 40, 1, f"under churn {i}")])
            if i % 10 == 9:
                worst = max(worst, await all_hold(clients, seq, acked_at=time.monotonic()))
    finally:
        done.set()
        cycles = await asyncio.gather(*churners)
    assert sum(cycles) >= 4
    for client in clients:
        assert [event["seq"] for event in client.applied] == list(range(1, 61)), client.name
    print(f"worst staleness under {sum(cycles)} socket closes: {worst * 1000:.0f} ms")
