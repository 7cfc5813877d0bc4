"""Bad input gets an error frame, keeps the connection open and writes nothing (docs/protocol.md, section 8)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import pytest_asyncio

from tests.sheets.conftest import cell, edit_async, ledger_of, ping, receive, send_edit, subscribe

pytestmark = pytest.mark.asyncio

EDIT_ID = "0b6f3c9e-5d1a-4c2b-9e8f-7a6b5c4d3e2f"


def edit_frame(**fields: Any) -> str:
    """Return a valid edit frame with ``fields`` replaced (a field set to ... is removed)."""
    frame: dict[str, Any] = {"type": "edit", "client_event_id": EDIT_ID, "changes": [cell(0, 0, "x")]}
    frame.update(fields)
    return json.dumps({key: value for key, value in frame.items() if value is not ...})


def edit_with_change(**fields: Any) -> str:
    """Return an edit frame whose one change has ``fields`` replaced (a field set to ... is removed)."""
    change = {"row": 0, "col": 0, "value": "x"}
    change.update(fields)
    return edit_frame(changes=[{key: value for key, value in change.items() if value is not ...}])


# (frame text, error code, client_event_id expected in the error frame)
BAD_FRAMES = {
    "not JSON": ("{", "invalid_json", None),
    "words": ("hello there", "invalid_json", None),
    "single quotes": ("{'type': 'ping'}", "invalid_json", None),
    "JSON nested deeper than the parser goes": ("[" * 100_000, "invalid_json", None),
    "array": ("[]", "invalid_message", None),
    "number": ("3", "invalid_message", None),
    "null": ("null", "invalid_message", None),
    "string": ('"ping"', "invalid_message", None),
    "object without type": ("{}", "invalid_message", None),
    "numeric type": ('{"type": 5}', "invalid_message", None),
    "null type": ('{"type": null}', "invalid_message", None),
    "unknown type": ('{"type": "explode"}', "invalid_message", None),
    "subscribe without since": ('{"type": "subscribe"}', "invalid_message", None),
    "since as a string": ('{"type": "subscribe", "since": "1"}', "invalid_message", None),
    "since as a float": ('{"type": "subscribe", "since": 1.0}', "invalid_message", None),
    "since as a bool": ('{"type": "subscribe", "since": true}', "invalid_message", None),
    "negative since": ('{"type": "subscribe", "since": -1}', "invalid_message", None),
    "edit without client_event_id": (edit_frame(client_event_id=...), "invalid_message", None),
    "numeric client_event_id": (edit_frame(client_event_id=42), "invalid_message", None),
    "client_event_id not a UUID": (edit_frame(client_event_id="not-a-uuid"), "invalid_message", "not-a-uuid"),
    "edit without changes": (edit_frame(changes=...), "invalid_message", EDIT_ID),
    "changes as an object": (edit_frame(changes={"row": 0}), "invalid_message", EDIT_ID),
    "empty changes": (edit_frame(changes=[]), "invalid_message", EDIT_ID),
    "change not an object": (edit_frame(changes=[[0, 0, "x"]]), "invalid_message", EDIT_ID),
    "row as a string": (edit_with_change(row="0"), "invalid_message", EDIT_ID),
    "row as a float": (edit_with_change(row=0.0), "invalid_message", EDIT_ID),
    "row as a bool": (edit_with_change(row=False), "invalid_message", EDIT_ID),
    "col missing": (edit_with_change(col=...), "invalid_message", EDIT_ID),
    "col as null": (edit_with_change(col=None), "invalid_message", EDIT_ID),
    "value missing": (edit_with_change(value=...), "invalid_message", EDIT_ID),
    "value as a number": (edit_with_change(value=5), "invalid_message", EDIT_ID),
    "value as null": (edit_with_change(value=None), "invalid_message", EDIT_ID),
    "value with NUL": (edit_with_change(value="a\x00b"), "invalid_message", EDIT_ID),
    "value with a lone surrogate": (edit_with_change(value="a\ud800b"), "invalid_message", EDIT_ID),
    "base_seq as a string": (edit_with_change(base_seq="1"), "invalid_message", EDIT_ID),
    "base_seq as a bool": (edit_with_change(base_seq=True), "invalid_message", EDIT_ID),
    "negative base_seq": (edit_with_change(base_seq=-1), "invalid_message", EDIT_ID),
    "row past the last row": (edit_with_change(row=4), "out_of_range", EDIT_ID),
    "col past the last col": (edit_with_change(col=3), "out_of_range", EDIT_ID),
    "negative row": (edit_with_change(row=-1), "out_of_range", EDIT_ID),
    "negative col": (edit_with_change(col=-1), "out_of_range", EDIT_ID),
    "row beyond any integer column": (edit_with_change(row=10**20), "out_of_range", EDIT_ID),
    "last change out of range": (
        edit_frame(changes=[cell(0, 0, "ok"), cell(1, 1, "ok"), cell(0, 99, "out")]), "out_of_range", EDIT_ID
    ),
    "value over the limit": (edit_with_change(value="x" * 11), "value_too_long", EDIT_ID),
    "last value over the limit": (
        edit_frame(changes=[cell(0, 0, "ok"), cell(1, 1, "y" * 11)]), "value_too_long", EDIT_ID
    ),
    "more changes than the limit": (
        edit_frame(changes=[cell(0, col, "x") for col in range(3)] + [cell(1, 0, "x")]), "too_many_changes", EDIT_ID
    ),
}


@pytest.fixture
def small_limits(settings):
    settings.SHEETS_MAX_VALUE_LENGTH = 10
    settings.SHEETS_MAX_CHANGES = 3


@pytest_asyncio.fixture
async def subscribed(small_limits, connect, ws_sheet, member):
    """An editor subscribed to a 4x3 sheet holding one event: (communicator, sheet)."""
    alice = await member()
    sheet = await ws_sheet(rows=4, cols=3, editors=(alice,))
    await edit_async(sheet, alice, (0, 0, "before"))
    communicator = await connect(sheet, alice)
    await subscribe(communicator, since=1)
    return communicator, sheet


def assert_error(frame: dict[str, Any], code: str, client_event_id: str | None) -> None:
    assert frame["type"] == "error" and frame["code"] == code, frame
    assert isinstance(frame["message"], str) and frame["message"]
    if client_event_id is None:
        assert "client_event_id" not in frame
    else:
        assert frame["client_event_id"] == client_event_id


@pytest.mark.parametrize("text, code, client_event_id", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
async def test_bad_frame_gets_its_error_code_keeps_the_socket_open_and_writes_nothing(
    subscribed, text, code, client_event_id
):
    communicator, sheet = subscribed
    await communicator.send_to(text_data=text)
    assert_error(await receive(communicator), code, client_event_id)
    assert await ping(communicator) == [{"type": "pong", "head": 1}]
    assert await ledger_of(sheet.pk) == (1, [1])


async def test_empty_text_frame_is_invalid_json(subscribed):
    communicator, sheet = subscribed
    # send_to refuses an empty string, so hand the ASGI message over directly.
    await communicator.send_input({"type": "websocket.receive", "text": ""})
    assert_error(await receive(communicator), "invalid_json", None)
    assert await ping(communicator) == [{"type": "pong", "head": 1}]


async def test_binary_frame_is_invalid_message_even_when_it_holds_valid_json(subscribed):
    communicator, sheet = subscribed
    await communicator.send_to(bytes_data=json.dumps({"type": "ping"}).encode())
    assert_error(await receive(communicator), "invalid_message", None)
    assert await ping(communicator) == [{"type": "pong", "head": 1}]


async def test_values_and_changes_at_the_limits_are_accepted(subscribed):
    communicator, sheet = subscribed
    client_event_id = await send_edit(communicator, cell(1, 0, "x" * 10), cell(3, 2, ""), cell(2, 1, "é" * 10))
    frames = [await receive(communicator), await receive(communicator)]
    assert {"type": "ack", "client_event_id": client_event_id, "seqs": [2, 3, 4]} in frames
    assert await ledger_of(sheet.pk) == (4, [1, 2, 3, 4])


async def test_a_good_edit_after_a_run_of_bad_frames_is_appended_normally(subscribed):
    communicator, sheet = subscribed
    for text, _, _ in BAD_FRAMES.values():
        await communicator.send_to(text_data=text)
    codes = [(await receive(communicator))["code"] for _ in BAD_FRAMES]
    assert codes == [code for _, code, _ in BAD_FRAMES.values()]
    client_event_id = await send_edit(communicator, cell(2, 2, "good"))
    frames = [await receive(communicator), await receive(communicator)]
    assert {"type": "ack", "client_event_id": client_event_id, "seqs": [2]} in frames
    assert await ledger_of(sheet.pk) == (2, [1, 2])


async def test_refused_edit_can_be_retried_with_the_same_client_event_id(subscribed):
    communicator, sheet = subscribed
    client_event_id = str(uuid.uuid4())
    await send_edit(communicator, cell(9, 0, "out"), client_event_id=client_event_id)
    assert_error(await receive(communicator), "out_of_range", client_event_id)
    await send_edit(communicator, cell(3, 0, "in"), client_event_id=client_event_id)
    frames = [await receive(communicator), await receive(communicator)]
    assert {"type": "ack", "client_event_id": client_event_id, "seqs": [2]} in frames


async def test_edit_before_subscribe_is_not_subscribed_and_writes_nothing(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    client_event_id = await send_edit(communicator, cell(0, 0, "early"))
    assert_error(await receive(communicator), "not_subscribed", client_event_id)
    assert await ledger_of(sheet.pk) == (0, [])
    assert await subscribe(communicator) == [{"type": "caught_up", "head": 0}]


async def test_malformed_edit_before_subscribe_is_still_not_subscribed(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await communicator.send_to(text_data=edit_frame(changes=[]))
    assert_error(await receive(communicator), "not_subscribed", EDIT_ID)


async def test_ping_before_subscribe_is_not_subscribed(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await communicator.send_json_to({"type": "ping"})
    assert_error(await receive(communicator), "not_subscribed", None)
    assert await subscribe(communicator) == [{"type": "caught_up", "head": 0}]
    assert await ping(communicator) == [{"type": "pong", "head": 0}]


async def test_edit_after_a_refused_subscribe_is_not_subscribed(connect, ws_sheet, member):
    alice = await member()
    sheet = await ws_sheet(editors=(alice,))
    communicator = await connect(sheet, alice)
    await communicator.send_json_to({"type": "subscribe", "since": 5})
    assert_error(await receive(communicator), "since_ahead", None)
    client_event_id = await send_edit(communicator, cell(0, 0, "x"))
    assert_error(await receive(communicator), "not_subscribed", client_event_id)
    assert await ledger_of(sheet.pk) == (0, [])
