"""Properties of the pure fold from events to cells (no database involved)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.fold import Cells, CellState, OutOfOrderEvent, apply, fold, non_empty


@dataclass(frozen=True)
class Record:
    """A plain event: what the fold reads plus fields it must ignore."""

    seq: int
    row: int
    col: int
    new_value: str
    old_value: str = ""
    broadcaster_id: int = 0


# A small grid makes repeated writes to one cell (the interesting case) common.
coords = st.tuples(st.integers(0, 4), st.integers(0, 3))
values = st.one_of(st.just(""), st.text(max_size=8), st.sampled_from(["1", "-2.5", "=SUM(A1:A3)", "é€😀"]))


@st.composite
def event_logs(draw: st.DrawFn, max_size: int = 40) -> list[Record]:
    """Draw a ledger: strictly increasing seqs (gaps allowed, as in a filtered read)."""
    writes = draw(st.lists(st.tuples(coords, values), max_size=max_size))
    gaps = draw(st.lists(st.integers(1, 3), min_size=len(writes), max_size=len(writes)))
    seq, log = 0, []
    for ((row, col), value), gap in zip(writes, gaps, strict=True):
        seq += gap
        log.append(Record(seq=seq, row=row, col=col, new_value=value))
    return log


def last_write_wins(events: list[Record]) -> Cells:
    """The obvious model: each cell holds its latest write and that write's seq."""
    model: Cells = {}
    for event in events:
        model[(event.row, event.col)] = CellState(value=event.new_value, last_seq=event.seq)
    return model


@given(event_logs())
def test_fold_equals_last_write_wins_per_cell(events):
    assert fold(events) == last_write_wins(events)


@given(event_logs(), st.data())
def test_folding_in_one_go_equals_folding_in_any_split(events, data):
    cut = data.draw(st.integers(0, len(events)), label="cut")
    first, second = events[:cut], events[cut:]
    assert fold(second, fold(first)) == fold(events)


@given(event_logs(), st.data())
def test_folding_in_many_pieces_equals_folding_in_one_go(events, data):
    cuts = sorted(data.draw(st.lists(st.integers(0, len(events)), max_size=5), label="cuts"))
    cells: Cells = {}
    for start, end in zip([0, *cuts], [*cuts, len(events)], strict=True):
        cells = fold(events[start:end], cells)
    assert cells == fold(events)


@given(event_logs(), st.data())
def test_replaying_seqs_after_k_onto_the_state_at_k_equals_the_full_fold(events, data):
    head = events[-1].seq if events else 0
    k = data.draw(st.integers(0, head), label="k")
    state_at_k = fold(e for e in events if e.seq <= k)
    assert fold((e for e in events if e.seq > k), state_at_k) == fold(events)


@given(event_logs())
def test_applying_one_event_at_a_time_equals_the_fold(events):
    cells: Cells = {}
    for event in events:
        cells = apply(cells, event)
    assert cells == fold(events)


@given(event_logs())
def test_the_fold_depends_only_on_the_events_not_on_the_objects(events):
    fresh = [Record(seq=e.seq, row=e.row, col=e.col, new_value=e.new_value) for e in events]
    # Fields the fold does not read (who, what it replaced) cannot change its result.
    disguised = [replace(e, old_value="ignored", broadcaster_id=99) for e in events]
    assert fold(fresh) == fold(events) == fold(disguised) == fold(iter(events))


@given(event_logs(), event_logs())
def test_fold_and_apply_leave_their_input_cells_untouched(before, after):
    start = fold(before)
    offset = before[-1].seq if before else 0
    later = [replace(e, seq=e.seq + offset) for e in after]
    snapshot = copy.deepcopy(start)
    fold(later, start)
    for event in later:
        apply(start, event)
    assert start == snapshot


@given(event_logs())
def test_non_empty_drops_exactly_the_cleared_cells(events):
    cells = fold(events)
    visible = non_empty(cells)
    assert visible == {coord: state for coord, state in last_write_wins(events).items() if state.value}
    assert all(state.value for state in visible.values())


@given(event_logs(max_size=20).filter(bool), st.data())
def test_an_event_not_after_a_cells_last_seq_is_out_of_order(events, data):
    cells = fold(events)
    (row, col), state = data.draw(st.sampled_from(sorted(cells.items())), label="cell")
    stale_seq = data.draw(st.integers(min_value=-5, max_value=state.last_seq), label="stale seq")
    stale = Record(seq=stale_seq, row=row, col=col, new_value=data.draw(values, label="value"))
    snapshot = copy.deepcopy(cells)
    with pytest.raises(OutOfOrderEvent):
        apply(cells, stale)
    with pytest.raises(OutOfOrderEvent):
        fold([stale], cells)
    assert cells == snapshot


@given(event_logs(max_size=20).filter(lambda log: len(log) >= 2), st.data())
def test_folding_a_ledger_out_of_seq_order_onto_one_cell_raises(events, data):
    same_cell = [replace(e, row=0, col=0) for e in events]
    i = data.draw(st.integers(0, len(same_cell) - 2), label="swap at")
    swapped = [*same_cell[:i], same_cell[i + 1], same_cell[i], *same_cell[i + 2 :]]
    with pytest.raises(OutOfOrderEvent):
        fold(swapped)
