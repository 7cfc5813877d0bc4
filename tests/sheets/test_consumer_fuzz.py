"""Protocol fuzzing: whatever a client sends, the consumer answers by the protocol and writes nothing it did not ack.

Hypothesis generates junk text, arbitrary JSON, binary frames and frames
shaped like protocol messages with wrong, missing, extra, huge or negative
fields. After every frame the connection must still answer ``ping``; every
error frame must carry a documented code; and the ledger must hold exactly
the events that were acknowledged.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sheets.models import Role
from sheets.services import create_sheet, grant
from tests.conftest import unique
from tests.sheets.conftest import ORIGIN, TIMEOUT, _ledger_of, session_cookie, websocket_app

DOCUMENTED_CODES = {
    "invalid_json", "invalid_message", "not_subscribed", "out_of_range", "value_too_long", "too_many_changes",
    "conflict", "forbidden", "since_ahead", "rate_limited", "unavailable",
}
SERVER_FRAME_TYPES = {"events", "caught_up", "snapshot", "ack", "pong", "error"}

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
)
json_values = st.recursive(
    json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
cell_numbers = st.one_of(st.integers(min_value=-3, max_value=25), st.integers(), json_values)
changes = st.lists(
    st.fixed_dictionaries(
        {},
        optional={
            "row": cell_numbers, "col": cell_numbers,
            "value": st.one_of(st.text(max_size=40), json_values),
            "base_seq": st.one_of(st.integers(min_value=-2, max_value=50), json_values),
            "extra": json_values,
        },
    ),
    max_size=4,
)
message_shaped = st.fixed_dictionaries(
    {"type": st.one_of(st.sampled_from(["edit", "subscribe", "ping", "pong", "events", "EDIT", ""]), st.text(max_size=8))},
    optional={
        "since": st.one_of(st.integers(min_value=-2, max_value=60), json_values),
        "client_event_id": st.one_of(st.uuids().map(str), st.text(max_size=40), json_values),
        "changes": st.one_of(changes, json_values),
        "gaps": json_values,
        "junk": json_values,
    },
)
# Close to valid edits, so that acks, conflicts and every range error are
# reached too, not only parse errors (sheet: 20 x 20, values up to 8 chars).
near_valid_edits = st.fixed_dictionaries(
    {
        "type": st.just("edit"),
        "client_event_id": st.one_of(st.uuids().map(str), st.sampled_from(["00000000-0000-4000-8000-00000000000a"])),
        "changes": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {"row": st.integers(-2, 22), "col": st.integers(-2, 22), "value": st.text(max_size=10)},
                    optional={"base_seq": st.one_of(st.none(), st.integers(0, 40))},
                ),
                max_size=5,
            ),
            st.just([{"row": 0, "col": 0, "value": "x"}] * 1_001),
        ),
    }
)
frames = st.one_of(
    near_valid_edits.map(lambda message: ("text", json.dumps(message))),
    st.text(max_size=60).map(lambda text: ("text", text)),
    json_values.map(lambda value: ("text", json.dumps(value))),
    message_shaped.map(lambda message: ("text", json.dumps(message))),
    st.binary(max_size=60).map(lambda data: ("bytes", data)),
)


def _is_ping(kind: str, payload: Any) -> bool:
    if kind != "text":
        return False
    try:
        message = json.loads(payload)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("type") == "ping"


async def _exercise(sheet: Any, user: Any, batch: list[tuple[str, Any]]) -> tuple[list[int], list[dict[str, Any]]]:
    """Send each frame, then a ping; return the acked seqs and every frame received."""
    channel_layers.set(DEFAULT_CHANNEL_LAYER, channel_layers.make_backend(DEFAULT_CHANNEL_LAYER))
    communicator = WebsocketCommunicator(
        websocket_app(), f"/ws/sheet/{sheet.name}/",
        headers=[(b"origin", ORIGIN), (b"cookie", await session_cookie(user))],
    )
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    await communicator.send_json_to({"type": "subscribe", "since": 0})
    while (await communicator.receive_json_from(timeout=TIMEOUT))["type"] != "caught_up":
        pass
    acked: list[int] = []
    received: list[dict[str, Any]] = []
    for kind, payload in batch:
        # send_input, not send_to: the communicator's helper refuses empty frames.
        await communicator.send_input({"type": "websocket.receive", kind: payload})
        await communicator.send_json_to({"type": "ping"})
        pongs_expected = 2 if _is_ping(kind, payload) else 1
        while pongs_expected:
            frame = await communicator.receive_json_from(timeout=TIMEOUT)
            received.append(frame)
            assert frame.get("type") in SERVER_FRAME_TYPES, frame
            if frame["type"] == "pong":
                pongs_expected -= 1
            elif frame["type"] == "error":
                assert frame["code"] in DOCUMENTED_CODES, frame
                assert isinstance(frame["message"], str) and frame["message"]
            elif frame["type"] == "ack":
                acked.extend(frame["seqs"])
    await communicator.disconnect(timeout=TIMEOUT)
    return acked, received


@pytest.fixture
def fuzz_target(committed_db, settings):
    settings.SHEETS_RATE_LIMIT_BURST = 10_000
    settings.SHEETS_MAX_VALUE_LENGTH = 8
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    user = get_user_model().objects.create_user(username=unique("fuzz"))
    sheet = create_sheet(name=unique("fuzz-sheet"), rows=20, cols=20)
    grant(sheet=sheet, username=user.username, role=Role.EDITOR)
    return sheet, user


@hypothesis_settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(frames, min_size=1, max_size=6))
def test_any_frame_gets_a_documented_answer_keeps_the_socket_and_appends_only_what_was_acked(fuzz_target, batch):
    sheet, user = fuzz_target
    head_before, seqs_before = _ledger_of(sheet.pk)
    acked, received = asyncio.run(_exercise(sheet, user, batch))
    for frame in received:
        event(f"answer: {frame['type']} {frame.get('code', '')}".strip())
    head_after, seqs_after = _ledger_of(sheet.pk)
    appended = seqs_after[len(seqs_before):]
    # A retried client_event_id is acked again with its original seqs: count
    # each seq once, and only new ones must have been appended.
    assert sorted(set(acked) - set(seqs_before)) == appended
    assert head_after == head_before + len(appended)


@pytest.mark.asyncio
async def test_a_frame_that_is_only_an_error_appends_nothing_even_after_a_valid_edit(fuzz_target):
    sheet, user = fuzz_target
    batch = [
        ("text", json.dumps({"type": "edit", "client_event_id": "00000000-0000-4000-8000-000000000001",
                             "changes": [{"row": 1, "col": 1, "value": "ok"}]})),
        ("text", json.dumps({"type": "edit", "client_event_id": "00000000-0000-4000-8000-000000000002",
                             "changes": [{"row": 1, "col": 1, "value": "ok"}, {"row": -1, "col": 0, "value": "x"}]})),
        ("bytes", b"\xff\xfe"),
    ]
    acked, received = await _exercise(sheet, user, batch)
    errors = [frame["code"] for frame in received if frame["type"] == "error"]
    assert errors == ["out_of_range", "invalid_message"]
    assert await sync_to_async(_ledger_of)(sheet.pk) == (1, [1]) and acked == [1]
