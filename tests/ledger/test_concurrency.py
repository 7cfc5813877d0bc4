"""Several OS processes append at once: the ledger stays gapless, exactly-once, chained and folded.

The race of edits of several sheets (each cell by position); the race of
inserts, deletes and edits of one sheet is test_concurrency_structure.py's.

Each writer is a separate Python process (tests/ledger/concurrent_writer.py)
with its own database connection, so the locking is exercised across real
connections, not threads sharing one interpreter. The PostgreSQL run is the
one that matters in production; the SQLite run covers the embedded default.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from ledger.models import Event
from projections.fold import fold
from sheets.models import Sheet
from sheets.services import create_sheet
from tests.cells import stored_by_position
from tests.conftest import assert_hash_chain, unique
from tests.ledger.writers import BACKENDS, VALUES, WRITERS, Plan, make_editors, only_on, run_writers

EDITS_PER_WRITER = 40
RACED_RETRIES = 12
ROWS, COLS = 20, 8
# The one cell that every writer claims with base_seq=0: only the first may win.
CONTESTED = (ROWS - 1, COLS - 1)


def _plan(rng: random.Random, sheets: list[Sheet], private: list[Sheet], users: list[Any]) -> list[Plan]:
    """Deal each writer its edits: shared and private sheets, raced retries and one contested claim each."""

    def edit(sheet: Sheet, user: Any, changes: list[list[Any]] | None = None) -> dict[str, Any]:
        if changes is None:
            # Never the contested cell's row.
            changes = [
                [rng.randrange(ROWS - 1), rng.randrange(COLS), rng.choice(VALUES) + rng.choice(["", f"#{i}"]), None]
                for i in range(rng.randint(1, 4))
            ]
        return {"sheet_id": sheet.pk, "user_id": user.pk, "client_event_id": str(uuid.uuid4()), "changes": changes}

    plans = []
    for writer in range(WRITERS):
        plans.append(
            [edit(rng.choice([*sheets, private[writer]]), rng.choice(users)) for _ in range(EDITS_PER_WRITER)]
            + [edit(sheets[0], users[writer], [[*CONTESTED, f"claimed by writer {writer}", 0]])]
        )
    for _ in range(RACED_RETRIES):
        # The same edit (id, user, changes) sent by several processes at once,
        # as after a reconnect to another daphne process.
        raced = edit(rng.choice(sheets), rng.choice(users))
        for writer in rng.sample(range(WRITERS), rng.randint(2, WRITERS)):
            plans[writer].insert(rng.randrange(len(plans[writer]) + 1), raced)
    for plan in plans:
        rng.shuffle(plan)
    return plans


def _outcomes(workdir: Path) -> tuple[dict[str, list[dict[str, Any]]], list[tuple[float, float]]]:
    """Return each edit's answers (one per sender) and each writer's (first sent, last answered) times."""
    by_id: dict[str, list[dict[str, Any]]] = defaultdict(list)
    spans = []
    for index in range(WRITERS):
        output = (workdir / f"output-{index}.jsonl").read_text(encoding="utf-8")
        lines = [json.loads(line) for line in output.splitlines()]
        spans.append((lines[0]["sent"], lines[-1]["answered"]))
        for outcome in lines:
            del outcome["sent"], outcome["answered"]
            by_id[outcome["client_event_id"]].append(outcome)
    return by_id, spans


def _assert_each_old_value_is_the_previous_new_value(events: list[Event]) -> None:
    latest: dict[tuple[int, int], str] = {}
    for event in events:
        assert event.old_value == latest.get((event.row, event.col), ""), f"seq {event.seq} lost an update"
        latest[(event.row, event.col)] = event.new_value


@pytest.mark.parametrize("vendor", BACKENDS)
def test_writer_processes_keep_every_guarantee(committed_db, tmp_path, vendor):
    # SQLite has no row lock: its IMMEDIATE transactions (proj/settings.py)
    # serialise the writers on the whole database instead.
    only_on(vendor)
    _race_writers_and_check(tmp_path)


def _race_writers_and_check(tmp_path: Path) -> None:
    """Release the writers together, then check every sheet against every plan and every answer."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    shared = [create_sheet(name=unique("shared-"), rows=ROWS, cols=COLS) for _ in range(2)]
    private = [create_sheet(name=unique("private-"), rows=ROWS, cols=COLS) for _ in range(WRITERS)]
    users = make_editors("writer-", [*shared, *private])
    plans = _plan(rng, shared, private, users)
    planned = {edit["client_event_id"]: edit for plan in plans for edit in plan}

    run_writers(plans, tmp_path, seed=seed)

    outcomes, spans = _outcomes(tmp_path)
    # Every writer had sent its first edit before any writer was answered its
    # last: they contended. (Answers alone could look serial: SQLite's lock
    # is not fair, one writer may win it again and again.)
    assert max(first for first, _ in spans) < min(last for _, last in spans), f"the writers did not overlap: {spans}"
    assert set(outcomes) == set(planned)
    appended = _assert_answers(outcomes, planned, seed)
    for sheet in [*shared, *private]:
        sheet.refresh_from_db()
        _assert_sheet_holds_exactly_the_appended_edits(sheet, appended, outcomes, seed)


def _assert_answers(outcomes: dict[str, list[dict[str, Any]]], planned: dict[str, Any], seed: int) -> dict[str, Any]:
    """Check what each sender was told; return the planned edits that must be in the ledger."""
    contested = [cid for cid, edit in planned.items() if edit["changes"][0][:2] == list(CONTESTED)]
    winners = [cid for cid in contested if "seqs" in outcomes[cid][0]]
    assert len(contested) == WRITERS
    assert len(winners) == 1, f"seed {seed}: {len(winners)} writers won the contested cell"
    for cid, answers in outcomes.items():
        if cid in contested and cid not in winners:
            assert answers == [{"client_event_id": cid, "conflict": True}]
            continue
        # Every sender of one edit is told the same seqs; exactly one of them appended.
        assert len({tuple(answer["seqs"]) for answer in answers}) == 1, f"seed {seed}: {cid} got {answers}"
        assert sorted(answer["duplicate"] for answer in answers) == [False] + [True] * (len(answers) - 1)
    return {cid: edit for cid, edit in planned.items() if cid not in contested or cid in winners}


def _assert_sheet_holds_exactly_the_appended_edits(
    sheet: Sheet, appended: dict[str, Any], outcomes: dict[str, list[dict[str, Any]]], seed: int
) -> None:
    events = list(Event.objects.filter(stream__sheet=sheet).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, sheet.head + 1)), f"seed {seed}: {sheet.name} has gaps"
    by_id: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        by_id[str(event.client_event_id)].append(event)
    assert set(by_id) == {cid for cid, edit in appended.items() if edit["sheet_id"] == sheet.pk}
    for cid, group in by_id.items():
        edit = appended[cid]
        seqs = [event.seq for event in group]
        assert seqs == list(range(seqs[0], seqs[0] + len(edit["changes"]))), f"seed {seed}: {cid} is not consecutive"
        assert seqs == outcomes[cid][0]["seqs"]
        assert [[e.row, e.col, e.new_value] for e in group] == [change[:3] for change in edit["changes"]]
        assert {e.broadcaster_id for e in group} == {edit["user_id"]}
    assert_hash_chain(sheet, events)
    _assert_each_old_value_is_the_previous_new_value(events)
    stored = stored_by_position(sheet)
    assert stored == {coord: (state.value, state.last_seq) for coord, state in fold(events).items()}
