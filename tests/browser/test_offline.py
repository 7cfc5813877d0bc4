"""A window that loses its network keeps its edits, then catches up and sends them: nothing is lost.

What Chromium does (checked by hand, Chromium 156): Playwright's
``context.set_offline(True)`` fires the page's ``offline`` event and makes
``navigator.onLine`` false, and new websockets fail with
ERR_INTERNET_DISCONNECTED, but an already open websocket is NOT closed: its
frames are held back and delivered once the context is online again. A page
that waited for ``onclose`` would think it was live the whole time. The grid
page therefore treats the ``offline`` event as the end of the socket (and, for
networks that vanish without telling the browser, a ping that gets no pong
within 10 s does the same).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def server_cells(api, sheet) -> dict[str, str]:
    cells = api.get_json(f"/api/sheets/{sheet.name}/cells/")["cells"]
    return {f"{chr(65 + cell['col'])}{cell['row'] + 1}": cell["value"] for cell in cells}


def test_an_offline_window_queues_its_edits_then_both_grids_end_identical_with_no_edit_lost(open_sheet, team, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)

    alice.context.set_offline(True)
    alice.wait_status("offline")
    alice.type_into(0, 0, "alice offline 1")
    alice.type_into(1, 0, "alice offline 2")
    expect(alice.status).to_have_text(re.compile(r"Offline · 2 edits waiting"))
    assert alice.sent("edit") == [], "nothing can be sent without a network"

    bob.type_into(0, 1, "bob online")
    bob.paste(2, 1, [["p", "q"], ["r", "s"]])
    bob.wait_live(pending=0)
    bob.wait_seq(5)
    assert alice.last_seq == 0 and alice.cells() == {"A1": "alice offline 1", "A2": "alice offline 2"}

    alice.context.set_offline(False)
    alice.wait_live(pending=0)
    alice.wait_seq(7)
    bob.wait_seq(7)

    expected = {"A1": "alice offline 1", "A2": "alice offline 2", "B1": "bob online",
                "B3": "p", "C3": "q", "B4": "r", "C4": "s"}
    assert alice.cells() == bob.cells() == server_cells(api, team.sheet) == expected
    expect(alice.status).to_have_text("Live")
    # Alice's two edits went out once she was back, each appended exactly once.
    sent_ids = [edit["client_event_id"] for edit in alice.sent("edit")]
    assert len(sent_ids) == 2
    events = api.get_json(f"/api/sheets/{team.sheet.name}/events/")["events"]
    assert [event["seq"] for event in events] == list(range(1, 8))
    assert Counter(event["client_event_id"] for event in events if event["client_event_id"] in sent_ids) == {
        sent_ids[0]: 1, sent_ids[1]: 1}
    # Alice's catch-up resubscribed from what she had applied.
    assert alice.sent("subscribe")[-1] == {"type": "subscribe", "since": 0}
