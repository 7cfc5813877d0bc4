"""The real ledger services against a plain in-memory model, step by step (a differential test).

Every example gets a fresh, uniquely named sheet and fresh users inside a
savepoint that teardown rolls back: the event triggers forbid the DELETE a
flush would need, and a rollback is not a DELETE.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections import Counter
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.models import Event, Stream
from ledger.selectors import events_after, stream_head
from projections.axis import Axis
from projections.models import Cell
from projections.rebuild import check_sheet, rebuild_sheet
from projections.selectors import cells_at, current_state, order_now, sheet_at
from sheets.exceptions import EditRejected
from sheets.models import MAX_STRUCTURE_IDS, Sheet
from sheets.services import create_sheet, grant
from sheets.writes.edits import (
    AppendResult,
    Change,
    EditRequest,
    Request,
    append_edit,
    append_edits,
    append_one,
)
from sheets.writes.structure import StructureRequest
from tests.conftest import assert_hash_chain, unique
from tests.property.conftest import active_profile
from tests.property.ledger_model import Expected, LedgerModel, ModelChange, ModelEvent, ModelStructure

ROWS, COLS = 5, 4
# Lowered sheet limits, so that inserts reach them.
MAX_ROWS, MAX_COLS = 9, 7
# Lowered limits, so that edits at and over them are cheap to generate.
MAX_LENGTH, MAX_CHANGES = 40, 5
# Snapshots every few events, so that time travel starts from them.
SNAPSHOT_EVERY = 4
OUTSIDE = [(-1, 0), (0, -1), (MAX_ROWS, 0), (0, MAX_COLS), (2**31 - 1, 2**31 - 1)]
GRANTABLE = ["editor_a", "editor_b", "viewer"]
USERS = ["owner", *GRANTABLE, "outsider"]
# Outcomes and examples seen by the current test run, reported at its end.
tally: Counter[str] = Counter()

values = st.one_of(
    st.just(""),
    st.text(max_size=12),
    # Formulas and numbers stay text; the last two no backend may store
    # (PostgreSQL text refuses NUL, UTF-8 a lone surrogate): refused alike.
    st.sampled_from(
        ["=SUM(A1:A3)", "=A1/0", "'007", "-0", "1e309", "NaN", " 12 ", "٣", "a\nb", "\u202e", "a\x00b", "\ud800"]
    ),
    st.integers().map(str),
    st.floats().map(repr),
    # At, just under and just over the limit (a fifth of these are refused).
    st.tuples(st.sampled_from(["x", "é", "😀", "字"]), st.integers(MAX_LENGTH - 3, MAX_LENGTH + 1)).map(
        lambda pair: pair[0] * pair[1]
    ),
)
# How a change picks its base_seq once the current state is known.
base_kinds = st.one_of(
    st.none(),
    st.just(("fresh", 0)),
    st.tuples(st.just("stale"), st.integers(1, 3)),
    st.tuples(st.just("any"), st.integers(0, 60)),
)
# A change names its cell by position or by id; which row and column is
# settled against the sheet as it is then (see LedgerMachine._resolve).
change_specs = st.tuples(st.booleans(), st.integers(0, 60), st.integers(0, 60), values, base_kinds)
edits = st.lists(change_specs, min_size=1, max_size=MAX_CHANGES)
# Most edits are well formed; a few carry one flaw that must refuse them whole.
flaws = st.sampled_from([None] * 6 + ["no changes", "too many changes", "cell outside"])
# Inserts and deletes of rows and columns, mostly well formed.
structure_kinds = st.sampled_from(["RowsInserted", "RowsDeleted", "ColumnsInserted", "ColumnsDeleted"])
structure_specs = st.tuples(
    structure_kinds,
    st.integers(1, 3),  # how many ids
    st.integers(0, 60),  # which "after", or which ids to delete
    st.sampled_from([None] * 6 + ["taken", "twice", "ghost", "deleted"]),
)
# Mostly users who may edit (roles change during a run), sometimes anyone.
senders = st.one_of(st.sampled_from(["owner", "editor_a", "editor_b"]), st.sampled_from(USERS))


def event_row(event: Event | ModelEvent) -> tuple[Any, ...]:
    if isinstance(event, Event):
        ids = tuple(json.loads(event.ids)) if event.ids else ()
        positions = tuple(json.loads(event.positions)) if event.positions else ()
    else:
        ids, positions = event.ids, event.positions
    return (
        event.seq, event.type, event.row, event.col, event.row_id, event.col_id, event.old_value, event.new_value,
        event.broadcaster_id, event.client_event_id, ids, event.after, positions,
    )


def spelled(axis: Axis) -> list[list[object]]:
    """An axis as the model keeps it: [id, deleted] in order, tombstones included."""
    return [[id_, run.deleted] for run in axis.runs for id_ in run.all_ids(axis.prefix)]


_fresh = itertools.count()


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        tally["examples"] += 1
        # Who sent which client_event_id with which operation, refused ones included.
        self.attempts: list[tuple[str, uuid.UUID, list[ModelChange] | ModelStructure]] = []
        self.rebuilt_at = 0

    @initialize()
    def create_sheet_and_users(self) -> None:
        User = get_user_model()
        self.users = {key: User.objects.create(username=unique(f"prop-{key}-")) for key in USERS}
        self.sheet = create_sheet(
            name=unique("prop-sheet-"), rows=ROWS, cols=COLS, owner_username=self.users["owner"].username
        )
        roles = {"owner": "owner", "editor_a": "editor", "editor_b": "editor", "viewer": "viewer", "outsider": None}
        for key, role in roles.items():
            if role in ("editor", "viewer"):
                grant(sheet=self.sheet, username=self.users[key].username, role=role)
        self.model = LedgerModel(
            created_rows=ROWS, created_cols=COLS, max_rows=MAX_ROWS, max_cols=MAX_COLS,
            roles={self.users[k].pk: r for k, r in roles.items()},
        )

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    # --- writes -----------------------------------------------------------

    def _resolve(self, specs: list[tuple[bool, int, int, str, Any]]) -> list[ModelChange]:
        """Turn change specs into changes against the sheet as it is: mostly live cells, some deleted or unknown ones."""
        rows, cols = self.model.live(True), self.model.live(False)
        ever_rows, ever_cols = self.model.ever(True), self.model.ever(False)
        changes = []
        for by_id, a, b, value, base in specs:
            if by_id:
                # Live ones twice as likely as tombstones; "nope" never existed.
                row_pool, col_pool = [*rows, *ever_rows, "nope"], [*cols, *ever_cols, "nope"]
                row_id, col_id = row_pool[a % len(row_pool)], col_pool[b % len(col_pool)]
                change = ModelChange(row=None, col=None, value=value, base_seq=None, row_id=row_id, col_id=col_id)
                coord = (row_id, col_id)
            else:
                # One in ten just past the last row or column: out of range.
                row = a % len(rows) if rows and a < 54 else len(rows)
                col = b % len(cols) if cols and b < 54 else len(cols)
                change = ModelChange(row=row, col=col, value=value, base_seq=None)
                coord = (rows[row] if row < len(rows) else "", cols[col] if col < len(cols) else "")
            last_seq = self.model.cells.get(coord, ("", 0))[1]
            if base is None:
                base_seq = None
            elif base[0] == "fresh":
                base_seq = last_seq
            elif base[0] == "stale":
                base_seq = max(0, last_seq - base[1])
            else:
                base_seq = min(base[1], self.model.head + 1)
            changes.append(ModelChange(change.row, change.col, value, base_seq, change.row_id, change.col_id))
        return changes

    def _structure(self, spec: tuple[str, int, int, str | None]) -> ModelStructure:
        """Turn a structure spec into an insert or delete against the sheet as it is, with its flaw if any."""
        kind, count, pick, flaw = spec
        on_rows = kind in ("RowsInserted", "RowsDeleted")
        live, ever = self.model.live(on_rows), self.model.ever(on_rows)
        if kind.endswith("Inserted"):
            # Some fresh ids look like a new sheet's own ("r105"): never used here, so free.
            prefix = ("r" if on_rows else "c") if pick % 3 == 0 else ("n" if on_rows else "k")
            ids = [f"{prefix}{100 + next(_fresh)}" for _ in range(count)]
            if flaw == "taken" and ever:
                ids[-1] = ever[pick % len(ever)]
            elif flaw == "twice":
                ids.append(ids[0])
            # After a live row, a tombstone, the very top, or (a flaw) one that never was.
            choices: list[str | None] = [None, *ever]
            after = "ghost" if flaw == "ghost" else choices[pick % len(choices)]
            return ModelStructure(type=kind, ids=tuple(ids), after=after)
        doomed = [live[(pick + i) % len(live)] for i in range(min(count, len(live)))] if live else []
        doomed = list(dict.fromkeys(doomed))
        tombstones = [id_ for id_ in ever if id_ not in live]
        if flaw == "twice" and doomed:
            doomed.append(doomed[0])
        elif flaw == "ghost" or not doomed:
            doomed.append("ghost")
        elif flaw == "deleted" and tombstones:
            doomed.append(tombstones[pick % len(tombstones)])
        return ModelStructure(type=kind, ids=tuple(doomed))

    def _expect(self, who: str, client_event_id: uuid.UUID, op: list[ModelChange] | ModelStructure) -> Expected:
        """Predict an operation's outcome from the model, and commit it to the model if it appends."""
        if isinstance(op, ModelStructure):
            expected = self.model.expect_structure(
                user_id=self.users[who].pk, client_event_id=client_event_id, op=op, max_ids=MAX_STRUCTURE_IDS
            )
            tally[op.type] += 1
        else:
            expected = self.model.expect_edit(
                user_id=self.users[who].pk,
                client_event_id=client_event_id,
                changes=op,
                max_changes=MAX_CHANGES,
                max_length=MAX_LENGTH,
            )
            tally["edits"] += 1
            tally["by id" if any(c.row_id for c in op) else "by position"] += 1
        self.attempts.append((who, client_event_id, op))
        tally[expected.error.__name__ if expected.error else "duplicate" if expected.duplicate else "appended"] += 1
        self.model.commit(expected.events)
        return expected

    def _check(self, expected: Expected, outcome: AppendResult | EditRejected) -> None:
        """Hold the real service's outcome of one edit against the model's prediction."""
        if isinstance(outcome, EditRejected):
            assert type(outcome) is expected.error, f"refused with {type(outcome).__name__}, model expected {expected}"
            if expected.details is not None:
                assert {key: outcome.details[key] for key in expected.details} == expected.details
            return
        assert expected.error is None, f"accepted as seqs {outcome.seqs}, model expected {expected.error.__name__}"
        assert (outcome.seqs, outcome.duplicate) == (expected.seqs, expected.duplicate)
        assert [event_row(e) for e in outcome.events] == [
            event_row(e) for e in (expected.events or self.model.events[expected.seqs[0] - 1 : expected.seqs[-1]])
        ]

    def _request(self, who: str, client_event_id: uuid.UUID, op: list[ModelChange] | ModelStructure) -> Request:
        user = self.users[who]
        if isinstance(op, ModelStructure):
            return StructureRequest(user=user, client_event_id=client_event_id, type=op.type, ids=op.ids, after=op.after)
        changes = [
            Change(row=c.row, col=c.col, value=c.value, base_seq=c.base_seq, row_id=c.row_id, col_id=c.col_id) for c in op
        ]
        return EditRequest(user=user, client_event_id=client_event_id, changes=changes)

    def _send(self, who: str, client_event_id: uuid.UUID, op: list[ModelChange] | ModelStructure) -> None:
        """Send one operation through the real service and hold its outcome against the model's."""
        expected = self._expect(who, client_event_id, op)
        outcome: AppendResult | EditRejected
        try:
            request = self._request(who, client_event_id, op)
            if isinstance(request, EditRequest):
                outcome = append_edit(
                    sheet_id=self.sheet.pk, user=request.user, client_event_id=client_event_id, changes=request.changes
                )
            else:
                outcome = append_one(sheet_id=self.sheet.pk, request=request)
        except EditRejected as exc:
            outcome = exc
        self._check(expected, outcome)

    @rule(batch=st.lists(st.tuples(senders, st.one_of(edits, structure_specs), st.booleans()), min_size=2, max_size=4))
    def group_commit(self, batch: list[tuple[str, Any, bool]]) -> None:
        # Several operations in one transaction, as the websocket path
        # commits those queued on a sheet: each must come out exactly as if
        # it had been sent alone after the ones before it, an edit after an
        # insert or delete included. Some reuse the previous operation's
        # client_event_id, a retry queued behind its original.
        requests, expectations = [], []
        for who, spec, reuse_id in batch:
            client_event_id = requests[-1].client_event_id if reuse_id and requests else uuid.uuid4()
            op = self._resolve(spec) if isinstance(spec, list) else self._structure(spec)
            expectations.append(self._expect(who, client_event_id, op))
            requests.append(self._request(who, client_event_id, op))
        tally["batches"] += 1
        for expected, outcome in zip(expectations, append_edits(sheet_id=self.sheet.pk, requests=requests), strict=True):
            self._check(expected, outcome)

    @rule(who=senders, spec=structure_specs)
    def change_the_structure(self, who: str, spec: tuple[str, int, int, str | None]) -> None:
        self._send(who, uuid.uuid4(), self._structure(spec))

    @rule(who=senders, specs=edits, flaw=flaws, data=st.data())
    def edit(self, who: str, specs: list[Any], flaw: str | None, data: st.DataObject) -> None:
        changes = self._resolve(specs)
        if flaw == "no changes":
            changes = []
        elif flaw == "too many changes":
            need = MAX_CHANGES + 1 - len(changes)
            extra = data.draw(st.lists(change_specs, min_size=need, max_size=need + 2), label="extra")
            changes += self._resolve(extra)
        elif flaw == "cell outside":
            at = data.draw(st.integers(0, len(changes) - 1), label="outside at")
            row, col = data.draw(st.sampled_from(OUTSIDE), label="outside")
            changes[at] = ModelChange(row=row, col=col, value=changes[at].value, base_seq=None)
        self._send(who, uuid.uuid4(), changes)

    @precondition(lambda self: self.attempts)
    @rule(data=st.data(), same_user=st.booleans(), same_changes=st.booleans(), who=senders, specs=edits)
    def retry(self, data: st.DataObject, same_user: bool, same_changes: bool, who: str, specs: list[Any]) -> None:
        # Mostly retry an edit that went through: that is the case a
        # reconnecting client meets; refused ones must then append normally.
        appended = [attempt for attempt in self.attempts if attempt[1] in self.model.client_event_ids]
        pool = appended if appended and data.draw(st.integers(0, 2), label="pool") else self.attempts
        earlier_who, client_event_id, earlier_changes = data.draw(st.sampled_from(pool), label="retried")
        # A true retry resends the same edit; the other cases check that the
        # id alone decides (changes ignored) and that it belongs to its sender.
        self._send(
            earlier_who if same_user else who,
            client_event_id,
            earlier_changes if same_changes else self._resolve(specs),
        )

    @rule(who=st.sampled_from(GRANTABLE), role=st.sampled_from(["viewer", "editor", "owner"]))
    def change_role(self, who: str, role: str) -> None:
        grant(sheet=self.sheet, username=self.users[who].username, role=role)
        self.model.roles[self.users[who].pk] = role

    # --- reads ------------------------------------------------------------

    @rule(data=st.data(), limit=st.integers(1, 8))
    def read_back_from_random_seqs(self, data: st.DataObject, limit: int) -> None:
        since = data.draw(st.integers(0, self.model.head), label="since")
        upto = data.draw(st.one_of(st.none(), st.integers(since, self.model.head)), label="upto")
        page = events_after(stream_id=self.sheet.stream_id, after=since, limit=limit, upto=upto)
        wanted = self.model.events[since : self.model.head if upto is None else upto][:limit]
        assert [event_row(e) for e in page] == [event_row(e) for e in wanted]
        # Paging as a reconnecting client does must yield every later seq once, in order.
        replayed, after = [], since
        while batch := events_after(stream_id=self.sheet.stream_id, after=after, limit=limit):
            replayed.extend(batch)
            after = batch[-1].seq
        assert [event_row(e) for e in replayed] == [event_row(e) for e in self.model.events[since:]]
        seq = data.draw(st.integers(0, self.model.head), label="time travel to")
        assert as_pairs(cells_at(stream_id=self.sheet.stream_id, seq=seq)) == self.model.visible_at(seq)
        then, model_then = sheet_at(stream_id=self.sheet.stream_id, seq=seq), self.model.sheet_at(seq)
        assert (spelled(then.rows), spelled(then.cols)) == (model_then.rows, model_then.cols)

    # Once per new head: a rebuild of an unchanged ledger tells nothing new,
    # and without this Hypothesis favours the rule with no arguments.
    @precondition(lambda self: self.model.head != self.rebuilt_at)
    @rule(snapshots=st.booleans())
    def check_and_rebuild_the_projection(self, snapshots: bool) -> None:
        self.rebuilt_at = self.model.head
        # Snapshots stored by earlier time travel must agree with the ledger too.
        report = check_sheet(stream_id=self.sheet.stream_id)
        assert (report.head, report.cells, report.snapshots, report.order) == (self.model.head, [], [], [])
        # By default the snapshots are dropped (time travel retakes them);
        # asked for, every one up to the head is taken again.
        rebuilt = rebuild_sheet(stream_id=self.sheet.stream_id, snapshots=snapshots)
        assert (rebuilt.head, rebuilt.cells, rebuilt.snapshots) == (
            self.model.head,
            len(self.model.cells),
            self.model.head // SNAPSHOT_EVERY if snapshots else 0,
        )
        tally["rebuilds with snapshots" if snapshots else "rebuilds"] += 1

    # --- after every step ---------------------------------------------------

    @invariant()
    def database_equals_model(self) -> None:
        if not hasattr(self, "model"):
            return
        sheet_id, stream_id = self.sheet.pk, self.sheet.stream_id
        assert stream_head(stream_id=stream_id) == self.model.head
        events = list(Event.objects.filter(stream__sheet=sheet_id).order_by("seq"))
        assert [event_row(e) for e in events] == [event_row(e) for e in self.model.events]
        stored = {
            (row_id, col_id): (value, last_seq)
            for row_id, col_id, value, last_seq in Cell.objects.filter(stream_id=stream_id).values_list(
                "row_id", "col_id", "value", "last_seq"
            )
        }
        assert stored == self.model.cells
        layout = order_now(stream=Stream.objects.get(pk=stream_id))
        assert (spelled(layout.rows), spelled(layout.cols)) == (self.model.sheet.rows, self.model.sheet.cols)
        state = current_state(stream_id=stream_id)
        assert (state.head, as_pairs(state.cells)) == (self.model.head, self.model.visible_at(self.model.head))
        earlier = self.model.head // 2
        assert as_pairs(cells_at(stream_id=stream_id, seq=earlier)) == self.model.visible_at(earlier)
        assert_hash_chain(Sheet.objects.get(pk=sheet_id), events)


def as_pairs(cells: dict[tuple[int, int], Any]) -> dict[tuple[int, int], tuple[str, int]]:
    return {coord: (state.value, state.last_seq) for coord, state in cells.items()}


# A failure shrinks for up to Hypothesis' own five minutes: let it finish and
# print the minimal example instead of dying in pytest's default timeout.
@pytest.mark.timeout(900)
@pytest.mark.django_db
def test_ledger_services_agree_with_the_in_memory_model(settings):
    settings.SHEETS_MAX_VALUE_LENGTH = MAX_LENGTH
    settings.SHEETS_MAX_CHANGES = MAX_CHANGES
    settings.SHEETS_SNAPSHOT_EVERY = SNAPSHOT_EVERY
    settings.SHEETS_MAX_ROWS, settings.SHEETS_MAX_COLS = MAX_ROWS, MAX_COLS
    tally.clear()
    run_state_machine_as_test(LedgerMachine, settings=active_profile())
    print(f"\nledger state machine on {connection.vendor}: {dict(sorted(tally.items()))}")
    assert tally["appended"] > 0
    assert tally["RowsInserted"] > 0 and tally["by id"] > 0


@pytest.mark.django_db
def test_the_model_and_the_services_agree_on_every_kind_of_outcome(settings):
    """Walk one scripted run through each outcome, so none rests on what the generator happened to reach."""
    settings.SHEETS_MAX_VALUE_LENGTH = MAX_LENGTH
    settings.SHEETS_MAX_CHANGES = MAX_CHANGES
    settings.SHEETS_SNAPSHOT_EVERY = SNAPSHOT_EVERY
    settings.SHEETS_MAX_ROWS, settings.SHEETS_MAX_COLS = MAX_ROWS, MAX_COLS
    tally.clear()
    machine = LedgerMachine()
    try:
        machine.create_sheet_and_users()
        first, second = uuid.uuid4(), uuid.uuid4()
        script = [
            ("editor_a", first, [ModelChange(0, 0, "=SUM(A1:A3)", None), ModelChange(0, 0, "12", None)]),
            ("editor_a", first, [ModelChange(1, 1, "ignored", None)]),  # a retry: duplicate
            ("editor_b", first, [ModelChange(1, 1, "x", None)]),  # another user's id: InvalidEdit
            ("editor_b", second, [ModelChange(0, 0, "late", 1)]),  # stale base_seq: Conflict
            ("editor_b", second, [ModelChange(0, 0, "", 2), ModelChange(3, 2, "é" * MAX_LENGTH, None)]),
            ("viewer", uuid.uuid4(), [ModelChange(2, 2, "no", None)]),  # Forbidden
            ("owner", uuid.uuid4(), [ModelChange(ROWS, 0, "no", None)]),  # OutOfRange
            ("owner", uuid.uuid4(), [ModelChange(2, 2, "x" * (MAX_LENGTH + 1), None)]),  # ValueTooLong
            ("owner", uuid.uuid4(), [ModelChange(2, 2, "x", None)] * (MAX_CHANGES + 1)),  # TooManyChanges
            ("owner", uuid.uuid4(), []),  # InvalidEdit
            ("owner", uuid.uuid4(), [ModelChange(2, 2, "ok", None), ModelChange(2, 3, "a\x00b", None)]),  # InvalidEdit
            ("owner", uuid.uuid4(), ModelStructure("RowsInserted", ("n1", "n2"), after="r1")),
            ("owner", uuid.uuid4(), ModelStructure("RowsInserted", ("r0",), after=None)),  # IdTaken
            ("owner", uuid.uuid4(), ModelStructure("RowsInserted", ("n3",), after="ghost")),  # NoSuchRow
            ("editor_a", uuid.uuid4(), ModelStructure("RowsDeleted", ("r1", "n1"))),
            ("editor_b", uuid.uuid4(), [ModelChange(None, None, "late", None, row_id="r1", col_id="c0")]),  # NoSuchRow
            ("owner", uuid.uuid4(), ModelStructure("ColumnsInserted", ("k1", "k2", "k3", "k4"), after="c3")),  # TooLarge
            ("owner", uuid.uuid4(), ModelStructure("ColumnsDeleted", ("c9",))),  # NoSuchCol
            ("owner", uuid.uuid4(), ModelStructure("RowsInserted", ("n4",), after="r1")),  # after a tombstone
            ("editor_b", uuid.uuid4(), [ModelChange(None, None, "new row", None, row_id="n2", col_id="c0")]),
            ("viewer", uuid.uuid4(), ModelStructure("ColumnsDeleted", ("c0",))),  # Forbidden
        ]
        for who, client_event_id, changes in script:
            machine._send(who, client_event_id, changes)
            machine.database_equals_model()
        machine.check_and_rebuild_the_projection(snapshots=True)
        machine.database_equals_model()
    finally:
        machine.teardown()
    assert machine.model.head == 8
    refusals = {
        "Conflict", "Forbidden", "InvalidEdit", "OutOfRange", "TooManyChanges", "ValueTooLong",
        "IdTaken", "NoSuchRow", "NoSuchCol", "TooLarge",
    }
    assert {"appended", "duplicate", *refusals} <= set(tally)
