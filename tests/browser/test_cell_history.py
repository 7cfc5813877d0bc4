"""The grid's per-cell history panel: every change of one cell, newest first, opened by menu or Alt+H."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.sheet_page import SheetPage

pytestmark = pytest.mark.browser


def panel_rows(window: SheetPage) -> list[tuple[int, str, str]]:
    """(seq, user, "old → new") of every item the panel lists, top to bottom."""
    return [
        (int(item["seq"]), item["user"], item["change"])
        for item in window.page.evaluate("""() => [...document.querySelectorAll('#cell-history .cell-history-item')]
            .map((li) => ({seq: li.dataset.seq, user: li.querySelector('.cell-history-user').textContent,
                           change: li.querySelector('.cell-history-change').textContent}))""")
    ]


def test_the_panel_lists_a_cells_edits_by_two_users_newest_first_and_links_to_the_past(open_sheet, team):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    alice.type_into(0, 0, "first")
    alice.wait_seq(1)
    bob.type_into(0, 1, "elsewhere")
    bob.wait_seq(2)
    bob.type_into(0, 0, "second")
    bob.wait_seq(3)
    alice.wait_seq(3)
    alice.type_into(0, 0, "third")
    alice.wait_live(pending=0)
    alice.wait_seq(4)

    alice.cell(0, 0).click(button="right")
    menu_item = alice.menu_item("Cell history")
    expect(menu_item).to_be_visible()
    expect(alice.context_menu).to_contain_text("Alt + H")
    menu_item.click()

    panel = alice.page.get_by_role("dialog", name="History of A1")
    expect(panel).to_be_visible()
    expect(panel.locator(".cell-history-status")).to_have_text("3 changes")
    expect(alice.page.locator("#cell-history-title")).to_be_focused()
    assert panel_rows(alice) == [
        (4, team.alice.username, "second → third"),
        (3, team.bob.username, "first → second"),
        (1, team.alice.username, "(empty) → first"),
    ]
    time = panel.locator(".cell-history-item time").first
    expect(time).to_have_attribute("title", re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$"))
    expect(time).not_to_have_text("Invalid Date")
    expect(panel.locator("a.cell-history-full")).to_have_attribute(
        "href", f"/sheets/{team.sheet.name}/history/?cell=A1")

    alice.page.keyboard.press("Escape")
    expect(panel).to_be_hidden()

    alice.select(0, 1)
    alice.page.keyboard.press("Alt+H")
    expect(alice.page.get_by_role("dialog", name="History of B1")).to_be_visible()
    expect(alice.page.locator("#cell-history .cell-history-status")).to_have_text("1 change")
    assert panel_rows(alice) == [(2, team.bob.username, "(empty) → elsewhere")]
    assert not alice.editor_open()  # Alt+H opened no cell editor
    alice.expect_cell(0, 1, "elsewhere")

    alice.select(0, 0)
    alice.page.keyboard.press("Alt+H")
    expect(alice.page.get_by_role("dialog", name="History of A1")).to_be_visible()
    expect(alice.page.locator("#cell-history .cell-history-status")).to_have_text("3 changes")
    alice.page.locator("#cell-history .cell-history-item[data-seq='1'] a.cell-history-at").click()
    alice.page.wait_for_url(re.compile(r"\?at=1$"))
    alice.page.wait_for_function("window.ledgersheet && ledgersheet.status === 'time-travel'")
    assert alice.cells() == {"A1": "first"}
    bob.expect_cell(0, 0, "third")


def test_a_long_value_is_shortened_with_the_whole_value_on_hover(open_sheet, team):
    long = "x" * 200
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    alice.type_into(2, 2, long)
    bob.expect_cell(2, 2, long)
    bob.select(2, 2)
    bob.page.keyboard.press("Delete")
    alice.expect_cell(2, 2, "")
    alice.wait_seq(2)

    alice.select(2, 2)
    alice.page.keyboard.press("Alt+H")

    panel = alice.page.get_by_role("dialog", name="History of C3")
    expect(panel.locator(".cell-history-item")).to_have_count(2)
    newest, oldest = panel.locator(".cell-history-item").all()
    expect(newest.locator(".value").first).to_have_text("x" * 59 + "…")
    expect(newest.locator(".value").first).to_have_attribute("title", long)
    expect(newest.locator(".value").last).to_have_text("(empty)")
    expect(oldest.locator(".value").first).to_have_text("(empty)")
    panel.get_by_role("button", name=re.compile("Close")).click()
    expect(panel).to_be_hidden()


def test_a_cell_never_edited_says_so(open_sheet, team):
    carol = open_sheet(team.carol)
    carol.cell(4, 4).click(button="right")
    carol.menu_item("Cell history").click()
    panel = carol.page.get_by_role("dialog", name="History of E5")
    expect(panel.locator(".cell-history-status")).to_have_text("This cell has never been edited.")
    expect(carol.context_menu.locator("a", has_text="Paste")).to_have_count(0)


def test_a_long_history_loads_page_by_page_and_the_rest_on_request(open_sheet, team):
    # Pages of 2 events, 2 pages per load: 5 edits of one cell need a second load.
    def small_pages(page: Page) -> None:
        page.add_init_script("window.LEDGERSHEET_HISTORY = {pageLimit: 2, pagesPerLoad: 2};")

    alice = open_sheet(team.alice, before_open=small_pages)
    for n in range(1, 6):
        alice.type_into(3, 0, f"v{n}")
        alice.wait_seq(n)
    alice.wait_live(pending=0)

    alice.select(3, 0)
    alice.page.keyboard.press("Alt+H")
    panel = alice.page.get_by_role("dialog", name="History of A4")
    expect(panel.locator(".cell-history-status")).to_have_text("4 changes so far (oldest first loaded)")
    assert [seq for seq, _, _ in panel_rows(alice)] == [4, 3, 2, 1]
    more = panel.get_by_role("button", name="Load later changes")
    more.click()
    expect(panel.locator(".cell-history-status")).to_have_text("5 changes")
    expect(more).to_be_hidden()
    assert [change for _, _, change in panel_rows(alice)] == [
        "v4 → v5", "v3 → v4", "v2 → v3", "v1 → v2", "(empty) → v1"]
    expect(alice.page.locator("#cell-history-title")).to_be_focused()


def test_a_cells_history_follows_its_row_when_rows_are_inserted_above_it(open_sheet, team):
    alice, bob = open_sheet(team.alice), open_sheet(team.bob)
    alice.type_into(2, 0, "v1")  # A3, row r2
    alice.wait_live(pending=0)
    bob.wait_seq(1)
    bob.select(0, 0)
    bob.page.keyboard.press("Control+Alt+Equal")  # a row above row 1: A3 moves to A4
    alice.wait_seq(2)
    alice.expect_cell(3, 0, "v1")
    requests: list[str] = []
    alice.page.on("request", lambda request: requests.append(request.url))

    alice.select(3, 0)
    alice.page.keyboard.press("Alt+H")

    panel = alice.page.get_by_role("dialog", name="History of A4")
    expect(panel.locator(".cell-history-status")).to_have_text("1 change")
    assert panel_rows(alice) == [(1, team.alice.username, "(empty) → v1")]
    assert any("row_id=r2" in url and "col_id=c0" in url for url in requests), requests
