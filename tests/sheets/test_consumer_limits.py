"""Limits against abuse: frame size, idle connections, revoked rights, and the metrics they feed."""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async

from sheets.models import Membership
from tests.sheets.conftest import TIMEOUT, cell, ledger_of, ping, receive, receive_until, send_edit, subscribe


def sample(name: str, labels: dict[str, str] | None = None) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value(name, labels or {}) or 0.0


@pytest.mark.asyncio
async def test_a_frame_over_the_size_limit_closes_with_4413_and_writes_nothing(settings, connect, ws_sheet, member):
    settings.SHEETS_MAX_FRAME_BYTES = 2_000
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    frame = {"type": "edit", "client_event_id": "6f1c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f",
             "changes": [{"row": 0, "col": 0, "value": "x" * 3_000}]}
    await communicator.send_to(text_data=json.dumps(frame))
    closed = await communicator.receive_output(timeout=TIMEOUT)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4413)
    assert await ledger_of(sheet.pk) == (0, [])


@pytest.mark.asyncio
async def test_a_frame_under_the_limit_is_handled(settings, connect, ws_sheet, member):
    settings.SHEETS_MAX_FRAME_BYTES = 2_000
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    await send_edit(communicator, cell(0, 0, "x" * 1_000))
    frames = [await receive(communicator), await receive(communicator)]
    assert sorted(frame["type"] for frame in frames) == ["ack", "events"]


@pytest.mark.asyncio
async def test_a_silent_connection_is_closed_with_4408_after_the_idle_timeout(settings, connect, ws_sheet, member):
    settings.SHEETS_IDLE_TIMEOUT_SECONDS = 1
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    closed = await communicator.receive_output(timeout=TIMEOUT)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4408)


@pytest.mark.asyncio
async def test_pings_keep_a_connection_alive(settings, connect, ws_sheet, member):
    settings.SHEETS_IDLE_TIMEOUT_SECONDS = 2
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    # Each ping restarts the idle clock; pinging for longer than the timeout
    # (each round trip waited for, never slept) proves the socket stays open.
    import time

    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        assert (await ping(communicator))[-1]["type"] == "pong"
    assert await communicator.receive_nothing(timeout=0.2)


@pytest.mark.asyncio
async def test_a_revoked_member_is_closed_with_4403_on_resubscribe(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(viewers=(alice,))
    communicator = await connect(sheet, alice)
    await subscribe(communicator)
    await database_sync_to_async(Membership.objects.filter(sheet=sheet, user=alice).delete)()
    await communicator.send_json_to({"type": "subscribe", "since": 0})
    closed = await communicator.receive_output(timeout=TIMEOUT)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4403)


@pytest.mark.asyncio
async def test_metrics_count_connections_appends_rejections_and_client_reported_gaps(connect, ws_sheet, member):
    alice, viewer = await member(), await member()
    sheet = await ws_sheet(editors=(alice,), viewers=(viewer,))
    before = {
        "open": sample("ledgersheet_open_connections"),
        "appended": sample("ledgersheet_events_appended_total"),
        "forbidden": sample("ledgersheet_edits_rejected_total", {"code": "forbidden"}),
        "gaps": sample("ledgersheet_gaps_total", {"detected_by": "client"}),
        "replays": sample("ledgersheet_replays_total"),
    }
    writer = await connect(sheet, alice)
    reader = await connect(sheet, viewer)
    await subscribe(writer)
    await subscribe(reader)
    # The handshake is accepted before the rights are read; a served
    # subscribe proves both connections finished connecting.
    assert sample("ledgersheet_open_connections") == before["open"] + 2
    await send_edit(writer, cell(0, 0, "a"), cell(0, 1, "b"))
    assert sorted([(await receive(writer))["type"], (await receive(writer))["type"]]) == ["ack", "events"]
    await send_edit(reader, cell(0, 0, "nope"))
    await receive_until(reader, "error")
    # The writer's events may reach the reader before or after its error.
    await reader.send_json_to({"type": "ping", "gaps": 3})
    await receive_until(reader, "pong")
    assert sample("ledgersheet_events_appended_total") == before["appended"] + 2
    assert sample("ledgersheet_edits_rejected_total", {"code": "forbidden"}) == before["forbidden"] + 1
    assert sample("ledgersheet_gaps_total", {"detected_by": "client"}) == before["gaps"] + 3
    assert sample("ledgersheet_replays_total") == before["replays"] + 2
    await reader.disconnect(timeout=TIMEOUT)
    assert sample("ledgersheet_open_connections") == before["open"] + 1


@pytest.mark.asyncio
async def test_connections_over_the_per_user_cap_close_with_4429_until_one_leaves(settings, open_socket, connect,
                                                                                   ws_sheet, member):
    settings.SHEETS_MAX_CONNECTIONS_PER_USER = 2
    alice, bob = await member(), await member()
    sheet = await ws_sheet(editors=(alice, bob))
    first = await connect(sheet, alice)
    await subscribe(first)
    second = await connect(sheet, alice)
    await subscribe(second)
    third = await open_socket(sheet.name, alice)
    assert (await third.connect(timeout=TIMEOUT))[0]
    closed = await third.receive_output(timeout=TIMEOUT)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4429)
    # Another user is not affected, and a freed slot can be used again.
    await subscribe(await connect(sheet, bob))
    await first.disconnect(timeout=TIMEOUT)
    await subscribe(await connect(sheet, alice))
