"""The one write path: append_edit, on whichever database DATABASE_URL names."""

from __future__ import annotations

import uuid

import pytest
from django.db import DatabaseError, connection, transaction

from ledger.models import Event
from sheets.exceptions import Conflict, Forbidden, InvalidEdit, OutOfRange, TooManyChanges, ValueTooLong
from sheets.models import Sheet
from sheets.writes.edits import Change
from tests.cells import stored_by_position
from tests.conftest import assert_hash_chain, edit

pytestmark = pytest.mark.django_db


@pytest.fixture
def sheet(make_sheet, alice):
    return make_sheet(rows=10, cols=5, editors=[alice])


def seqs_of(sheet: Sheet) -> list[int]:
    return list(Event.objects.filter(stream__sheet=sheet).order_by("seq").values_list("seq", flat=True))


def cells_of(sheet: Sheet) -> dict[tuple[int, int], tuple[str, int]]:
    return stored_by_position(sheet)


def test_seqs_start_at_one_and_have_no_gaps(sheet, alice):
    results = [edit(sheet, alice, (0, 0, "a")), edit(sheet, alice, (0, 1, "b"), (0, 2, "c")), edit(sheet, alice, (1, 0, "d"))]
    assert [r.seqs for r in results] == [[1], [2, 3], [4]]
    assert seqs_of(sheet) == [1, 2, 3, 4]
    sheet.refresh_from_db()
    assert sheet.head == 4


def test_seqs_are_per_sheet(make_sheet, alice):
    first, second = make_sheet(editors=[alice]), make_sheet(editors=[alice])
    edit(first, alice, (0, 0, "x"))
    edit(first, alice, (0, 0, "y"))
    assert edit(second, alice, (0, 0, "z")).seqs == [1]


def test_event_records_old_and_new_value_and_the_editor(sheet, alice):
    edit(sheet, alice, (2, 3, "10"))
    edit(sheet, alice, (2, 3, "12"))
    event = Event.objects.get(stream__sheet=sheet, seq=2)
    assert (event.row, event.col, event.old_value, event.new_value) == (2, 3, "10", "12")
    assert event.broadcaster_id == alice.pk


def test_multi_change_edit_is_consecutive_and_shares_its_client_event_id(sheet, alice):
    client_event_id = uuid.uuid4()
    result = edit(sheet, alice, (0, 0, "a"), (0, 0, "b"), (1, 1, "c"), client_event_id=client_event_id)
    assert result.seqs == [1, 2, 3]
    events = list(Event.objects.filter(stream__sheet=sheet).order_by("seq"))
    assert {e.client_event_id for e in events} == {client_event_id}
    assert [(e.old_value, e.new_value) for e in events] == [("", "a"), ("a", "b"), ("", "c")]
    assert cells_of(sheet) == {(0, 0): ("b", 2), (1, 1): ("c", 3)}


def test_an_edit_with_one_bad_change_appends_nothing(sheet, alice):
    edit(sheet, alice, (0, 0, "keep"))
    with pytest.raises(OutOfRange):
        edit(sheet, alice, (0, 0, "lost"), (10, 0, "outside"))
    assert seqs_of(sheet) == [1]
    assert cells_of(sheet) == {(0, 0): ("keep", 1)}
    sheet.refresh_from_db()
    assert sheet.head == 1


@pytest.mark.parametrize("row,col", [(-1, 0), (0, -1), (10, 0), (0, 5), (10**12, 0)])
def test_cells_outside_the_sheet_are_refused(sheet, alice, row, col):
    with pytest.raises(OutOfRange):
        edit(sheet, alice, (row, col, "x"))
    assert seqs_of(sheet) == []


def test_retry_with_the_same_client_event_id_appends_nothing_and_returns_the_original_seqs(sheet, alice):
    client_event_id = uuid.uuid4()
    first = edit(sheet, alice, (0, 0, "a"), (0, 1, "b"), client_event_id=client_event_id)
    edit(sheet, alice, (3, 3, "other"))
    retry = edit(sheet, alice, (0, 0, "a"), (0, 1, "b"), client_event_id=client_event_id)
    assert (first.duplicate, retry.duplicate) == (False, True)
    assert retry.seqs == first.seqs == [1, 2]
    assert seqs_of(sheet) == [1, 2, 3]


def test_a_client_event_id_of_another_user_is_refused(sheet, alice, make_user):
    bob = make_user()
    from sheets.services import grant

    grant(sheet=sheet, username=bob.username, role="editor")
    client_event_id = uuid.uuid4()
    edit(sheet, alice, (0, 0, "a"), client_event_id=client_event_id)
    with pytest.raises(InvalidEdit):
        edit(sheet, bob, (0, 0, "b"), client_event_id=client_event_id)
    assert seqs_of(sheet) == [1]


def test_stale_base_seq_is_a_conflict_with_the_current_cell(sheet, alice):
    edit(sheet, alice, (1, 1, "v1"))
    edit(sheet, alice, (1, 1, "v2"))
    with pytest.raises(Conflict) as caught:
        edit(sheet, alice, Change(row=1, col=1, value="mine", base_seq=1), Change(row=2, col=2, value="x"))
    assert caught.value.details["cells"] == [{"row_id": "r1", "col_id": "c1", "row": 1, "col": 1, "value": "v2", "last_seq": 2}]
    assert seqs_of(sheet) == [1, 2]


def test_current_base_seq_is_accepted(sheet, alice):
    edit(sheet, alice, (1, 1, "v1"))
    edit(sheet, alice, (4, 4, "elsewhere"))
    assert edit(sheet, alice, Change(row=1, col=1, value="v2", base_seq=1)).seqs == [3]


def test_base_seq_on_a_cell_cleared_later_is_a_conflict(sheet, alice):
    edit(sheet, alice, (1, 1, "v1"))
    edit(sheet, alice, (1, 1, ""))
    with pytest.raises(Conflict) as caught:
        edit(sheet, alice, Change(row=1, col=1, value="v3", base_seq=1))
    assert caught.value.details["cells"] == [{"row_id": "r1", "col_id": "c1", "row": 1, "col": 1, "value": "", "last_seq": 2}]


def test_value_over_the_limit_is_refused(sheet, alice, settings):
    settings.SHEETS_MAX_VALUE_LENGTH = 8
    edit(sheet, alice, (0, 0, "x" * 8))
    with pytest.raises(ValueTooLong):
        edit(sheet, alice, (0, 1, "x" * 9))
    assert seqs_of(sheet) == [1]


def test_too_many_changes_are_refused(sheet, alice, settings):
    settings.SHEETS_MAX_CHANGES = 3
    with pytest.raises(TooManyChanges):
        edit(sheet, alice, *[(0, c, "x") for c in range(4)])
    assert seqs_of(sheet) == []


def test_viewers_and_strangers_may_not_edit(make_sheet, make_user):
    viewer, stranger = make_user(), make_user()
    sheet = make_sheet(viewers=[viewer])
    for user in (viewer, stranger):
        with pytest.raises(Forbidden):
            edit(sheet, user, (0, 0, "x"))
    assert seqs_of(sheet) == []


def test_empty_value_clears_the_cell_but_keeps_its_last_seq(sheet, alice):
    edit(sheet, alice, (0, 0, "x"))
    edit(sheet, alice, (0, 0, ""))
    assert cells_of(sheet) == {(0, 0): ("", 2)}


def test_hash_chain_links_every_event_and_recomputes(sheet, alice):
    edit(sheet, alice, (0, 0, "a"), (0, 1, "ünïcødé ✓"))
    edit(sheet, alice, (0, 0, "b"))
    sheet.refresh_from_db()
    assert_hash_chain(sheet, list(Event.objects.filter(stream__sheet=sheet).order_by("seq")))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_event SET new_value = 'forged' WHERE stream_id = %s",
        "DELETE FROM ledger_event WHERE stream_id = %s",
    ],
)
def test_the_database_refuses_to_change_or_delete_events(sheet, alice, statement):
    edit(sheet, alice, (0, 0, "original"))
    with pytest.raises(DatabaseError, match="immutable"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [sheet.stream_id])
    assert Event.objects.get(stream__sheet=sheet, seq=1).new_value == "original"


def test_the_orm_cannot_delete_an_event_either(sheet, alice):
    edit(sheet, alice, (0, 0, "original"))
    with pytest.raises(DatabaseError, match="immutable"):
        with transaction.atomic():
            Event.objects.filter(stream__sheet=sheet).delete()
    assert seqs_of(sheet) == [1]
