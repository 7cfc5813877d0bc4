"""Time travel: cells_at is the fold of the events up to seq, with or without snapshots; diffs between seqs."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.models import Event
from projections.fold import Cells, CellState, fold, non_empty
from projections.models import ProjectionSnapshot
from projections.selectors import cells_at, diff_cells, positional
from projections.services import sheet_at_filling_cache
from projections.snapshots import SPREAD, decode, snapshots_due
from sheets.models import Sheet
from sheets.writes.edits import Change
from tests.conftest import edit

pytestmark = pytest.mark.django_db

NO_SNAPSHOTS = 10**9
VALUES = st.sampled_from(["", "a", "b", "12", "ü ✓", "x" * 40])
CHANGE = st.builds(Change, row=st.integers(0, 3), col=st.integers(0, 2), value=VALUES)
EDITS = st.lists(st.lists(CHANGE, min_size=1, max_size=3), min_size=1, max_size=12)
HYPOTHESIS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def fill(make_sheet, alice, edits: list[list[Change]]) -> Sheet:
    """Append the edits to a new sheet (each example gets its own: events cannot be deleted)."""
    sheet = make_sheet(rows=4, cols=3, editors=[alice])
    for changes in edits:
        edit(sheet, alice, *changes)
    sheet.refresh_from_db()
    return sheet


def folded_upto(sheet: Sheet, seq: int) -> Cells:
    return non_empty(fold(Event.objects.filter(stream__sheet=sheet, seq__lte=seq).order_by("seq")))


def snapshot_seqs(sheet: Sheet) -> list[int]:
    return sorted(ProjectionSnapshot.objects.filter(stream__sheet=sheet).values_list("seq", flat=True))


@HYPOTHESIS
@given(edits=EDITS, every=st.sampled_from([NO_SNAPSHOTS, 1, 2, 5]), data=st.data())
def test_cells_at_equals_the_fold_of_the_events_up_to_seq(make_sheet, alice, edits, every, data):
    with override_settings(SHEETS_SNAPSHOT_EVERY=every):
        sheet = fill(make_sheet, alice, edits)
        # Several reads in random order: later ones start from snapshots the
        # earlier ones left behind, before or after their target.
        seqs = data.draw(st.lists(st.integers(0, sheet.head), min_size=1, max_size=4), label="seqs")
        for seq in seqs:
            before = set(snapshot_seqs(sheet))
            assert positional(sheet_at_filling_cache(stream_id=sheet.stream_id, seq=seq)) == folded_upto(sheet, seq)
            taken = set(snapshot_seqs(sheet)) - before
            start = max([at for at in before if at <= seq], default=0)
            last_multiple = seq - seq % every
            # A read that folds past a multiple leaves one at the last of them
            # (the next trip there starts at it), and a bounded few others.
            if every != NO_SNAPSHOTS and last_multiple > start:
                assert last_multiple in taken
            assert len(taken) <= SPREAD
            assert all(start < at <= seq for at in taken)
        for at, stored in ProjectionSnapshot.objects.filter(stream__sheet=sheet).values_list("seq", "cells"):
            assert at % every == 0
            assert positional(decode(stored)) == folded_upto(sheet, at)
        if every == NO_SNAPSHOTS:
            assert snapshot_seqs(sheet) == []


@HYPOTHESIS
@given(edits=EDITS, every=st.sampled_from([1, 3]), data=st.data())
def test_cells_at_equals_the_fold_after_a_rebuild_of_the_snapshots(make_sheet, alice, edits, every, data):
    with override_settings(SHEETS_SNAPSHOT_EVERY=every):
        sheet = fill(make_sheet, alice, edits)
        call_command("rebuild_projections", sheet.name, "--snapshots", stdout=io.StringIO())
        assert snapshot_seqs(sheet) == list(range(every, sheet.head + 1, every))
        seq = data.draw(st.integers(0, sheet.head), label="seq")
        assert cells_at(stream_id=sheet.stream_id, seq=seq) == folded_upto(sheet, seq)


@HYPOTHESIS
@given(edits=EDITS, data=st.data())
def test_diff_lists_exactly_the_cells_whose_value_differs(make_sheet, alice, edits, data):
    sheet = fill(make_sheet, alice, edits)
    from_seq = data.draw(st.integers(0, sheet.head), label="from")
    to_seq = data.draw(st.integers(from_seq, sheet.head), label="to")
    before, after = folded_upto(sheet, from_seq), folded_upto(sheet, to_seq)
    expected = {
        coord: (before[coord].value if coord in before else "", after[coord].value if coord in after else "")
        for coord in set(before) | set(after)
    }
    expected = {coord: values for coord, values in expected.items() if values[0] != values[1]}
    diffs = diff_cells(stream_id=sheet.stream_id, from_seq=from_seq, to_seq=to_seq)
    assert {(d.row, d.col): (d.from_value, d.to_value) for d in diffs} == expected
    assert [(d.row, d.col) for d in diffs] == sorted(expected)


def test_a_snapshot_is_where_the_fold_starts(make_sheet, alice, settings):
    # A forged snapshot shows through: proof that cells_at folds forward from
    # it instead of from seq 1 (and why rebuild_projections --check checks them).
    settings.SHEETS_SNAPSHOT_EVERY = 2
    sheet = fill(make_sheet, alice, [[Change(0, 0, "a")], [Change(0, 1, "b")], [Change(1, 1, "c")]])
    ProjectionSnapshot.objects.create(stream=sheet.stream, seq=2, cells={
        "rows": [{"from": 0, "to": 4}], "cols": [{"from": 0, "to": 3}], "cells": [["r3", "c2", "from the snapshot", 2]],
    })
    assert cells_at(stream_id=sheet.stream_id, seq=3) == {
        (3, 2): CellState(value="from the snapshot", last_seq=2),
        (1, 1): CellState(value="c", last_seq=3),
    }


def test_a_long_fold_spreads_a_few_snapshots_over_its_way_and_keeps_the_last():
    assert snapshots_due(start=0, seq=996_400, every=10_000) == {
        130_000, 250_000, 370_000, 500_000, 620_000, 740_000, 860_000, 990_000,
    }
    assert snapshots_due(start=0, seq=25, every=10) == {10, 20}
    assert snapshots_due(start=10, seq=19, every=10) == set()
    assert snapshots_due(start=0, seq=10, every=10) == {10}


def test_diff_refuses_a_from_after_the_to(make_sheet, alice):
    sheet = fill(make_sheet, alice, [[Change(0, 0, "a")]])
    with pytest.raises(ValueError, match="after to_seq"):
        diff_cells(stream_id=sheet.stream_id, from_seq=1, to_seq=0)


def test_the_cells_at_selector_reads_and_never_stores_a_snapshot(make_sheet, alice, settings):
    settings.SHEETS_SNAPSHOT_EVERY = 1
    sheet = fill(make_sheet, alice, [[Change(row=0, col=0, value="a")], [Change(row=1, col=1, value="b")]])
    assert cells_at(stream_id=sheet.stream_id, seq=2) == folded_upto(sheet, 2)
    assert snapshot_seqs(sheet) == []
    assert positional(sheet_at_filling_cache(stream_id=sheet.stream_id, seq=2)) == folded_upto(sheet, 2)
    assert snapshot_seqs(sheet) == [1, 2]
