"""A sheet's cells as CSV and XLSX (sheets.web.sheet_files): in row order, as of any seq, values never code."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import RequestFactory
from openpyxl import load_workbook

from ledger.hashing import COLUMNS_INSERTED, ROWS_DELETED, ROWS_INSERTED
from sheets.tokens import create_token
from sheets.web import sheet_files
from sheets.web.sheet_files import SheetFile, TooWideForXlsx, sheet_file_response
from tests.conftest import edit, restructure

pytestmark = pytest.mark.django_db


@pytest.fixture
def sheet(make_sheet, alice):
    sheet = make_sheet(rows=4, cols=3, editors=[alice])
    edit(sheet, alice, (0, 0, "a"), (1, 1, "=1+2"), (3, 2, 'quote " and, comma\nnewline'))  # 1-3
    restructure(sheet, alice, ROWS_INSERTED, ["n1"], after="r0")  # 4: r0 n1 r1 r2 r3
    edit(sheet, alice, (1, 2, "in n1"), (0, 0, "a2"))  # 5, 6
    restructure(sheet, alice, ROWS_DELETED, ["r2"])  # 7: r0 n1 r1 r3
    restructure(sheet, alice, COLUMNS_INSERTED, ["k"], after=None)  # 8: k c0 c1 c2
    sheet.refresh_from_db()
    return sheet


def download(sheet, *, seq, file_format):
    response = sheet_file_response(RequestFactory().get("/"), stream=sheet.stream, seq=seq, file_format=file_format,
                                   filename=f"x.{file_format}")
    return response, b"".join(response.streaming_content)


def test_rows_are_in_the_order_of_the_sheet_with_a_value_per_column(sheet):
    assert SheetFile(stream=sheet.stream, seq=8).rows(0) == [
        ["", "a2", "", ""],
        ["", "", "", "in n1"],
        ["", "", "=1+2", ""],
        ["", "", "", 'quote " and, comma\nnewline'],
    ]


def test_as_of_a_seq_the_rows_and_values_are_those_of_then(sheet):
    assert SheetFile(stream=sheet.stream, seq=3).rows(0) == [
        ["a", "", ""], ["", "=1+2", ""], ["", "", ""], ["", "", 'quote " and, comma\nnewline'],
    ]
    assert SheetFile(stream=sheet.stream, seq=6).rows(0)[:2] == [["a2", "", ""], ["", "", "in n1"]]
    assert SheetFile(stream=sheet.stream, seq=0).rows(0) == [["", "", ""]] * 4


def test_the_csv_is_exact_with_rfc4180_quoting_and_no_header(sheet):
    response, body = download(sheet, seq=8, file_format="csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert body.decode() == ',a2,,\r\n,,,in n1\r\n,,=1+2,\r\n,,,"quote "" and, comma\nnewline"\r\n'
    assert list(csv.reader(io.StringIO(body.decode(), newline=""))) == SheetFile(stream=sheet.stream, seq=8).rows(0)


def test_the_csv_streams_a_window_at_a_time(sheet, monkeypatch):
    monkeypatch.setattr(sheet_files, "WINDOW", 1)
    response = sheet_file_response(RequestFactory().get("/"), stream=sheet.stream, seq=8, file_format="csv",
                                   filename="x.csv")
    parts = [bytes(part) for part in response.streaming_content]
    assert len(parts) == 4  # one chunk per window of one row
    assert b"".join(parts).decode() == ',a2,,\r\n,,,in n1\r\n,,=1+2,\r\n,,,"quote "" and, comma\nnewline"\r\n'


def test_the_xlsx_holds_every_value_as_text_never_as_a_formula(sheet):
    response, body = download(sheet, seq=8, file_format="xlsx")
    assert response["Content-Type"] == sheet_files.CONTENT_TYPES["xlsx"]
    book = load_workbook(io.BytesIO(body))
    rows = [[cell.value for cell in row] for row in book.active.iter_rows(min_row=1, max_row=4, max_col=4)]
    assert rows == [
        [None, "a2", None, None],
        [None, None, None, "in n1"],
        [None, None, "=1+2", None],
        [None, None, None, 'quote " and, comma\nnewline'],
    ]
    assert book.active["C3"].data_type == "s"


def test_characters_xml_cannot_hold_become_replacement_characters_in_xlsx(make_sheet, alice):
    sheet = make_sheet(rows=1, cols=1, editors=[alice])
    edit(sheet, alice, (0, 0, "bell\x07 tab\t ok"))
    sheet.refresh_from_db()
    _, body = download(sheet, seq=1, file_format="xlsx")
    assert load_workbook(io.BytesIO(body)).active["A1"].value == "bell\ufffd tab\t ok"


def test_an_xlsx_of_more_columns_than_excel_holds_is_refused(make_sheet):
    sheet = make_sheet(rows=1, cols=sheet_files.XLSX_MAX_COLS + 1)
    with pytest.raises(TooWideForXlsx, match="16,384"):
        download(sheet, seq=0, file_format="xlsx")


def test_a_sheet_without_rows_exports_an_empty_file(make_sheet, alice):
    sheet = make_sheet(rows=2, cols=2, editors=[alice])
    restructure(sheet, alice, ROWS_DELETED, ["r0", "r1"])
    sheet.refresh_from_db()
    assert download(sheet, seq=1, file_format="csv")[1] == b""
    assert load_workbook(io.BytesIO(download(sheet, seq=1, file_format="xlsx")[1])).active.max_row == 1


# The endpoint: GET /api/sheets/<name>/export/?format=csv|xlsx&at=


def export_url(sheet, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/sheets/{sheet.name}/export/" + (f"?{query}" if query else "")


def test_the_export_endpoint_downloads_csv_by_default_and_names_the_file(client, sheet, alice):
    client.force_login(alice)
    response = client.get(export_url(sheet))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="{sheet.name}.csv"'
    assert b"".join(response.streaming_content).decode().startswith(",a2,,\r\n")
    past = client.get(export_url(sheet, format="xlsx", at=3))
    assert past["Content-Disposition"] == f'attachment; filename="{sheet.name}-at-3.xlsx"'
    assert load_workbook(io.BytesIO(b"".join(past.streaming_content))).active["B2"].value == "=1+2"


def test_an_api_token_may_export(client, sheet, alice):
    token = create_token(user=alice, name="export").secret
    response = client.get(export_url(sheet), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200


@pytest.mark.parametrize("params", [{"format": "ods"}, {"at": "99"}, {"at": "-1"}])
def test_bad_export_parameters_are_400(client, sheet, alice, params):
    client.force_login(alice)
    response = client.get(export_url(sheet, **params))
    assert response.status_code == 400 and response.json()["error"]


def test_export_needs_a_role_and_a_login(client, sheet, make_user):
    assert client.get(export_url(sheet)).status_code == 401
    client.force_login(make_user())
    assert client.get(export_url(sheet)).status_code == 403
    assert client.get("/api/sheets/nope/export/").status_code == 404


def test_an_export_too_wide_for_xlsx_is_400(client, make_sheet, alice):
    wide = make_sheet(rows=1, cols=sheet_files.XLSX_MAX_COLS + 1, editors=[alice])
    client.force_login(alice)
    response = client.get(export_url(wide, format="xlsx"))
    assert response.status_code == 400 and "16,384" in response.json()["error"]
    assert client.get(export_url(wide)).status_code == 200
