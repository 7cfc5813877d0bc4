"""Under ASGI (daphne) the CSV export streams from an asynchronous iterator, a batch at a time."""

from __future__ import annotations

import csv
import io

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import AsyncClient

from sheets.services import create_sheet, grant
from sheets.web import export, sheet_files
from tests.conftest import PASSWORD, edit, unique


@sync_to_async
def sheet_with_five_edits():
    user = get_user_model().objects.create_user(username=unique("auditor"), password=PASSWORD)
    sheet = create_sheet(name=unique("asgi"), rows=5, cols=5)
    grant(sheet=sheet, username=user.username, role="editor")
    for value in "abcde":
        edit(sheet, user, (0, 0, value))
    return user, sheet


@pytest.mark.asyncio
async def test_csv_streams_a_batch_at_a_time_under_asgi(committed_db, monkeypatch):
    monkeypatch.setattr(export, "BATCH", 2)
    user, sheet = await sheet_with_five_edits()
    client = AsyncClient()
    await client.aforce_login(user)
    response = await client.get(f"/sheets/{sheet.name}/history/", {"format": "csv"})
    assert response.status_code == 200
    assert response.streaming and response.is_async
    chunks = [chunk async for chunk in response.streaming_content]
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode(), newline="")))
    assert [row["new_value"] for row in rows] == list("abcde")
    assert len(chunks) == 3  # the header with the first batch of 2, then batches of 2 and 1
    # The export ran in the sync thread: close its connection, or the test
    # database cannot be dropped at the end of the run.
    await sync_to_async(connections.close_all)()


@pytest.mark.asyncio
async def test_a_sheet_export_streams_a_window_at_a_time_under_asgi(committed_db, monkeypatch):
    monkeypatch.setattr(sheet_files, "WINDOW", 2)
    user, sheet = await sheet_with_five_edits()
    client = AsyncClient()
    await client.aforce_login(user)
    for file_format in ("csv", "xlsx"):
        response = await client.get(f"/api/sheets/{sheet.name}/export/", {"format": file_format})
        assert response.status_code == 200
        assert response.streaming and response.is_async
        chunks = [chunk async for chunk in response.streaming_content]
        if file_format == "csv":
            assert b"".join(chunks) == b"e,,,,\r\n" + b",,,,\r\n" * 4
            assert len(chunks) == 3  # windows of 2, 2 and 1 rows
        else:
            assert b"".join(chunks)[:2] == b"PK"  # a zip, read back from disk a chunk at a time
    await sync_to_async(connections.close_all)()
