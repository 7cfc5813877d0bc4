"""The grid's Export menu: CSV and XLSX of the sheet as now, or, in time travel, as of the seq shown."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.downloads import csv_grid, export, xlsx_grid

pytestmark = pytest.mark.browser

ROWS, COLS = 30, 8  # the team's sheet (tests/browser/conftest.py)


def grid_of(cells: dict[tuple[int, int], str]) -> list[list[str]]:
    """The whole sheet, one list per row, one value per column, as the export writes it."""
    return [[cells.get((row, col), "") for col in range(COLS)] for row in range(ROWS)]


def test_time_travel_exports_the_sheet_as_of_the_seq_shown_and_live_as_now(open_sheet, team, server, tmp_path):
    alice = open_sheet(team.alice)
    alice.type_into(0, 0, "old")
    alice.wait_seq(1)
    alice.type_into(1, 1, "=2*3")
    alice.wait_seq(2)
    alice.type_into(0, 0, "new")
    alice.wait_seq(3)
    alice.type_into(2, 2, "later")
    alice.wait_live(pending=0)
    alice.wait_seq(4)
    page = alice.page
    name = team.sheet.name
    then = {(0, 0): "old", (1, 1): "=2*3"}
    now = {(0, 0): "new", (1, 1): "=2*3", (2, 2): "later"}

    menu = page.locator("#export-menu")
    expect(menu.locator("summary")).to_have_text("Export")
    live_csv = export(page, tmp_path, "CSV, as now")
    assert live_csv.name == f"{name}.csv" and csv_grid(live_csv) == grid_of(now)

    # Into time travel the way a person goes: the history page's "as of here" on edit #2.
    page.get_by_role("link", name="History").click()
    page.locator(f"a[href='/sheets/{name}/?at=2']").click()
    page.wait_for_function("window.ledgersheet && ledgersheet.status === 'time-travel' && ledgersheet.at === 2")
    alice.expect_cell(0, 0, "old")

    expect(menu.locator("summary")).to_have_text("Export as of seq 2")
    menu.locator("summary").click()
    links = menu.get_by_role("link")
    expect(links).to_have_text(["CSV, as of seq 2", "XLSX, as of seq 2"])
    expect(menu).to_contain_text("as it stood right after edit #2")
    page.keyboard.press("Escape")  # closes the menu, as it closes the cell menu
    expect(menu).not_to_have_attribute("open", "")

    past_xlsx = export(page, tmp_path, "XLSX, as of seq 2")
    assert past_xlsx.name == f"{name}-at-2.xlsx"
    rows = xlsx_grid(past_xlsx)
    assert {(r, c): value for r, row in enumerate(rows) for c, value in enumerate(row) if value} == then
    past_csv = export(page, tmp_path, "CSV, as of seq 2")
    assert past_csv.name == f"{name}-at-2.csv" and csv_grid(past_csv) == grid_of(then)

    # A click elsewhere closes the menu too.
    menu.locator("summary").click()
    expect(menu).to_have_attribute("open", "")
    alice.cell(5, 3).click()
    expect(menu).not_to_have_attribute("open", "")
