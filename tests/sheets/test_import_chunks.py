"""A large import commits in chunks: hidden while it runs, the same sheet and ledger at the end, hidden for good if it fails."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import DatabaseError, connection

from ledger.models import Event, Stream
from projections.selectors import current_state
from sheets import imports
from sheets.exceptions import NameTaken, SheetNotFound
from sheets.models import Sheet, SheetState
from sheets.selectors import get_sheet
from sheets.services import check_new_name
from tests.conftest import unique

ROWS, COLS = 60, 5


@pytest.fixture
def small_chunks(settings: Any) -> None:
    """Edits of 10 changes, 2 edits a commit: the grid below takes 15 commits (or fewer, for its empty cells)."""
    settings.SHEETS_MAX_CHANGES = 10
    settings.SHEETS_IMPORT_EDITS_PER_COMMIT = 2


def grid() -> imports.Grid:
    rng = random.Random(7)
    return [[f"v{row}.{col}" if rng.random() < 0.9 else "" for col in range(COLS)] for row in range(ROWS)]


def chunk_spy(
    monkeypatch: pytest.MonkeyPatch, before: Callable[[int], None] = lambda n: None, after: Callable[[int], None] = lambda n: None
) -> list[int]:
    """Wrap the real chunk append; return the list of how many transactions were open around each call."""
    real, depths = imports.append_chunk, []

    def spy(**kwargs: Any) -> None:
        number = len(depths) + 1
        depths.append(len(connection.savepoint_ids))
        before(number)
        real(**kwargs)
        after(number)

    monkeypatch.setattr(imports, "append_chunk", spy)
    return depths


def cells_of(sheet: Sheet) -> dict[Any, str]:
    return {coord: state.value for coord, state in current_state(stream_id=sheet.stream_id).cells.items()}


@pytest.mark.usefixtures("committed_db", "small_chunks")
def test_a_chunked_import_commits_each_chunk_and_gives_the_same_sheet_and_ledger_as_one_transaction(
    make_user, monkeypatch, settings
):
    owner = make_user()
    depths = chunk_spy(monkeypatch)
    chunked = imports.import_sheet(name=unique("chunked"), title="", owner=owner, grid=grid())
    assert len(depths) > 5 and set(depths) == {0}  # each chunk in an outermost transaction: a commit each
    chunks = len(depths)
    settings.SHEETS_IMPORT_EDITS_PER_COMMIT = 10_000
    whole = imports.import_sheet(name=unique("whole"), title="", owner=owner, grid=grid())
    assert len(depths) == chunks + 1  # one transaction, as before

    for sheet in (chunked, whole):
        assert sheet.state == SheetState.READY and sheet.rows_imported == ROWS
        call_command("verify_ledger", sheet.name)
        call_command("rebuild_projections", sheet.name, "--check")
    assert (
        cells_of(chunked)
        == cells_of(whole)
        == {(row, col): value for row, values in enumerate(grid()) for col, value in enumerate(values) if value}
    )
    events = list(Event.objects.filter(stream_id=chunked.stream_id).order_by("seq"))
    assert [event.seq for event in events] == list(range(1, chunked.head + 1)) and chunked.head == whole.head
    assert {event.broadcaster_id for event in events} == {owner.pk}
    edit_sizes = Counter(event.client_event_id for event in events).values()
    assert max(edit_sizes) == 10 and len(edit_sizes) == -(-chunked.head // 10)


@pytest.mark.django_db
@pytest.mark.usefixtures("small_chunks")
def test_an_importing_sheet_is_in_no_list_and_opens_nowhere_but_its_progress_is_in_the_catalog(client, alice, monkeypatch):
    name = unique("hidden")
    client.force_login(alice)
    seen: list[int] = []

    def look(number: int) -> None:
        if number != 3:
            return
        catalog = client.get("/api/sheets/").json()
        assert name not in [entry["name"] for entry in catalog["sheets"]]
        (progress,) = [entry for entry in catalog["importing"] if entry["name"] == name]
        assert progress["state"] == "importing" and progress["row_count"] == ROWS
        assert 0 < progress["rows_imported"] < ROWS
        assert name not in client.get("/").content.decode()
        assert client.get(f"/sheets/{name}/").status_code == 404
        for path in ("cells/", "events/", "export/", "members/"):
            response = client.get(f"/api/sheets/{name}/{path}")
            assert response.status_code == 404 and "being imported" in response.json()["error"], path
        with pytest.raises(NameTaken, match="being imported"):
            check_new_name(name=name)
        seen.append(number)

    chunk_spy(monkeypatch, before=look)
    imports.import_sheet(name=name, title="", owner=alice, grid=grid())
    assert seen == [3]
    catalog = client.get("/api/sheets/").json()
    assert name in [entry["name"] for entry in catalog["sheets"]] and catalog["importing"] == []
    assert client.get(f"/api/sheets/{name}/cells/").status_code == 200


def fail_on(chunk: int) -> Callable[[int], None]:
    def after(number: int) -> None:
        if number == chunk:
            raise DatabaseError("injected: the database went away mid-chunk")

    return after


@pytest.mark.usefixtures("committed_db", "small_chunks")
def test_a_failure_in_the_first_chunk_leaves_nothing_and_the_name_free(make_user, monkeypatch):
    owner, name = make_user(), unique("first")
    chunk_spy(monkeypatch, after=fail_on(1))
    with pytest.raises(DatabaseError, match="injected"):
        imports.import_sheet(name=name, title="", owner=owner, grid=grid())
    assert not Sheet.objects.filter(name=name).exists() and not Stream.objects.filter(name=name).exists()
    monkeypatch.undo()
    assert imports.import_sheet(name=name, title="", owner=owner, grid=grid()).state == SheetState.READY


@pytest.mark.usefixtures("committed_db", "small_chunks")
def test_a_failure_midway_leaves_the_sheet_hidden_for_good_its_partial_ledger_intact_and_its_name_taken(
    client, make_user, monkeypatch
):
    owner, name = make_user(), unique("midway")
    chunk_spy(monkeypatch, after=fail_on(3))
    with pytest.raises(DatabaseError, match="injected"):
        imports.import_sheet(name=name, title="", owner=owner, grid=grid())

    sheet = Sheet.objects.select_related("stream").get(name=name)
    # Two chunks committed (2 edits of 10 each); the third rolled back with its error.
    assert sheet.state == SheetState.FAILED and sheet.head == 40
    with pytest.raises(SheetNotFound, match="import failed"):
        get_sheet(name=name)
    client.force_login(owner)
    catalog = client.get("/api/sheets/").json()
    assert name not in [entry["name"] for entry in catalog["sheets"]]
    assert [entry["state"] for entry in catalog["importing"] if entry["name"] == name] == ["failed"]
    assert client.get(f"/sheets/{name}/").status_code == 404
    assert client.get(f"/api/sheets/{name}/cells/").status_code == 404
    call_command("verify_ledger", name)
    call_command("rebuild_projections", name, "--check")
    monkeypatch.undo()
    response = client.post("/api/sheets/", {"name": name, "file": SimpleUploadedFile("again.csv", b"a,b\r\n")})
    assert response.status_code == 409 and "import failed" in response.json()["error"]
