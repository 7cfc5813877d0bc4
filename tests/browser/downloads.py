"""Downloading from the grid's Export menu (templates/sheets/grid.html) and reading the files back."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from openpyxl import load_workbook
from playwright.sync_api import Page, expect


def export(page: Page, tmp_path: Path, label: str) -> Path:
    """Open the Export menu, choose ``label``; return the downloaded file, saved under its suggested name."""
    menu = page.locator("#export-menu")
    menu.locator("summary").click()
    with page.expect_download() as info:
        menu.get_by_role("link", name=label, exact=True).click()
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    expect(menu).not_to_have_attribute("open", "")  # a choice closes the menu
    return path


def xlsx_grid(path: Path) -> list[list[str]]:
    """The only worksheet's values, row by row; every non-empty cell must be text (type "s"), never a formula."""
    book = load_workbook(path)
    (worksheet,) = book.worksheets
    grid = []
    for row in worksheet.iter_rows():
        for cell in row:
            assert cell.value is None or cell.data_type == "s", f"{cell.coordinate} is {cell.data_type}: {cell.value!r}"
        grid.append(["" if cell.value is None else cell.value for cell in row])
    return grid


def csv_grid(path: Path) -> list[list[str]]:
    """The CSV's rows; the export is UTF-8 without a byte-order mark, with CRLF line ends."""
    raw = path.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and raw.endswith(b"\r\n")
    return list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
