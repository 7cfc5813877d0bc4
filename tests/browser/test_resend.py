"""An edit the server committed but whose ack never arrived is resent with its original id and appended once."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import Page, WebSocketRoute

pytestmark = pytest.mark.browser


class DropAckOnce:
    """Relay the page's sheet websocket to the real server; cut it right after the server commits an edit.

    The ack frame (and whatever follows it) is swallowed and the connection
    closed, as when a network drops between the commit and the reply. Frames
    are logged with the number of the connection they travelled on.
    """

    def __init__(self) -> None:
        self.armed = False
        self.connections = 0
        self.frames: list[tuple[int, str, dict[str, Any]]] = []

    def install(self, page: Page) -> None:
        page.route_web_socket(re.compile(r"/ws/sheet/"), self.relay)

    def relay(self, page_side: WebSocketRoute) -> None:
        self.connections += 1
        number = self.connections
        server_side = page_side.connect_to_server()
        cut = False  # closing is asynchronous: frames already on their way must not slip through

        def to_server(message: str | bytes) -> None:
            self.frames.append((number, "out", json.loads(message)))
            server_side.send(message)

        def to_page(message: str | bytes) -> None:
            nonlocal cut
            frame = json.loads(message)
            if cut or (self.armed and frame["type"] == "ack"):
                self.armed, cut = False, True
                self.frames.append((number, "dropped", frame))
                server_side.close()
                page_side.close(code=4000, reason="the test cut the line")
                return
            self.frames.append((number, "in", frame))
            page_side.send(message)

        page_side.on_message(to_server)
        server_side.on_message(to_page)

    def sent(self, kind: str) -> list[tuple[int, dict[str, Any]]]:
        return [(n, frame) for n, d, frame in self.frames if d == "out" and frame["type"] == kind]


def test_an_edit_whose_ack_was_lost_is_resent_with_its_original_id_and_appended_once(open_sheet, team, api):
    line = DropAckOnce()
    alice = open_sheet(team.alice, before_open=line.install)
    bob = open_sheet(team.bob)

    line.armed = True
    alice.type_into(0, 0, "exactly once")

    bob.expect_cell(0, 0, "exactly once")  # the server committed it
    alice.wait_live(pending=0)  # reconnected, caught up, resent, acknowledged
    alice.wait_seq(1)
    assert line.connections == 2
    (first_try, edit), (retry, resent) = line.sent("edit")
    assert (first_try, retry) == (1, 2)
    assert resent == edit, "the retry must carry the original client_event_id and changes"
    dropped = [frame for n, d, frame in line.frames if d == "dropped"]
    assert dropped[0] == {"type": "ack", "client_event_id": edit["client_event_id"], "seqs": [1]}
    assert [frame for n, d, frame in line.frames if n == 2 and d == "in" and frame["type"] == "ack"] == [
        {"type": "ack", "client_event_id": edit["client_event_id"], "seqs": [1]}]
    assert line.sent("subscribe")[-1] == (2, {"type": "subscribe", "since": 0})
    events = api.get_json(f"/api/sheets/{team.sheet.name}/events/")["events"]
    assert [(event["seq"], event["client_event_id"]) for event in events] == [(1, edit["client_event_id"])]
    assert alice.cells() == bob.cells() == {"A1": "exactly once"}
