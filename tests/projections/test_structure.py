"""The fold of rows and columns with identity (projections.structure) against a plain grid model."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.fold import fold as fold_by_position
from projections.fold import non_empty
from projections.structure import Shaped, apply, fold


class Record:
    """A cell event as the fold of positions reads it (attributes), and as the structure fold reads it (a dict)."""

    def __init__(self, seq: int, row: int, col: int, value: str) -> None:
        self.seq, self.row, self.col, self.new_value = seq, row, col, value

    def as_dict(self) -> dict[str, object]:
        return {"type": "CellChanged", "seq": self.seq, "row": self.row, "col": self.col, "new_value": self.new_value}


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.data())
def test_a_ledger_from_before_ids_folds_to_the_same_cells_at_the_same_places(rows, cols, data):
    edits = data.draw(st.lists(st.tuples(st.integers(0, rows - 1), st.integers(0, cols - 1), st.sampled_from(["", "a", "b"]))))
    records = [Record(seq, row, col, value) for seq, (row, col, value) in enumerate(edits, start=1)]
    shaped = fold([record.as_dict() for record in records], Shaped.created(rows=rows, cols=cols))
    by_position = non_empty(fold_by_position(records))
    assert {coord: state for coord, (_, _, state) in shaped.visible_cells().items()} == by_position
    assert all((row_id, col_id) == (f"r{r}", f"c{c}") for (r, c), (row_id, col_id, _) in shaped.visible_cells().items())


class GridModel:
    """Rows and columns as lists of [id, deleted], cells by id: the obvious way."""

    def __init__(self, rows: int, cols: int) -> None:
        self.rows = [[f"r{i}", False] for i in range(rows)]
        self.cols = [[f"c{i}", False] for i in range(cols)]
        self.cells: dict[tuple[str, str], tuple[str, int]] = {}

    @staticmethod
    def live(axis: list[list[object]]) -> list[str]:
        return [str(id_) for id_, deleted in axis if not deleted]

    @staticmethod
    def insert(axis: list[list[object]], after: str | None, ids: list[str]) -> None:
        at = 0 if after is None else [id_ for id_, _ in axis].index(after) + 1
        axis[at:at] = [[id_, False] for id_ in ids]

    def delete(self, axis: list[list[object]], ids: list[str], which: int) -> None:
        for entry in axis:
            if entry[0] in ids:
                entry[1] = True
        self.cells = {coord: cell for coord, cell in self.cells.items() if coord[which] not in ids}

    def grid(self) -> dict[tuple[int, int], tuple[str, str, str, int]]:
        rows, cols = self.live(self.rows), self.live(self.cols)
        return {
            (rows.index(r), cols.index(c)): (r, c, value, seq)
            for (r, c), (value, seq) in self.cells.items()
            if value != "" and r in rows and c in cols
        }


@st.composite
def sheet_histories(draw):
    rows, cols = draw(st.integers(0, 5)), draw(st.integers(1, 5))
    model = GridModel(rows, cols)
    fresh = iter(range(10_000))
    events = []
    for seq in range(1, draw(st.integers(1, 30)) + 1):
        live_rows, live_cols = model.live(model.rows), model.live(model.cols)
        choices = ["insert_rows", "insert_cols"]
        if live_rows and live_cols:
            choices += ["edit", "edit", "edit"]
        if live_rows:
            choices.append("delete_rows")
        if len(live_cols) > 1:
            choices.append("delete_cols")
        kind = draw(st.sampled_from(choices))
        if kind == "edit":
            row_id, col_id = draw(st.sampled_from(live_rows)), draw(st.sampled_from(live_cols))
            value = draw(st.sampled_from(["", "x", "y"]))
            model.cells[(row_id, col_id)] = (value, seq)
            events.append({"type": "CellChanged", "seq": seq, "row_id": row_id, "col_id": col_id, "new_value": value})
        elif kind in ("insert_rows", "insert_cols"):
            axis, key, prefix = (model.rows, "row_ids", "n") if kind == "insert_rows" else (model.cols, "col_ids", "k")
            ever = [str(id_) for id_, _ in axis]
            after = draw(st.none() | st.sampled_from(ever)) if ever else None
            ids = [f"{prefix}{next(fresh)}" for _ in range(draw(st.integers(1, 3)))]
            model.insert(axis, after, ids)
            events.append({"type": "RowsInserted" if kind == "insert_rows" else "ColumnsInserted", "seq": seq,
                           "after": after, key: ids})
        else:
            rows_kind = kind == "delete_rows"
            live = live_rows if rows_kind else live_cols[1:]
            doomed = draw(st.lists(st.sampled_from(live), min_size=1, max_size=3, unique=True))
            model.delete(model.rows if rows_kind else model.cols, doomed, 0 if rows_kind else 1)
            events.append({"type": "RowsDeleted" if rows_kind else "ColumnsDeleted", "seq": seq,
                           "row_ids" if rows_kind else "col_ids": doomed})
    return rows, cols, events, model


@settings(max_examples=300, deadline=None)
@given(sheet_histories())
def test_the_fold_agrees_with_the_model_on_order_and_cells(history):
    rows, cols, events, model = history
    state = fold(events, Shaped.created(rows=rows, cols=cols))
    assert state.rows.ids() == model.live(model.rows)
    assert state.cols.ids() == model.live(model.cols)
    visible = {position: (r, c, cell.value, cell.last_seq) for position, (r, c, cell) in state.visible_cells().items()}
    assert visible == model.grid()
    # One event at a time lands on the same sheet as the whole fold.
    stepwise = Shaped.created(rows=rows, cols=cols)
    for event in events:
        stepwise = apply(stepwise, event)
    assert stepwise == state


def test_a_deleted_row_takes_its_cells_and_an_insert_after_it_goes_where_it_stood():
    state = fold(
        [
            {"type": "CellChanged", "seq": 1, "row": 1, "col": 0, "new_value": "old"},
            {"type": "RowsDeleted", "seq": 2, "row_ids": ["r1"]},
            {"type": "RowsInserted", "seq": 3, "after": "r1", "row_ids": ["fresh"]},
            {"type": "CellChanged", "seq": 4, "row_id": "fresh", "col_id": "c0", "new_value": "new"},
        ],
        Shaped.created(rows=3, cols=1),
    )
    assert state.rows.ids() == ["r0", "fresh", "r2"]
    assert {pos: cell.value for pos, (_, _, cell) in state.visible_cells().items()} == {(1, 0): "new"}
    assert ("r1", "c0") not in state.cells
