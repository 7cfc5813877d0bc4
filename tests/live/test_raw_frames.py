"""Frames no JSON library would send, through a real daphne: binary, invalid UTF-8, megabytes."""

from __future__ import annotations

import contextlib
import json

import pytest
from asgiref.sync import sync_to_async
from websockets.exceptions import ConnectionClosed

from ledger.models import Event
from proj.testing import ProtocolClient, edit_frame, open_client, sheet_path
from tests.live.conftest import LIVE_ENV

pytestmark = [pytest.mark.live, pytest.mark.asyncio]

# The consumer's own limit, below daphne's transport limit (its
# --websocket-max-message-size, 1 MiB by default), so both can be seen.
FRAME_LIMIT = 512 * 1024


@pytest.fixture
def server(daphne_servers):
    (server,) = daphne_servers.start(1, env={**LIVE_ENV, "SHEETS_MAX_FRAME_BYTES": str(FRAME_LIMIT)})
    return server


async def subscribed(server, team) -> ProtocolClient:
    client = await open_client(server, sheet_path(team.sheet.name), sessionid=team.login(server, team.alice))
    assert [frame["type"] for frame in await client.subscribe()] == ["caught_up"]
    return client


async def still_answers(client: ProtocolClient) -> None:
    await client.send_ping()
    assert await client.receive() == {"type": "pong", "head": 0}


async def appended(team) -> bool:
    return await sync_to_async(Event.objects.filter(stream__sheet=team.sheet).exists)()


def edit_with_value(length: int) -> str:
    return json.dumps(edit_frame([(0, 0, "x" * length)]))


async def test_a_binary_frame_is_invalid_message_and_the_socket_stays(server, team):
    client = await subscribed(server, team)
    await client.transport.send(b"\x00\x01binary\xff")
    error = await client.receive()
    assert (error["type"], error["code"]) == ("error", "invalid_message")
    await still_answers(client)
    await client.close()


async def test_a_long_value_under_the_frame_limit_is_value_too_long_and_the_socket_stays(server, team):
    client = await subscribed(server, team)
    await client.transport.send(edit_with_value(FRAME_LIMIT - 1024))
    error = await client.receive()
    assert (error["type"], error["code"]) == ("error", "value_too_long")
    await still_answers(client)
    await client.close()
    assert not await appended(team)


async def test_a_frame_over_the_consumers_limit_closes_with_4413_and_writes_nothing(server, team):
    client = await subscribed(server, team)
    await client.transport.send(edit_with_value(FRAME_LIMIT + 1))
    assert await client.transport.close_code() == 4413
    assert not await appended(team)


async def test_a_two_mebibyte_frame_is_dropped_by_daphne_and_the_process_lives_on(server, team):
    # Over daphne's transport limit the websocket layer drops the TCP
    # connection without a close frame (autobahn's fail-by-drop): the
    # client sees an abnormal closure and nothing reaches the consumer.
    client = await subscribed(server, team)
    # The drop may land while the frame is still being written.
    with contextlib.suppress(ConnectionClosed, OSError):
        await client.transport.send(edit_with_value(2 * 1024 * 1024))
    assert await client.transport.close_code() is None
    assert not await appended(team)
    await still_answers(await subscribed(server, team))


async def test_invalid_utf8_in_a_text_frame_fails_the_connection(server, team):
    # RFC 6455 section 8.1: an endpoint receiving invalid UTF-8 in a text
    # frame must fail the connection; daphne's websocket layer does so, by
    # dropping it, before the consumer sees anything.
    client = await subscribed(server, team)
    await client.transport.connection.send(b'{"type": "ping", "x": "\xff\xfe"}', text=True)
    assert await client.transport.close_code() is None
    assert not await appended(team)
    # The process is unharmed: a new socket works.
    await still_answers(await subscribed(server, team))
