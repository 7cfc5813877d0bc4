"""A person does it all in the browser: a sheet from a file, a colleague, a token for a script, the export menu.

The New sheet page sends a file to POST /api/sheets/ with XMLHttpRequest
(static/sheets/new-sheet.js), shows the upload and the import, and shows a
refusal in place; without JavaScript the same form posts to the page.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from playwright.sync_api import Page, Route, expect

from proj.testing.servers import DaphneServer, HttpSession
from sheets.models import Sheet
from tests.browser.downloads import csv_grid, export, xlsx_grid
from tests.browser.sheet_page import SheetPage, cell_name
from tests.conftest import PASSWORD, unique

pytestmark = pytest.mark.browser

# The file, as rows of what a spreadsheet program holds; "=1+2" is stored as text (see workbook()).
HEADER = ["Item", "Amount", "Due", "Paid", "Note"]
FILE_ROWS: list[list[Any]] = [
    HEADER,
    ["rent", 1200, dt.date(2026, 12, 1), True, "=1+2"],
    ["fee", 2.5, dt.datetime(2026, 12, 1, 14, 30), False],
    ["total"],
]
# The sheet the import makes of it (docs/protocol.md, "From a file"): 4 rows of 5 columns, values as text.
IMPORTED = [
    HEADER,
    ["rent", "1200", "2026-12-01", "TRUE", "=1+2"],
    ["fee", "2.5", "2026-12-01 14:30:00", "FALSE", ""],
    ["total", "", "", "", ""],
]


def named(grid: list[list[str]]) -> dict[str, str]:
    """The non-empty cells of a grid by name, as the page's ledgersheet.cells() gives them."""
    return {cell_name(r, c): value for r, row in enumerate(grid) for c, value in enumerate(row) if value}


def workbook(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    for row in FILE_ROWS:
        sheet.append(row)
    # openpyxl makes any text starting with "=" a formula; this one is meant as the text itself.
    sheet["E2"].data_type = "s"
    book.save(path)
    return path


def log_in(page: Page, server: DaphneServer, user: Any) -> None:
    """Through the login form, as a person does."""
    page.goto(server.url("/accounts/login/"))
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.url("/"))


def record_progress(page: Page) -> list[str]:
    """Every text the import's progress line shows, in order, as it shows it (kept across the page's navigation)."""
    texts: list[str] = []
    page.expose_function("progressShown", lambda text: texts.append(text))
    page.evaluate("""() => {
        const line = document.getElementById("import-text");
        new MutationObserver(() => progressShown(line.textContent))
            .observe(line, {childList: true, characterData: true, subtree: true});
    }""")
    return texts


def fill_new_sheet(page: Page, *, name: str, title: str = "", file: Path | None = None) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Title").fill(title)
    if file is not None:
        page.get_by_label("CSV or XLSX, at most 50 MB").set_input_files(file)


def create_button(page: Page) -> Any:
    return page.get_by_role("button", name="Create sheet")


def padded(grid: list[list[str]], width: int) -> list[list[str]]:
    return [row + [""] * (width - len(row)) for row in grid]


def opens_the_imported_sheet(me: SheetPage, server: DaphneServer, name: str) -> None:
    """The page goes on to the new sheet ``name``, which goes live holding the file's cells (IMPORTED)."""
    me.page.wait_for_url(server.url(f"/sheets/{name}/"))
    me.wait_live()
    assert me.cells() == named(IMPORTED)


def script_edit(server: DaphneServer, token: str, sheet: str, change: dict[str, str]) -> dict[str, Any]:
    """What a script does: one operation over HTTP with the token, no login, no CSRF token."""
    body = {"type": "edit", "client_event_id": str(uuid.uuid4()), "changes": [change]}
    request = urllib.request.Request(
        server.url(f"/api/sheets/{sheet}/ops/"), data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        assert response.status == 200
        return dict(json.loads(response.read()))


def test_a_new_user_imports_a_workbook_shares_it_edits_it_with_a_colleague_and_a_script_and_exports_it(
    window, server, make_user, tmp_path
):
    owner, colleague = make_user(), make_user()
    name = unique("budget")
    me = window()
    page = me.page
    log_in(page, server, owner)

    # A sheet from a workbook, on the New sheet page.
    page.get_by_role("link", name="New sheet").click()
    expect(page.get_by_role("heading", name="New sheet")).to_be_visible()
    fill_new_sheet(page, name=name, title="Budget 2027", file=workbook(tmp_path / "budget.xlsx"))
    create_button(page).click()
    opens_the_imported_sheet(me, server, name)
    me.expect_cell(1, 4, "=1+2")  # shown as typed, never evaluated
    assert me.row_count() == 4 and me.column_headers() == list("ABCDE")
    expect(page.locator(".sheet-title")).to_have_text("Budget 2027")

    # Share it with a colleague, as an editor, on the members page.
    page.goto(server.url("/"))
    page.get_by_role("row", name=re.compile(name)).get_by_role("link", name="Members").click()
    page.get_by_label("Username").fill(colleague.username)
    expect(page.locator("form.token-form select[name=role]")).to_have_value("editor")  # the default
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_label(f"Role of {colleague.username}")).to_have_value("editor")
    expect(page.get_by_label(f"Role of {owner.username}")).to_have_value("owner")

    # A token for a script, from the account page: shown once, read once.
    page.get_by_role("link", name="Account").click()
    page.get_by_label("Name").fill("nightly script")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_test_id("new-token").locator(".token-secret").inner_text().strip()
    assert re.fullmatch(r"lst_[A-Za-z0-9_-]{43}", token)

    # Both open the sheet; the colleague types while the script writes.
    me.open(server.url(f"/sheets/{name}/"))
    them = window(colleague)
    them.open(server.url(f"/sheets/{name}/"))
    answers: list[dict[str, Any]] = []
    script = threading.Thread(target=lambda: answers.append(
        script_edit(server, token, name, {"row_id": "r3", "col_id": "c1", "value": "=B2+B3"})))
    script.start()
    them.type_into(2, 4, "checked")
    script.join(timeout=15)
    assert not script.is_alive() and len(answers) == 1 and len(answers[0]["seqs"]) == 1
    expected = [row[:] for row in IMPORTED]
    expected[2][4], expected[3][1] = "checked", "=B2+B3"
    for person in (me, them):
        person.expect_cell(2, 4, "checked")
        person.expect_cell(3, 1, "=B2+B3")
    them.wait_live(pending=0)
    head = len(named(IMPORTED)) + 2
    me.wait_seq(head)
    assert me.cells() == them.cells() == named(expected)

    # The export menu, as now: every cell where it stands, the "=" values as text.
    expect(page.locator("#export-menu summary")).to_have_text("Export")
    xlsx = export(page, tmp_path, "XLSX, as now")
    assert xlsx.name == f"{name}.xlsx"
    assert padded(xlsx_grid(xlsx), 5) == expected
    book = load_workbook(xlsx)
    assert book.worksheets[0].title == name
    assert (book.worksheets[0]["E2"].value, book.worksheets[0]["E2"].data_type) == ("=1+2", "s")
    exported_csv = export(page, tmp_path, "CSV, as now")
    assert exported_csv.name == f"{name}.csv"
    assert csv_grid(exported_csv) == expected


def test_upload_progress_then_the_import_count_then_the_sheet(window, server, make_user, tmp_path):
    """The import's count comes from the catalog, here a stand-in that says 2,000 of 5,000 rows.

    A real import slow enough to be watched a second at a time has 100,000s
    of cells and takes minutes of CPU; the server's side of the count is
    tests/sheets/test_import_chunks.py's. The upload itself is real: it is
    held back in the browser until the page has shown the count, then goes
    to the server, which imports the file.
    """
    owner = make_user()
    name = unique("counted")
    me = window(owner)
    page = me.page
    page.goto(server.url("/new-sheet/"))
    held: list[Route] = []
    polls: list[str] = []

    def catalog(route: Route) -> None:
        if route.request.method == "POST":
            held.append(route)
            return
        polls.append(route.request.method)
        route.fulfill(json={"sheets": [], "importing": [
            {"name": name, "title": name, "state": "importing", "row_count": 5000, "rows_imported": 2000}]})

    page.route("**/api/sheets/", catalog)
    fill_new_sheet(page, name=name, file=workbook(tmp_path / "counted.xlsx"))
    create_button(page).click()

    status = page.get_by_role("status")
    expect(status).to_contain_text("Importing: 2,000 of 5,000 rows")
    expect(page.locator("#import-bar")).to_have_attribute("value", "40")
    expect(create_button(page)).to_be_disabled()
    assert len(held) == 1 and set(polls) == {"GET"}
    held[0].continue_()  # to the real server, which imports the file
    page.unroute("**/api/sheets/", catalog)

    opens_the_imported_sheet(me, server, name)


def test_the_upload_shows_its_percent(window, server, make_user, tmp_path):
    """The bar and the percent follow what the browser has sent (over loopback it is 0%, then 100% at once)."""
    owner = make_user()
    name = unique("sized")
    path = tmp_path / "sized.csv"
    # About 600 KB of text in one column; every value distinct, so nothing compresses away.
    path.write_text("".join(f"{index:08d}-{os.urandom(24).hex()}\r\n" for index in range(10_000)))
    me = window(owner)
    page = me.page
    page.goto(server.url("/new-sheet/"))
    texts = record_progress(page)
    fill_new_sheet(page, name=name, file=path)
    create_button(page).click()
    page.wait_for_url(server.url(f"/sheets/{name}/"), timeout=30_000)
    me.wait_live()
    assert me.row_count() == 10_000

    uploading = [text for text in texts if text.startswith("Uploading: ")]
    percents = [int(text.removeprefix("Uploading: ").removesuffix("%")) for text in uploading]
    assert percents[0] == 0 and percents[-1] == 100 and percents == sorted(percents), texts
    # A file of one chunk has no count to show while it is imported: the bar just moves.
    assert texts[len(uploading):] == ["Importing…", "Imported: opening the sheet…"], texts


def test_a_refused_file_is_said_on_the_page_creates_nothing_and_the_form_works_again(
    window, server, make_user, make_sheet, tmp_path
):
    owner = make_user()
    name = unique("broken")
    corrupt = tmp_path / "broken.xlsx"
    corrupt.write_bytes(os.urandom(4096))
    me = window(owner)
    page = me.page
    page.goto(server.url("/new-sheet/"))
    fill_new_sheet(page, name=name, file=corrupt)
    create_button(page).click()

    error = page.get_by_role("alert")
    expect(error).to_have_text(re.compile(r"^Not imported: the file is not a readable XLSX workbook \(\w+\)\.$"))
    expect(create_button(page)).to_be_enabled()
    expect(page.locator("#import-progress")).to_be_hidden()
    assert page.url == server.url("/new-sheet/")
    expect(page.get_by_label("Name")).to_have_value(name)  # the form as it was, to try again
    api = HttpSession(server.base_url)
    api.login(owner.username, PASSWORD)
    catalog = api.get_json("/api/sheets/")
    assert catalog == {"sheets": [], "importing": []}
    assert not Sheet.objects.filter(name=name).exists()

    # A name someone else's sheet has is refused the same way (409), and the file is not read.
    taken = make_sheet().name
    page.get_by_label("Name").fill(taken)
    page.get_by_label("CSV or XLSX, at most 50 MB").set_input_files(workbook(tmp_path / "good.xlsx"))
    create_button(page).click()
    expect(error).to_have_text(f"Not imported: a sheet named '{taken}' already exists.")
    expect(create_button(page)).to_be_enabled()
    assert api.get_json("/api/sheets/") == {"sheets": [], "importing": []}

    # The same form, with a free name, now makes the sheet.
    page.get_by_label("Name").fill(name)
    create_button(page).click()
    opens_the_imported_sheet(me, server, name)


def test_without_javascript_the_form_still_imports_the_file(window, server, make_user, tmp_path):
    owner = make_user()
    name = unique("plain")
    me = window(owner, javascript=False)
    page = me.page
    page.goto(server.url("/new-sheet/"))
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_bytes(os.urandom(4096))
    fill_new_sheet(page, name=name, title="Plain", file=corrupt)
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        create_button(page).click()
    assert answer.value.status == 400
    # The page's own answer: the form again, with the reason.
    expect(page.get_by_role("alert")).to_contain_text("not a readable XLSX workbook")
    expect(page.get_by_label("Name")).to_have_value(name)
    assert not Sheet.objects.filter(name=name).exists()

    page.get_by_label("CSV or XLSX, at most 50 MB").set_input_files(workbook(tmp_path / "plain.xlsx"))
    create_button(page).click()
    page.wait_for_url(server.url(f"/sheets/{name}/"))
    api = HttpSession(server.base_url)
    api.login(owner.username, PASSWORD)
    cells = api.get_json(f"/api/sheets/{name}/cells/")
    assert {cell_name(c["row"], c["col"]): c["value"] for c in cells["cells"]} == named(IMPORTED)
