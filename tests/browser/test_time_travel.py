"""/sheets/<name>/?at=<seq>: the read-only grid as it stood right after event seq, without a websocket."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Request, expect

from tests.browser.sheet_page import SheetPage

pytestmark = pytest.mark.browser


def open_past(live: SheetPage, url: str) -> tuple[SheetPage, list[Request]]:
    """Open the time-travel view in a new tab of ``live``'s browser context; return it and its requests."""
    past = SheetPage(context=live.context, page=live.context.new_page(), label=f"{live.label}-past")
    requests: list[Request] = []
    past.page.on("request", lambda request: requests.append(request))
    past.page.goto(url)
    wait_shown(past)
    return past, requests


def wait_shown(window: SheetPage) -> None:
    window.page.wait_for_function("window.ledgersheet && ledgersheet.status === 'time-travel'")


def test_the_past_grid_shows_old_values_read_only_under_a_banner(open_sheet, team, server, api):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    alice.type_into(0, 0, "old")
    alice.wait_seq(1)
    bob.type_into(0, 0, "new")
    bob.wait_seq(2)
    bob.type_into(1, 1, "later")
    bob.wait_live(pending=0)
    alice.wait_seq(3)

    past, requests = open_past(alice, server.url(f"/sheets/{team.sheet.name}/?at=1"))

    assert past.cells() == {"A1": "old"}
    past.expect_cell(0, 0, "old")
    banner = past.page.get_by_role("region", name="Time travel")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Viewing the sheet as of edit #1")
    expect(banner).to_contain_text("read-only")
    expect(banner.locator("#timetravel-event")).to_contain_text(f"by {team.alice.username} in A1")
    expect(banner.get_by_role("link", name="Back to live")).to_have_attribute("href", f"/sheets/{team.sheet.name}/")
    expect(banner.get_by_role("link", name="Compare with now")).to_have_attribute(
        "href", f"/sheets/{team.sheet.name}/diff/?from=1&to=3")

    past.edit_cell(0, 0)
    past.page.keyboard.type("rewritten")
    past.page.keyboard.press("Enter")
    past.select(1, 1)
    past.page.keyboard.press("Delete")
    past.page.evaluate("1")  # a round trip: whatever those keys made the page send has been sent

    past.expect_cell(0, 0, "old")
    assert past.cells() == {"A1": "old"}
    assert past.sockets == 0, "a past state opens no websocket"
    assert [r.method for r in requests if r.method != "GET"] == []
    assert api.get_json(f"/api/sheets/{team.sheet.name}/events/")["head"] == 3
    # The live windows are untouched and still live.
    alice.wait_live(pending=0)
    assert alice.cells() == bob.cells() == {"A1": "new", "B2": "later"}


def test_the_seq_box_moves_to_another_edit_and_back_to_live(open_sheet, team, server):
    alice = open_sheet(team.alice)
    alice.type_into(0, 0, "one")
    alice.wait_seq(1)
    alice.type_into(0, 0, "two")
    alice.wait_seq(2)
    alice.type_into(2, 0, "three")
    alice.wait_live(pending=0)
    alice.wait_seq(3)
    past, _ = open_past(alice, server.url(f"/sheets/{team.sheet.name}/?at=1"))

    past.page.get_by_label("Edit number (seq)").fill("2")
    past.page.get_by_label("Edit number (seq)").press("Enter")
    past.page.wait_for_url(re.compile(r"\?at=2$"))
    wait_shown(past)
    assert past.cells() == {"A1": "two"}
    expect(past.page.locator("#timetravel-slider")).to_have_value("2")

    past.page.locator("#timetravel-slider").focus()
    past.page.keyboard.press("Home")
    past.page.wait_for_url(re.compile(r"\?at=0$"))
    wait_shown(past)
    assert past.cells() == {}
    expect(past.page.get_by_role("region", name="Time travel")).to_contain_text("before its first edit")

    past.page.get_by_role("link", name="Back to live").click()
    past.wait_live()
    assert past.cells() == {"A1": "two", "A3": "three"}


def test_a_seq_after_the_head_is_refused(open_sheet, team, server):
    alice = open_sheet(team.alice)
    response = alice.page.goto(server.url(f"/sheets/{team.sheet.name}/?at=5"))
    assert response is not None and response.status == 400
    assert "at must be from 0 to 0" in alice.page.content()
