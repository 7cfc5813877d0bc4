"""An operation written over HTTP reaches the sheet's websocket subscribers like any other."""

from __future__ import annotations

import json
import uuid

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from sheets.tokens import create_token
from tests.sheets.conftest import TIMEOUT, receive, subscribe

pytestmark = pytest.mark.asyncio


@database_sync_to_async
def post_op(user, sheet, message):
    secret = create_token(user=user, name="live").secret
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = client.post(f"/api/sheets/{sheet.name}/ops/", data=json.dumps(message), content_type="application/json")
    return response.status_code, response.json()


async def test_a_subscriber_receives_the_events_of_an_http_edit_and_insert(connect, ws_sheet, member):
    alice, bob = await member(), await member()
    sheet = await ws_sheet(rows=4, cols=2, editors=(alice,), viewers=(bob,))
    watcher = await connect(sheet, bob)
    await subscribe(watcher)
    status, body = await post_op(alice, sheet, {"type": "edit", "client_event_id": str(uuid.uuid4()),
                                                "changes": [{"row_id": "r1", "col_id": "c1", "value": "from http"}]})
    assert (status, body) == (200, {"seqs": [1]})
    frame = await receive(watcher)
    assert frame["type"] == "events"
    (event,) = frame["events"]
    assert (event["seq"], event["row_id"], event["col_id"], event["new_value"]) == (1, "r1", "c1", "from http")
    assert event["broadcaster_id"] == alice.pk
    status, body = await post_op(alice, sheet, {"type": "insert_rows", "client_event_id": str(uuid.uuid4()),
                                                "after": None, "row_ids": ["top"]})
    assert (status, body) == (200, {"seqs": [2]})
    (event,) = (await receive(watcher))["events"]
    assert (event["seq"], event["type"], event["row_ids"]) == (2, "RowsInserted", ["top"])


async def test_removing_a_member_over_http_closes_their_socket_with_4403(connect, ws_sheet, member):
    owner, bob = await member(), await member()
    sheet = await ws_sheet(viewers=(bob,))
    await database_sync_to_async(_own)(sheet, owner)
    socket = await connect(sheet, bob)
    await subscribe(socket)

    @database_sync_to_async
    def delete():
        client = Client(HTTP_AUTHORIZATION=f"Bearer {create_token(user=owner, name='o').secret}")
        return client.delete(f"/api/sheets/{sheet.name}/members/{bob.username}/").status_code

    assert await delete() == 204
    closed = await socket.receive_output(timeout=TIMEOUT)
    assert (closed["type"], closed["code"]) == ("websocket.close", 4403)


def _own(sheet, user):
    from sheets.services import grant

    grant(sheet=sheet, username=user.username, role="owner")


