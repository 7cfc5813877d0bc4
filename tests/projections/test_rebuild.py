"""rebuild_projections rebuilds the cells from the ledger and drops the snapshots (--snapshots retakes them all);
--check compares both with the ledger and writes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from ledger.hashing import COLUMNS_INSERTED, ROWS_DELETED, ROWS_INSERTED
from ledger.models import Event
from projections.fold import Cells, fold, non_empty
from projections.models import Cell, Order, ProjectionSnapshot
from projections.rebuild import rebuild_sheet
from projections.selectors import cells_at, order_now, positional
from projections.services import sheet_at_filling_cache
from sheets.models import Sheet
from tests.cells import stored_by_position
from tests.conftest import edit, restructure

pytestmark = pytest.mark.django_db


@pytest.fixture
def sheet(make_sheet, alice) -> Sheet:
    sheet = make_sheet(rows=10, cols=5, editors=[alice])
    edit(sheet, alice, (0, 0, "a"), (3, 1, "b"))
    edit(sheet, alice, (0, 0, "c"))
    edit(sheet, alice, (2, 2, "gone"))
    edit(sheet, alice, (2, 2, ""))
    edit(sheet, alice, (4, 4, "e"), (3, 1, "f"))
    return sheet


def table(sheet: Sheet) -> dict[tuple[int, int], tuple[str, int]]:
    return stored_by_position(sheet)


def folded(sheet: Sheet) -> dict[tuple[int, int], tuple[str, int]]:
    cells = fold(Event.objects.filter(stream__sheet=sheet).order_by("seq"))
    return {coord: (state.value, state.last_seq) for coord, state in cells.items()}


def folded_non_empty(sheet: Sheet, seq: int) -> Cells:
    return non_empty(fold(Event.objects.filter(stream__sheet=sheet, seq__lte=seq).order_by("seq")))


def snapshot_seqs(sheet: Sheet) -> list[int]:
    return sorted(ProjectionSnapshot.objects.filter(stream__sheet=sheet).values_list("seq", flat=True))


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("rebuild_projections", *args, stdout=out)
    return out.getvalue()


def test_check_passes_on_a_clean_sheet(sheet):
    assert f"{sheet.name}: cells, order and snapshots match the ledger at seq 7" in run(sheet.name, "--check")


def test_check_reports_a_cell_changed_behind_the_ledgers_back_and_writes_nothing(sheet):
    Cell.objects.filter(stream__sheet=sheet, row_id="r3", col_id="c1").update(value="forged")
    before = table(sheet)
    out = io.StringIO()
    with pytest.raises(CommandError, match=rf"differs from the ledger for: {sheet.name} \(1 cell"):
        call_command("rebuild_projections", sheet.name, "--check", stdout=out)
    assert "cell (r3, c1): table has 'forged' (last_seq 7), ledger says 'f' (last_seq 7)" in out.getvalue()
    assert table(sheet) == before


def test_check_reports_every_differing_cell_missing_and_extra_ones_included(sheet):
    Cell.objects.filter(stream__sheet=sheet, row_id="r0", col_id="c0").update(last_seq=1)
    Cell.objects.filter(stream__sheet=sheet, row_id="r4", col_id="c4").delete()
    Cell.objects.create(stream=sheet.stream, row_id="r9", col_id="c0", value="stray", last_seq=3)
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"\(3 cell\(s\), 0 snapshot\(s\)\)"):
        call_command("rebuild_projections", sheet.name, "--check", stdout=out)
    lines = out.getvalue().splitlines()
    assert f"{sheet.name}: cell (r0, c0): table has 'c' (last_seq 1), ledger says 'c' (last_seq 3)" in lines
    assert f"{sheet.name}: cell (r4, c4): table has no row, ledger says 'e' (last_seq 6)" in lines
    assert f"{sheet.name}: cell (r9, c0): table has 'stray' (last_seq 3), ledger says never edited" in lines


def test_rebuild_restores_the_cells_to_the_fold_of_the_ledger(sheet):
    Cell.objects.filter(stream__sheet=sheet, row_id="r3", col_id="c1").update(value="forged")
    Cell.objects.filter(stream__sheet=sheet, row_id="r2", col_id="c2").delete()
    Cell.objects.create(stream=sheet.stream, row_id="r9", col_id="c0", value="stray", last_seq=3)
    output = run(sheet.name)
    assert f"{sheet.name}: 4 cells, 10 rows x 5 columns as of seq 7, 0 snapshots dropped" in output
    assert table(sheet) == folded(sheet)
    # Cleared cells keep their row, as the inline projection keeps them.
    assert table(sheet)[(2, 2)] == ("", 5)
    assert "match the ledger" in run(sheet.name, "--check")


def test_rebuild_leaves_other_sheets_alone(sheet, make_sheet, alice):
    other = make_sheet(editors=[alice])
    edit(other, alice, (1, 1, "mine"))
    Cell.objects.filter(stream__sheet=other).update(value="forged")
    run(sheet.name)
    assert table(other) == {(1, 1): ("forged", 1)}


def test_every_sheet_is_rebuilt_without_a_name(sheet, make_sheet, alice):
    other = make_sheet(editors=[alice])
    edit(other, alice, (1, 1, "mine"))
    Cell.objects.filter(stream__sheet__in=[sheet, other]).update(value="forged")
    run()
    assert table(sheet) == folded(sheet)
    assert table(other) == {(1, 1): ("mine", 1)}


def test_rebuild_of_a_sheet_without_events_empties_its_table(make_sheet):
    empty = make_sheet()
    Cell.objects.create(stream=empty.stream, row_id="r0", col_id="c0", value="stray", last_seq=1)
    with pytest.raises(CommandError):
        run(empty.name, "--check")
    run(empty.name)
    assert table(empty) == {}


def test_an_unknown_sheet_is_an_error():
    with pytest.raises(CommandError, match="no sheet named 'nope'"):
        run("nope", "--check")


def test_rebuild_with_snapshots_takes_one_at_every_multiple_of_the_interval(sheet, settings):
    settings.SHEETS_SNAPSHOT_EVERY = 2
    assert f"{sheet.name}: 4 cells, 10 rows x 5 columns as of seq 7, 3 snapshots taken" in run(sheet.name, "--snapshots")
    snapshots = dict(ProjectionSnapshot.objects.filter(stream__sheet=sheet).values_list("seq", "cells"))
    assert sorted(snapshots) == [2, 4, 6]
    assert snapshots[4]["cells"] == [["r0", "c0", "c", 3], ["r2", "c2", "gone", 4], ["r3", "c1", "b", 2]]
    assert snapshots[6]["cells"] == [["r0", "c0", "c", 3], ["r3", "c1", "b", 2], ["r4", "c4", "e", 6]]
    assert snapshots[6]["rows"] == [{"from": 0, "to": 10}] and snapshots[6]["cols"] == [{"from": 0, "to": 5}]


def test_rebuild_drops_the_snapshots_and_time_travel_takes_them_again(sheet, settings):
    settings.SHEETS_SNAPSHOT_EVERY = 2
    positional(sheet_at_filling_cache(stream_id=sheet.stream_id, seq=7))
    assert snapshot_seqs(sheet) == [2, 4, 6]
    # A wrong snapshot that time travel stored is caught like any other...
    ProjectionSnapshot.objects.filter(stream__sheet=sheet, seq=4).update(cells=[[0, 0, "forged", 3]])
    with pytest.raises(CommandError, match=r"\(0 cell\(s\), 1 snapshot\(s\)\)"):
        run(sheet.name, "--check")
    # ...and a rebuild drops it with the rest, without folding the ledger.
    assert f"{sheet.name}: 4 cells, 10 rows x 5 columns as of seq 7, 3 snapshots dropped" in run(sheet.name)
    assert snapshot_seqs(sheet) == []
    assert "cells, order and snapshots match the ledger at seq 7" in run(sheet.name, "--check")
    assert positional(sheet_at_filling_cache(stream_id=sheet.stream_id, seq=5)) == folded_non_empty(sheet, 5)
    assert snapshot_seqs(sheet) == [2, 4]
    assert "match the ledger" in run(sheet.name, "--check")


def test_check_reports_a_wrong_snapshot_and_a_rebuild_with_snapshots_replaces_it(sheet, settings):
    settings.SHEETS_SNAPSHOT_EVERY = 2
    run(sheet.name, "--snapshots")
    ProjectionSnapshot.objects.filter(stream__sheet=sheet, seq=4).update(cells=[[0, 0, "forged", 3]])
    ProjectionSnapshot.objects.create(stream=sheet.stream, seq=5, cells=[])
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"\(0 cell\(s\), 2 snapshot\(s\)\)"):
        call_command("rebuild_projections", sheet.name, "--check", stdout=out)
    assert f"{sheet.name}: snapshot at seq 4 differs from the fold of the ledger" in out.getvalue()
    assert f"{sheet.name}: snapshot at seq 5 differs from the fold of the ledger" in out.getvalue()
    run(sheet.name, "--snapshots")
    assert snapshot_seqs(sheet) == [2, 4, 6]
    assert "match the ledger" in run(sheet.name, "--check")
    assert cells_at(stream_id=sheet.stream_id, seq=5) == folded_non_empty(sheet, 5)


@pytest.mark.parametrize("garbage", [{"not": "a list"}, "text", [[0, 0]], [[0, "x", "v", 1]], 42])
def test_check_reports_a_snapshot_that_is_not_even_a_list_of_cells(sheet, settings, garbage):
    settings.SHEETS_SNAPSHOT_EVERY = 2
    run(sheet.name, "--snapshots")
    ProjectionSnapshot.objects.filter(stream__sheet=sheet, seq=2).update(cells=garbage)
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"\(0 cell\(s\), 1 snapshot\(s\)\)"):
        call_command("rebuild_projections", sheet.name, "--check", stdout=out)
    assert f"{sheet.name}: snapshot at seq 2 differs from the fold of the ledger" in out.getvalue()


def test_check_with_snapshots_is_refused(sheet):
    with pytest.raises(CommandError, match="--snapshots is for a rebuild"):
        run(sheet.name, "--check", "--snapshots")


def test_the_fold_reports_its_progress_up_to_the_head(sheet):
    seen: list[int] = []
    rebuild_sheet(stream_id=sheet.stream_id, snapshots=True, on_progress=seen.append)
    assert seen[-1] == 7
    assert seen == sorted(seen)


@pytest.fixture
def restructured(make_sheet, alice) -> Sheet:
    sheet = make_sheet(rows=4, cols=3, editors=[alice])
    edit(sheet, alice, (1, 1, "in r1"), (3, 0, "in r3"))
    restructure(sheet, alice, ROWS_INSERTED, ["n1"], after="r0")
    restructure(sheet, alice, ROWS_DELETED, ["r3"])
    restructure(sheet, alice, COLUMNS_INSERTED, ["k"], after="c2")
    sheet.refresh_from_db()
    return sheet


def order_of(sheet: Sheet) -> dict[str, list[object]]:
    return dict(Order.objects.filter(stream_id=sheet.stream_id).values_list("axis", "runs"))


def test_check_reports_a_forged_order_of_rows_and_rebuild_restores_it(restructured):
    before = order_of(restructured)
    assert before["r"] == [{"from": 0, "to": 1}, {"ids": ["n1"]}, {"from": 1, "to": 3}, {"from": 3, "to": 4, "deleted": True}]
    # Swap two rows behind the ledger's back: every cell is still right, only the order lies.
    Order.objects.filter(stream_id=restructured.stream_id, axis="r").update(
        runs=[{"ids": ["n1"]}, {"from": 0, "to": 3}, {"from": 3, "to": 4, "deleted": True}]
    )
    out = io.StringIO()
    with pytest.raises(CommandError, match=rf"{restructured.name} \(0 cell\(s\), 0 snapshot\(s\), the order of rows\)"):
        call_command("rebuild_projections", restructured.name, "--check", stdout=out)
    assert "the order of rows differs from position 0" in out.getvalue()
    assert "table has ['n1', 'r0', 'r1', 'r2', '~r3'], ledger says ['r0', 'n1', 'r1', 'r2', '~r3']" in out.getvalue()
    output = run(restructured.name)
    assert f"{restructured.name}: 1 cell, 4 rows x 4 columns as of seq 5" in output
    assert order_of(restructured) == before
    assert "cells, order and snapshots match the ledger" in run(restructured.name, "--check")


def test_check_reports_a_deleted_rows_cell_left_in_the_table(restructured):
    Cell.objects.create(stream=restructured.stream, row_id="r3", col_id="c0", value="in r3", last_seq=2)
    with pytest.raises(CommandError, match=r"\(1 cell\(s\)"):
        run(restructured.name, "--check")
    run(restructured.name)
    assert not Cell.objects.filter(stream=restructured.stream, row_id="r3").exists()


def test_a_rebuild_of_an_order_lost_altogether_stores_it_again(restructured):
    Order.objects.filter(stream_id=restructured.stream_id).delete()
    with pytest.raises(CommandError, match="the order of rows and columns"):
        run(restructured.name, "--check")
    run(restructured.name)
    assert order_now(stream=restructured.stream).rows.ids() == ["r0", "n1", "r1", "r2"]
    assert order_now(stream=restructured.stream).cols.ids() == ["c0", "c1", "c2", "k"]
