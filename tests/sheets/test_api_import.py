"""POST /api/sheets/ with a CSV or XLSX file: a new sheet sized to fit, its cells appended by the importer."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from ledger.models import Event
from projections.selectors import current_state
from sheets import imports
from sheets.models import Sheet

pytestmark = pytest.mark.django_db


def upload(client, user, name, filename, content, **fields):
    client.force_login(user)
    return client.post("/api/sheets/", {"name": name, "file": SimpleUploadedFile(filename, content), **fields})


def cells_of(name: str) -> dict[tuple[int, int], str]:
    sheet = Sheet.objects.get(name=name)
    return {coord: state.value for coord, state in current_state(stream_id=sheet.stream_id).cells.items()}


def xlsx_bytes(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_csv_becomes_a_sheet_sized_to_fit_with_the_importer_as_owner_and_editor_of_every_cell(client, alice):
    text = 'Item,Q1,Q2\r\nRent,3000,"3,100"\r\n"two\nlines",,=SUM(B2:B3)\r\n'
    response = upload(client, alice, "imported", "budget.csv", text.encode(), title="Budget")
    assert response.status_code == 201
    assert response.json() == {"name": "imported", "title": "Budget", "row_count": 3, "col_count": 3, "head": 8,
                               "role": "owner"}
    assert cells_of("imported") == {
        (0, 0): "Item", (0, 1): "Q1", (0, 2): "Q2", (1, 0): "Rent", (1, 1): "3000", (1, 2): "3,100",
        (2, 0): "two\nlines", (2, 2): "=SUM(B2:B3)",
    }
    assert set(Event.objects.filter(stream__name="imported").values_list("broadcaster_id", flat=True)) == {alice.pk}


@pytest.mark.parametrize("dialect,raw", [
    ("semicolons, BOM", "\ufeffa;b\r\nc;d\r\n".encode()),
    ("tabs, LF", b"a\tb\nc\td\n"),
])
def test_common_csv_dialects_are_read(client, alice, dialect, raw):
    assert upload(client, alice, "dialect", "x.csv", raw).status_code == 201
    assert cells_of("dialect") == {(0, 0): "a", (0, 1): "b", (1, 0): "c", (1, 1): "d"}


def test_a_csv_round_trips_through_a_sheet_to_the_same_csv(client, alice):
    rows = [["a", "", "=1+2"], ["", "b,c", 'q"uote'], ["é😀", "", ""]]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    assert upload(client, alice, "round", "x.csv", buffer.getvalue().encode()).status_code == 201
    exported = b"".join(client.get("/api/sheets/round/export/").streaming_content).decode()
    assert exported == buffer.getvalue()


def test_an_xlsx_becomes_a_sheet_with_values_as_a_person_sees_them(client, alice):
    content = xlsx_bytes([
        ["text", 12, 2.5, True],
        [dt.date(2026, 12, 1), dt.datetime(2026, 12, 1, 14, 30), None, "=1+2"],
    ])
    assert upload(client, alice, "fromxlsx", "book.xlsx", content).status_code == 201
    assert cells_of("fromxlsx") == {
        (0, 0): "text", (0, 1): "12", (0, 2): "2.5", (0, 3): "TRUE",
        (1, 0): "2026-12-01", (1, 1): "2026-12-01 14:30:00",
    }  # "=1+2" was a formula Excel never computed: it has no cached value


def test_an_xlsx_round_trips_through_a_sheet_cell_for_cell(client, alice):
    book = Workbook()
    book.active.append(["a", None, "b"])
    book.active.append([None, "=not a formula"])
    book.active["B2"].data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    assert upload(client, alice, "roundx", "x.xlsx", buffer.getvalue()).status_code == 201
    exported = load_workbook(io.BytesIO(b"".join(client.get("/api/sheets/roundx/export/?format=xlsx").streaming_content)))
    assert [[c.value for c in row] for row in exported.active.iter_rows(max_row=2, max_col=3)] == [
        ["a", None, "b"], [None, "=not a formula", None],
    ]


@pytest.mark.parametrize("filename,content,status,words", [
    ("x.xlsx", b"PK\x03\x04 not really a zip", 400, "not a readable XLSX"),
    ("x.csv", b"\xff\xfe\x00bad", 400, "not UTF-8"),
    ("x.csv", b"a,b\x00c\r\n", 400, "NUL"),
])
def test_a_corrupt_file_is_refused_with_a_message_and_creates_nothing(client, alice, filename, content, status, words):
    response = upload(client, alice, "broken", filename, content)
    assert response.status_code == status and words in response.json()["error"]
    assert not Sheet.objects.filter(name="broken").exists()


def test_too_big_a_file_or_sheet_is_413_and_creates_nothing(client, alice, settings, monkeypatch):
    monkeypatch.setattr(imports, "MAX_IMPORT_BYTES", 10)
    response = upload(client, alice, "heavy", "x.csv", b"a,b,c,d,e,f\r\n")
    assert response.status_code == 413 and "at most 10" in response.json()["error"]
    monkeypatch.setattr(imports, "MAX_IMPORT_BYTES", 50 * 1024 * 1024)
    settings.SHEETS_MAX_ROWS = 2
    response = upload(client, alice, "tall", "x.csv", b"1\r\n2\r\n3\r\n")
    assert response.status_code == 413 and "at most 2" in response.json()["error"]
    assert not Sheet.objects.filter(name__in=["heavy", "tall"]).exists()


def test_a_value_too_long_is_refused_naming_its_cell(client, alice, settings):
    settings.SHEETS_MAX_VALUE_LENGTH = 3
    response = upload(client, alice, "long", "x.csv", b"ok,toolong\r\n")
    assert response.status_code == 400 and "row 1, column 2" in response.json()["error"]


def test_a_taken_or_bad_name_is_refused_before_the_file_is_read(client, alice, make_sheet):
    make_sheet(name="taken")
    assert upload(client, alice, "taken", "x.csv", b"a\r\n").status_code == 409
    assert upload(client, alice, "bad name!", "x.csv", b"a\r\n").status_code == 400


def test_a_multipart_request_without_a_file_is_400(client, alice):
    client.force_login(alice)
    response = client.post("/api/sheets/", {"name": "nofile"})
    assert response.status_code == 400 and "file" in response.json()["error"]


def test_an_empty_file_makes_a_one_cell_sheet(client, alice):
    response = upload(client, alice, "empty", "x.csv", b"")
    assert response.status_code == 201 and (response.json()["row_count"], response.json()["col_count"]) == (1, 1)
