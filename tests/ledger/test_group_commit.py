"""append_edits: several edits of one sheet in one transaction, each judged as if it came alone."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from ledger.models import Event
from projections.fold import fold
from projections.models import Cell
from sheets.broadcast.announce import group_name
from sheets.exceptions import Conflict, Forbidden, InvalidEdit, OutOfRange, TooManyChanges
from sheets.writes.edits import AppendResult, Change, EditRequest, append_edits
from tests.cells import stored_by_position
from tests.conftest import assert_hash_chain, edit

pytestmark = pytest.mark.django_db


@pytest.fixture
def sheet(make_sheet, alice, bob):
    return make_sheet(rows=10, cols=5, editors=[alice, bob])


def request(user, *changes, client_event_id=None):
    return EditRequest(
        user=user,
        client_event_id=client_event_id or uuid.uuid4(),
        changes=[c if isinstance(c, Change) else Change(row=c[0], col=c[1], value=c[2]) for c in changes],
    )


def stored(sheet):
    return list(Event.objects.filter(stream__sheet=sheet).order_by("seq"))


def test_a_batch_gets_consecutive_seqs_in_request_order(sheet, alice, bob):
    outcomes = append_edits(sheet_id=sheet.pk, requests=[
        request(alice, (0, 0, "a")), request(bob, (0, 1, "b"), (0, 2, "c")), request(alice, (0, 0, "a2")),
    ])
    assert [o.seqs for o in outcomes] == [[1], [2, 3], [4]]
    events = stored(sheet)
    assert [(e.seq, e.broadcaster_id, e.old_value, e.new_value) for e in events] == [
        (1, alice.pk, "", "a"), (2, bob.pk, "", "b"), (3, bob.pk, "", "c"), (4, alice.pk, "a", "a2"),
    ]
    sheet.refresh_from_db()
    assert sheet.head == 4
    assert_hash_chain(sheet, events)
    assert stored_by_position(sheet) == {
        coord: (state.value, state.last_seq) for coord, state in fold(events).items()
    }


def test_a_refused_edit_appends_nothing_and_leaves_the_others_alone(sheet, alice, make_user, settings):
    settings.SHEETS_MAX_CHANGES = 3
    stranger = make_user()
    outcomes = append_edits(sheet_id=sheet.pk, requests=[
        request(alice, (0, 0, "kept")),
        request(alice, (1, 1, "x"), (99, 0, "outside")),
        request(stranger, (2, 2, "intruder")),
        request(alice, *[(0, c, "many") for c in range(4)]),
        request(alice, (3, 3, "kept too")),
    ])
    assert isinstance(outcomes[0], AppendResult) and outcomes[0].seqs == [1]
    assert isinstance(outcomes[1], OutOfRange)
    assert isinstance(outcomes[2], Forbidden)
    assert isinstance(outcomes[3], TooManyChanges)
    assert isinstance(outcomes[4], AppendResult) and outcomes[4].seqs == [2]
    assert [(e.seq, e.new_value) for e in stored(sheet)] == [(1, "kept"), (2, "kept too")]


def test_an_edit_conflicts_with_an_earlier_edit_of_the_same_batch(sheet, alice, bob):
    first = edit(sheet, alice, (0, 0, "base"))
    outcomes = append_edits(sheet_id=sheet.pk, requests=[
        request(alice, Change(row=0, col=0, value="alice", base_seq=first.seqs[0])),
        request(bob, Change(row=0, col=0, value="bob", base_seq=first.seqs[0])),
    ])
    assert outcomes[0].seqs == [2]
    assert isinstance(outcomes[1], Conflict)
    assert outcomes[1].details["cells"] == [{"row_id": "r0", "col_id": "c0", "row": 0, "col": 0, "value": "alice", "last_seq": 2}]
    assert Cell.objects.get(stream__sheet=sheet, row_id="r0", col_id="c0").value == "alice"


def test_a_retry_in_the_same_batch_is_answered_with_the_first_seqs(sheet, alice, bob):
    cid = uuid.uuid4()
    outcomes = append_edits(sheet_id=sheet.pk, requests=[
        request(alice, (0, 0, "once"), client_event_id=cid),
        request(alice, (0, 0, "once"), client_event_id=cid),
        request(bob, (0, 0, "hijack"), client_event_id=cid),
    ])
    assert outcomes[0].seqs == [1] and not outcomes[0].duplicate
    assert outcomes[1].seqs == [1] and outcomes[1].duplicate
    assert isinstance(outcomes[2], InvalidEdit)
    assert len(stored(sheet)) == 1


def test_a_batch_of_refused_edits_leaves_the_sheet_untouched(sheet, alice, make_user):
    edit(sheet, alice, (0, 0, "before"))
    outcomes = append_edits(sheet_id=sheet.pk, requests=[
        request(alice, (50, 0, "outside")), request(make_user(), (0, 0, "intruder")),
    ])
    assert [type(o) for o in outcomes] == [OutOfRange, Forbidden]
    sheet.refresh_from_db()
    assert sheet.head == 1
    assert len(stored(sheet)) == 1


def test_the_batch_is_announced_in_one_group_message_after_commit(sheet, alice, bob,
                                                                  django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group_name(sheet.pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        append_edits(sheet_id=sheet.pk, requests=[request(alice, (0, 0, "a")), request(bob, (1, 1, "b"), (1, 2, "c"))])

    async def receive():
        return await asyncio.wait_for(layer.receive(channel), timeout=5)

    message = async_to_sync(receive)()
    assert (message["first"], message["last"]) == (1, 3)
    assert [(e["seq"], e["broadcaster_id"]) for e in message["events"]] == [(1, alice.pk), (2, bob.pk), (3, bob.pk)]
