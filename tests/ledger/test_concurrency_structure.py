"""Several OS processes insert, delete and edit one sheet at once: the ledger stays gapless, chained and folded.

Inserts, deletes and edits (by id and by position) of one sheet, where
several processes race to delete the same rows and edit rows others delete.
Each writer is a separate Python process (tests/ledger/writers.py); the
race of edits alone is test_concurrency.py's.
"""

from __future__ import annotations

import io
import json
import random
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from ledger.hashing import CELL_CHANGED, COLUMNS_DELETED, COLUMNS_INSERTED, ROWS_DELETED, ROWS_INSERTED
from ledger.models import Event
from ledger.serialization import event_to_dict
from projections.selectors import read_now
from sheets.models import Sheet
from sheets.services import create_sheet
from tests.conftest import assert_hash_chain, unique
from tests.ledger.writers import BACKENDS, VALUES, WRITERS, Plan, make_editors, only_on, run_writers

S_ROWS, S_COLS = 24, 6
# Rows that several writers race to delete (each with its own operation): one may win.
CONTESTED_ROWS = [f"r{i}" for i in range(2, 10)]
# Rows nobody deletes: edits of them always land.
STABLE_ROWS = [f"r{i}" for i in range(12, S_ROWS)]
CONTESTED_COL = f"c{S_COLS - 1}"
STEPS_PER_WRITER = 45
# Positional edits stay above this row and left of this column: the sheet never shrinks that far
# (only CONTESTED_ROWS and a writer's own rows are deleted), so each lands in range.
POSITIONAL_ROWS, POSITIONAL_COLS = 10, 4


def _structure_plan(rng: random.Random, sheet: Sheet, users: list[Any]) -> list[Plan]:
    """Deal each writer a sequence of inserts, deletes and edits (by id and by position) of one sheet.

    Each writer inserts rows of its own (ids no other writer uses), edits and
    deletes some of them later, edits the stable and the contested rows by
    id, and races the others to delete the contested rows and column.
    """

    def op(user: Any, **fields: Any) -> dict[str, Any]:
        return {"sheet_id": sheet.pk, "user_id": user.pk, "client_event_id": str(uuid.uuid4()), **fields}

    initial_rows = [f"r{i}" for i in range(S_ROWS)]
    initial_cols = [f"c{i}" for i in range(S_COLS)]
    plans: list[Plan] = []
    for writer in range(WRITERS):
        user = users[writer]
        inserted: list[str] = []  # this writer's rows, ever
        live: list[str] = []  # this writer's rows not deleted yet
        own_col = f"w{writer}-col"
        plan: Plan = [op(user, structure=COLUMNS_INSERTED, ids=[own_col],
                         after=rng.choice([None, *initial_cols]))]
        cols = [*initial_cols[:-1], CONTESTED_COL, own_col]
        for step in range(STEPS_PER_WRITER):
            kind = rng.choices(["insert", "delete", "by_id", "by_position"], weights=[3, 1, 5, 2])[0]
            if kind == "insert" or (kind == "delete" and not live):
                ids = [f"w{writer}-{len(inserted) + k}" for k in range(rng.randint(1, 3))]
                after = rng.choice([None, *initial_rows, *inserted])
                plan.append(op(user, structure=ROWS_INSERTED, ids=ids, after=after))
                inserted += ids
                live += ids
            elif kind == "delete":
                doomed = rng.sample(live, rng.randint(1, min(2, len(live))))
                plan.append(op(user, structure=ROWS_DELETED, ids=doomed))
                live = [row for row in live if row not in doomed]
            elif kind == "by_id":
                # Stable rows, contested ones (deleted by someone at some point), this writer's
                # rows, live or already deleted (those are refused for certain).
                candidates = [*STABLE_ROWS, *CONTESTED_ROWS, *inserted]
                changes = [
                    {"row_id": rng.choice(candidates), "col_id": rng.choice(cols),
                     "value": f"{rng.choice(VALUES)}#w{writer}.{step}.{k}"}
                    for k in range(rng.randint(1, 3))
                ]
                plan.append(op(user, changes=changes))
            else:
                changes = [[rng.randrange(POSITIONAL_ROWS), rng.randrange(POSITIONAL_COLS),
                            f"at#w{writer}.{step}.{k}", None] for k in range(rng.randint(1, 2))]
                plan.append(op(user, changes=changes))
        plans.append(plan)
    # The races to delete: each contested row by two or more writers, the contested column by all.
    for row in CONTESTED_ROWS:
        for writer in rng.sample(range(WRITERS), rng.randint(2, WRITERS)):
            plans[writer].insert(rng.randrange(1, len(plans[writer]) + 1),
                                 op(users[writer], structure=ROWS_DELETED, ids=[row]))
    for writer in range(WRITERS):
        plans[writer].insert(rng.randrange(1, len(plans[writer]) + 1),
                             op(users[writer], structure=COLUMNS_DELETED, ids=[CONTESTED_COL]))
    # One insert sent by several processes at once with one client_event_id, as after a reconnect.
    raced = op(users[0], structure=ROWS_INSERTED, ids=["raced-0", "raced-1"], after=rng.choice(initial_rows))
    for writer in rng.sample(range(WRITERS), 3):
        plans[writer].insert(rng.randrange(len(plans[writer]) + 1), raced)
    # Some runs of consecutive operations go as one transaction (sheets.writes.edits.append_edits), as the
    # group commit sends them: each is judged against the sheet as the ones before it in the batch left it.
    batched: list[Plan] = []
    for plan in plans:
        grouped: Plan = []
        index = 0
        while index < len(plan):
            size = rng.choice([1, 1, 1, 2, 3])
            group, index = plan[index:index + size], index + size
            grouped.append(group[0] if len(group) == 1 else {"batch": group})
        batched.append(grouped)
    return batched


def _operations(plan: Plan) -> list[dict[str, Any]]:
    """A plan's operations, those of its batches included, in order."""
    return [one for operation in plan for one in operation.get("batch", [operation])]


def _timed_outcomes(workdir: Path) -> dict[str, list[dict[str, Any]]]:
    """Each operation's answers, one per sender, with the times it was sent and answered."""
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for index in range(WRITERS):
        for line in (workdir / f"output-{index}.jsonl").read_text(encoding="utf-8").splitlines():
            outcome = json.loads(line)
            by_id[outcome["client_event_id"]].append(outcome)
    return by_id


class _Line:
    """The test's own fold of one axis: a plain list of ids with tombstones, nothing shared with projections."""

    def __init__(self, prefix: str, count: int) -> None:
        self.entries = [f"{prefix}{i}" for i in range(count)]
        self.deleted: set[str] = set()

    def live(self) -> list[str]:
        return [id_ for id_ in self.entries if id_ not in self.deleted]

    def position(self, id_: str) -> int:
        assert id_ not in self.deleted, f"{id_} is deleted"
        return self.live().index(id_)

    def insert(self, ids: list[str], after: str | None) -> int:
        assert not set(ids) & set(self.entries), f"{ids} reuse ids"
        index = 0 if after is None else self.entries.index(after) + 1
        self.entries[index:index] = ids
        return sum(1 for id_ in self.entries[:index] if id_ not in self.deleted)

    def delete(self, ids: list[str]) -> list[int]:
        positions = sorted(self.position(id_) for id_ in ids)
        self.deleted.update(ids)
        return positions


def _fold_and_check(events: list[dict[str, Any]], seed: int) -> tuple[_Line, _Line, dict[tuple[str, str], dict[str, Any]]]:
    """Fold the ledger's events with the test's own lists; check each event's positions and old value on the way.

    Returns the rows, the columns and the last CellChanged of every cell by (row_id, col_id).
    """
    rows, cols = _Line("r", S_ROWS), _Line("c", S_COLS)
    last: dict[tuple[str, str], dict[str, Any]] = {}
    values: dict[tuple[str, str], str] = {}
    for event in events:
        where = f"seed {seed}: seq {event['seq']} {event['type']}"
        if event["type"] == CELL_CHANGED:
            # An accepted edit names a live row and column, at the positions they have at its commit.
            assert event["row_id"] not in rows.deleted, f"{where} edits the deleted row {event['row_id']}"
            assert event["col_id"] not in cols.deleted, f"{where} edits the deleted column {event['col_id']}"
            assert (rows.position(event["row_id"]), cols.position(event["col_id"])) == (event["row"], event["col"]), where
            coord = (event["row_id"], event["col_id"])
            assert event["old_value"] == values.get(coord, ""), f"{where} lost an update"
            values[coord] = event["new_value"]
            last[coord] = event
        elif event["type"] == ROWS_INSERTED:
            assert rows.insert(event["row_ids"], event["after"]) == event["row"], where
        elif event["type"] == COLUMNS_INSERTED:
            assert cols.insert(event["col_ids"], event["after"]) == event["col"], where
        elif event["type"] == ROWS_DELETED:
            assert rows.delete(event["row_ids"]) == event["rows"], where
        else:
            assert event["type"] == COLUMNS_DELETED, where
            assert cols.delete(event["col_ids"]) == event["cols"], where
    return rows, cols, last


@pytest.mark.parametrize("vendor", BACKENDS)
def test_writer_processes_inserting_deleting_and_editing_one_sheet(committed_db, tmp_path, vendor):
    only_on(vendor)
    _race_structure_and_check(tmp_path)


def _race_structure_and_check(tmp_path: Path) -> None:
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    sheet = create_sheet(name=unique("restructured-"), rows=S_ROWS, cols=S_COLS)
    users = make_editors("restructurer-", [sheet])
    plans = _structure_plan(rng, sheet, users)
    planned = {operation["client_event_id"]: operation for plan in plans for operation in _operations(plan)}
    senders = {cid: sum(1 for plan in plans for operation in _operations(plan) if operation["client_event_id"] == cid)
               for cid in planned}
    assert any("batch" in operation for plan in plans for operation in plan)

    run_writers(plans, tmp_path, seed=seed)

    outcomes = _timed_outcomes(tmp_path)
    spans = [(min(a["sent"] for a in answers), max(a["answered"] for a in answers)) for answers in
             ([json.loads(line) for line in (tmp_path / f"output-{i}.jsonl").read_text().splitlines()]
              for i in range(WRITERS))]
    assert max(first for first, _ in spans) < min(last for _, last in spans), f"the writers did not overlap: {spans}"
    assert {cid: len(answers) for cid, answers in outcomes.items()} == senders, f"seed {seed}: lost answers"

    sheet.refresh_from_db()
    stored = list(Event.objects.filter(stream__sheet=sheet).select_related("broadcaster").order_by("seq"))
    events = [event_to_dict(event, sheet_name=sheet.name) for event in stored]
    head = sheet.stream.head
    assert [event["seq"] for event in events] == list(range(1, head + 1)), f"seed {seed}: the seqs have gaps"
    by_cid: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        by_cid[event["client_event_id"]].append(event)

    accepted = _assert_structure_answers(planned, outcomes, by_cid, seed)
    assert set(by_cid) == accepted, f"seed {seed}: the ledger holds other operations than those acknowledged"

    rows, cols, last = _fold_and_check(events, seed)
    _assert_refusals_are_explained(planned, outcomes, by_cid, seed)

    # The projection: the order is the fold's, and every cell holds what the ledger's last event for it says.
    read = read_now(stream=sheet.stream)
    assert read.head == head
    assert read.row_ids == rows.live(), f"seed {seed}: the row order differs from the ledger's"
    assert read.layout.cols.ids() == cols.live(), f"seed {seed}: the column order differs from the ledger's"
    assert read.layout.rows.tombstones() == [id_ for id_ in rows.entries if id_ in rows.deleted]
    row_at = {id_: i for i, id_ in enumerate(rows.live())}
    col_at = {id_: i for i, id_ in enumerate(cols.live())}
    expected_cells = sorted(
        ({"row_id": r, "col_id": c, "row": row_at[r], "col": col_at[c], "value": e["new_value"], "last_seq": e["seq"]}
         for (r, c), e in last.items() if r in row_at and c in col_at and e["new_value"] != ""),
        key=lambda cell: (cell["row"], cell["col"]),
    )
    assert read.cells == expected_cells, f"seed {seed}: the cells differ from the ledger's last events"
    # Every accepted edit by id: its cell is live and holds its last event's value, or it was deleted since.
    for cid in accepted:
        for change in planned[cid].get("changes", []):
            if isinstance(change, dict):
                coord = (change["row_id"], change["col_id"])
                assert coord in last, f"seed {seed}: accepted edit {cid} left no event on {coord}"
                if coord[0] in row_at and coord[1] in col_at:
                    assert read_value(read.cells, coord) == last[coord]["new_value"]
    assert_hash_chain(sheet, stored)
    out = io.StringIO()
    call_command("verify_ledger", sheet.name, stdout=out)
    assert f"{sheet.name}: ok, {head:,} events" in out.getvalue()
    call_command("rebuild_projections", sheet.name, "--check", stdout=io.StringIO())
    # The races were real: every contested row and the contested column were deleted exactly once.
    assert set(CONTESTED_ROWS) <= rows.deleted and CONTESTED_COL in cols.deleted


def read_value(cells: list[dict[str, Any]], coord: tuple[str, str]) -> str:
    return next((cell["value"] for cell in cells if (cell["row_id"], cell["col_id"]) == coord), "")


def _assert_structure_answers(planned: dict[str, Any], outcomes: dict[str, list[dict[str, Any]]],
                              by_cid: dict[str, list[dict[str, Any]]], seed: int) -> set[str]:
    """Check each answer against the ledger and the plan; return the client_event_ids that appended."""
    accepted = set()
    for cid, answers in outcomes.items():
        operation = planned[cid]
        if "seqs" not in answers[0]:
            assert len(answers) == 1 and cid not in by_cid, f"seed {seed}: refused {cid} left events or answers"
            continue
        # Every sender of one operation is told the same seqs; exactly one of them appended.
        assert len({tuple(answer["seqs"]) for answer in answers}) == 1, f"seed {seed}: {cid} got {answers}"
        assert sorted(answer["duplicate"] for answer in answers) == [False] + [True] * (len(answers) - 1)
        accepted.add(cid)
        group = by_cid[cid]
        assert [event["seq"] for event in group] == answers[0]["seqs"], f"seed {seed}: {cid} is not its ack"
        seqs = answers[0]["seqs"]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"seed {seed}: {cid} is not consecutive"
        assert {event["broadcaster_id"] for event in group} == {operation["user_id"]}
        if "structure" in operation:
            (event,) = group
            ids_field = "row_ids" if operation["structure"] in (ROWS_INSERTED, ROWS_DELETED) else "col_ids"
            assert event["type"] == operation["structure"]
            if operation["structure"] in (ROWS_INSERTED, COLUMNS_INSERTED):
                assert (event[ids_field], event["after"]) == (operation["ids"], operation["after"])
            else:
                assert sorted(event[ids_field]) == sorted(operation["ids"])
        else:
            assert [event["type"] for event in group] == [CELL_CHANGED] * len(operation["changes"])
            for event, change in zip(group, operation["changes"], strict=True):
                if isinstance(change, dict):  # by id: it lands on the row it named, wherever that row is now
                    assert (event["row_id"], event["col_id"], event["new_value"]) == (
                        change["row_id"], change["col_id"], change["value"]), f"seed {seed}: {cid} landed elsewhere"
                else:  # by position: at that position at commit
                    assert [event["row"], event["col"], event["new_value"]] == change[:3], f"seed {seed}: {cid}"
    return accepted


def _assert_refusals_are_explained(planned: dict[str, Any], outcomes: dict[str, list[dict[str, Any]]],
                                   by_cid: dict[str, list[dict[str, Any]]], seed: int) -> None:
    """Every refusal is no_such_row / no_such_col naming ids really deleted, and the races went one way each.

    Inserts, a writer's deletes of its own rows and positional edits are never
    refused. Of the deletes of one contested row (or of the contested column)
    exactly one appended; the others were told no_such_row (no_such_col)
    naming it. The writers' wall-clock times order what is causally ordered:
    an edit by id sent after the delete of a row it names was acknowledged is
    refused, naming that row; one acknowledged before every delete of what
    it names was sent is accepted; a refused one was not answered before the
    delete of what it was refused for had been sent.
    """
    deleted_by: dict[str, tuple[float, float]] = {}  # id -> (sent, answered) of the delete that appended it
    for cid, operation in planned.items():
        if operation.get("structure") in (ROWS_DELETED, COLUMNS_DELETED) and cid in by_cid:
            (answer,) = outcomes[cid]
            for id_ in operation["ids"]:
                assert id_ not in deleted_by, f"seed {seed}: {id_} deleted twice"
                deleted_by[id_] = (answer["sent"], answer["answered"])
    contested = {*CONTESTED_ROWS, CONTESTED_COL}
    races: dict[str, list[str]] = defaultdict(list)
    for cid, operation in planned.items():
        answers = outcomes[cid]
        answer = answers[0]
        kind = operation.get("structure")
        if kind in (ROWS_INSERTED, COLUMNS_INSERTED):
            assert "seqs" in answer, f"seed {seed}: the insert {cid} was refused: {answer}"
            continue
        if kind is not None:
            if operation["ids"][0] in contested:
                races[operation["ids"][0]].append(cid)
            else:
                assert "seqs" in answer, f"seed {seed}: a writer's delete of its own rows was refused: {answer}"
            continue
        by_id = [change for change in operation["changes"] if isinstance(change, dict)]
        if not by_id:
            assert "seqs" in answer, f"seed {seed}: the positional edit {cid} was refused: {answer}"
            continue
        rows = {change["row_id"] for change in by_id}
        cols = {change["col_id"] for change in by_id}
        gone_rows = {id_ for id_ in rows if id_ in deleted_by and deleted_by[id_][1] < answer["sent"]}
        gone_cols = {id_ for id_ in cols if id_ in deleted_by and deleted_by[id_][1] < answer["sent"]}
        untouched = all(id_ not in deleted_by or answer["answered"] < deleted_by[id_][0] for id_ in rows | cols)
        if "seqs" in answer:
            assert not gone_rows | gone_cols, (
                f"seed {seed}: {cid} was accepted though sent after {gone_rows | gone_cols} were deleted"
            )
            continue
        assert not untouched, f"seed {seed}: {cid} was refused though nothing it names was being deleted: {answer}"
        # Rows are judged before columns: a missing row is what the edit is refused for.
        if answer["error"] == "no_such_row":
            missing = set(answer["row_ids"])
            assert gone_rows <= missing <= rows, f"seed {seed}: {cid} named {rows}, refused for {missing}"
        else:
            assert answer["error"] == "no_such_col", f"seed {seed}: {cid} refused with {answer}"
            missing = set(answer["col_ids"])
            assert not gone_rows and gone_cols <= missing <= cols, f"seed {seed}: {cid} refused with {answer}"
        assert answer["row_ids" if answer["error"] == "no_such_row" else "col_ids"] == sorted(missing)
        for id_ in missing:
            assert id_ in deleted_by and deleted_by[id_][0] < answer["answered"], (
                f"seed {seed}: {cid} was refused for {id_}, which was not deleted before it was answered"
            )
    assert set(races) == contested, f"seed {seed}: not every contested id was raced for"
    for id_, cids in races.items():
        winners = [cid for cid in cids if "seqs" in outcomes[cid][0]]
        assert len(winners) == 1, f"seed {seed}: {len(winners)} of {len(cids)} deletes of {id_} appended"
        code, field = ("no_such_row", "row_ids") if id_ in CONTESTED_ROWS else ("no_such_col", "col_ids")
        for cid in set(cids) - set(winners):
            (answer,) = outcomes[cid]
            assert (answer["error"], answer[field]) == (code, [id_]), f"seed {seed}: {cid} got {answer}"
            assert deleted_by[id_][0] < answer["answered"], f"seed {seed}: {cid} lost a race it was alone in"
