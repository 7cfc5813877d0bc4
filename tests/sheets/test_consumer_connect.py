"""Who may open a sheet's websocket: the handshake and the close codes of docs/protocol.md, section 4."""

from __future__ import annotations

import pytest

from tests.sheets.conftest import TIMEOUT, ping, subscribe

pytestmark = pytest.mark.asyncio


async def closed_with(communicator) -> int:
    """Connect, expect the handshake to be accepted, and return the close code that follows."""
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected, "refusals other than a bad Origin accept the handshake so the browser sees the code"
    frame = await communicator.receive_output(timeout=TIMEOUT)
    assert frame["type"] == "websocket.close"
    return frame["code"]


async def test_anonymous_user_is_closed_with_4401(open_socket, ws_sheet, member):
    sheet = await ws_sheet(editors=(await member(),))
    assert await closed_with(await open_socket(sheet.name)) == 4401


async def test_anonymous_user_is_closed_with_4401_even_for_an_unknown_sheet(open_socket):
    assert await closed_with(await open_socket("no-such-sheet-anywhere")) == 4401


async def test_unknown_sheet_is_closed_with_4404(open_socket, member):
    assert await closed_with(await open_socket("no-such-sheet-anywhere", await member())) == 4404


@pytest.mark.parametrize("name", ["bad.name", "semi;colon", "x" * 65, "%C3%A9t%C3%A9"])
async def test_name_outside_the_name_pattern_is_closed_with_4404(open_socket, member, name):
    assert await closed_with(await open_socket(name, await member())) == 4404


async def test_user_without_membership_is_closed_with_4403(open_socket, ws_sheet, member):
    sheet = await ws_sheet(editors=(await member(),))
    assert await closed_with(await open_socket(sheet.name, await member())) == 4403


async def test_bad_origin_is_refused_at_the_handshake(open_socket, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await open_socket(sheet.name, alice, origin=b"http://evil.example")
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert not connected


async def test_missing_origin_is_refused_at_the_handshake(open_socket, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await open_socket(sheet.name, alice, origin=None)
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert not connected


@pytest.mark.parametrize("role", ["viewer", "editor"])
async def test_member_with_any_role_stays_connected_and_can_subscribe(connect, ws_sheet, member, role):
    user = await member()
    sheet = await ws_sheet(editors=(user,)) if role == "editor" else await ws_sheet(viewers=(user,))
    communicator = await connect(sheet, user)
    assert await subscribe(communicator) == [{"type": "caught_up", "head": 0}]
    assert await ping(communicator) == [{"type": "pong", "head": 0}]


async def test_superuser_may_open_any_sheet_without_membership(connect, ws_sheet, member):
    sheet = await ws_sheet(editors=(await member(),))
    communicator = await connect(sheet, await member(is_superuser=True, is_staff=True))
    assert await subscribe(communicator) == [{"type": "caught_up", "head": 0}]
