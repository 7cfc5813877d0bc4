"""The order of rows (projections.axis) against a plain list of (id, deleted) pairs, under random operations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.axis import Axis, NotInAxis


class ListModel:
    """Every row ever, in order, with whether it is deleted: the obvious, slow way."""

    def __init__(self, count: int) -> None:
        self.rows = [[f"r{i}", False] for i in range(count)]

    def live(self) -> list[str]:
        return [id_ for id_, deleted in self.rows if not deleted]

    def insert(self, after: str | None, ids: list[str]) -> int:
        at = 0 if after is None else [id_ for id_, _ in self.rows].index(after) + 1
        first = sum(1 for _, deleted in self.rows[:at] if not deleted)
        self.rows[at:at] = [[id_, False] for id_ in ids]
        return first

    def delete(self, ids: list[str]) -> list[int]:
        live = self.live()
        positions = sorted(live.index(id_) for id_ in ids)
        for row in self.rows:
            if row[0] in ids:
                row[1] = True
        return positions


@st.composite
def operations(draw):
    count = draw(st.integers(0, 12))
    steps = []
    fresh = iter(f"n{i}" for i in range(10_000))
    known = [f"r{i}" for i in range(count)]
    live = list(known)
    for _ in range(draw(st.integers(1, 25))):
        if live and draw(st.booleans()):
            doomed = draw(st.lists(st.sampled_from(live), min_size=1, max_size=4, unique=True))
            live = [id_ for id_ in live if id_ not in doomed]
            steps.append(("delete", doomed))
        else:
            after = draw(st.none() | st.sampled_from(known)) if known else None
            ids = [next(fresh) for _ in range(draw(st.integers(1, 3)))]
            known.extend(ids)
            live.extend(ids)
            steps.append(("insert", after, ids))
    return count, steps


@settings(max_examples=300, deadline=None)
@given(operations(), st.data())
def test_the_axis_agrees_with_a_plain_list_after_every_operation(plan, data):
    count, steps = plan
    axis, model = Axis.created("r", count), ListModel(count)
    for step in steps:
        if step[0] == "insert":
            _, after, ids = step
            axis, first = axis.insert(after=after, ids=ids)
            assert first == model.insert(after, ids)
        else:
            axis, positions = axis.delete(step[1])
            assert positions == model.delete(step[1])
        live = model.live()
        assert axis.ids() == live and len(axis) == len(live)
        assert axis.positions(live) == {id_: index for index, id_ in enumerate(live)}
        for id_, deleted in model.rows:
            assert axis.has_ever(id_) and axis.is_live(id_) == (not deleted)
        first = data.draw(st.integers(0, len(live) + 1), label="window from")
        size = data.draw(st.integers(0, 5), label="window size")
        assert axis.window(first, size) == live[first : first + size]
        assert axis.id_at(first) == (live[first] if first < len(live) else None)
    # The runs grow with the operations (a deleted id or an insert splits at
    # most one run in three), never with the number of rows.
    splits = sum(len(step[1]) if step[0] == "delete" else 1 for step in steps)
    assert len(axis.runs) <= 2 * splits + 1


def test_a_new_axis_stores_no_id_and_finds_any_of_its_million():
    axis = Axis.created("r", 1_000_000)
    assert len(axis.runs) == 1 and len(axis) == 1_000_000
    assert axis.positions(["r999999", "r0"]) == {"r999999": 999_999, "r0": 0}
    assert axis.window(999_998, 5) == ["r999998", "r999999"]


def test_ten_thousand_rows_inserted_then_deleted_cost_two_runs():
    axis = Axis.created("r", 1_000_000)
    ids = [f"x{i}" for i in range(10_000)]
    axis, first = axis.insert(after="r499999", ids=ids)
    assert first == 500_000 and len(axis.runs) == 3
    assert axis.id_at(500_000) == "x0" and axis.id_at(510_000) == "r500000"
    axis, positions = axis.delete(ids)
    assert positions == list(range(500_000, 510_000))
    assert len(axis) == 1_000_000 and axis.id_at(500_000) == "r500000"
    assert axis.has_ever("x5") and not axis.is_live("x5")


def test_rows_inserted_after_a_deleted_row_go_where_it_stood():
    axis, _ = Axis.created("r", 3).delete(["r1"])
    axis, first = axis.insert(after="r1", ids=["n"])
    assert first == 1 and axis.ids() == ["r0", "n", "r2"]


def test_ids_that_are_not_live_are_named():
    axis, _ = Axis.created("r", 3).delete(["r1"])
    with pytest.raises(NotInAxis) as raised:
        axis.positions(["r0", "r1", "r7", "c0", "nope"])
    assert raised.value.args[0] == ["c0", "nope", "r1", "r7"]
    assert not axis.has_ever("r01") and not axis.has_ever("r3")
