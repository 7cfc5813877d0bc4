"""The page notices what it missed — a hole in the seqs, a stale head, a dead line — and recovers it."""

from __future__ import annotations

import time

import pytest

from tests.browser.relay import Relay

pytestmark = pytest.mark.browser

# Ping every second so that the tests that rely on it wait a second, not 15.
QUICK_PING = {"pingInterval": 1000, "pongTimeout": 1500, "backoffBase": 200, "backoffCap": 1500}


def test_a_hole_in_the_seqs_makes_the_page_resubscribe_on_the_same_socket(open_sheet, team):
    line = Relay()
    alice = open_sheet(team.alice, before_open=line.install)
    bob = open_sheet(team.bob)

    line.drop_next("events")  # seq 1 never reaches alice
    bob.type_into(0, 0, "one")
    bob.wait_live(pending=0)
    bob.type_into(0, 1, "two")  # seq 2 arrives: alice sees the hole

    alice.expect_cell(0, 1, "two")
    alice.expect_cell(0, 0, "one")
    alice.wait_seq(2)
    assert line.connections == 1
    assert line.select("out", "subscribe") == [{"type": "subscribe", "since": 0}, {"type": "subscribe", "since": 0}]
    applied = [event["seq"] for frame in line.select("in", "events") for event in frame["events"]]
    assert sorted(set(applied)) == [1, 2] and alice.last_seq == 2
    assert alice.cells() == bob.cells() == {"A1": "one", "B1": "two"}
    assert line.select("out", "edit") == [], "a remote update must never be sent back as an edit"


def test_a_pong_with_a_head_above_the_last_applied_seq_makes_the_page_resubscribe(open_sheet, team):
    line = Relay()
    alice = open_sheet(team.alice, before_open=line.install, timing=QUICK_PING)
    bob = open_sheet(team.bob)

    line.drop_next("events")  # the last event: no later one will reveal the hole
    bob.type_into(3, 2, "only")

    alice.expect_cell(3, 2, "only")
    alice.wait_seq(1)
    assert line.connections == 1
    assert {"type": "pong", "head": 1} in line.select("in", "pong")
    assert line.select("out", "subscribe")[-1] == {"type": "subscribe", "since": 0}
    assert alice.cells() == bob.cells() == {"C4": "only"}
    # The next ping reports the gap to the server (its gaps metric).
    deadline = time.monotonic() + 10
    while not any(ping.get("gaps") == 1 for ping in line.select("out", "ping")):
        assert time.monotonic() < deadline, f"no ping reported the gap: {line.select('out', 'ping')}"
        alice.page.wait_for_timeout(100)  # lets Playwright deliver the relay's frame callbacks


def test_a_line_that_goes_silent_is_dropped_after_a_missing_pong_and_replaced(open_sheet, team):
    line = Relay()
    alice = open_sheet(team.alice, before_open=line.install, timing=QUICK_PING)
    bob = open_sheet(team.bob)

    line.go_silent()  # no close, no error: frames just stop
    alice.type_into(0, 0, "sent into the void")
    bob.type_into(1, 1, "bob meanwhile")

    alice.wait_live(pending=0, timeout=15_000)
    alice.wait_seq(2)
    bob.expect_cell(0, 0, "sent into the void")
    assert line.connections >= 2
    assert line.select("dropped", "edit") == line.select("out", "edit", connection=line.connections)
    assert alice.cells() == bob.cells() == {"A1": "sent into the void", "B2": "bob meanwhile"}
