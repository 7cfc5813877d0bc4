"""The migration to rows and columns with identity, run on a ledger written before it (docs/architecture.md, decision 12).

A scratch database is migrated to the state before ids (ledger 0005,
projections 0004, sheets 0002) with Django's MigrationExecutor; the
historical models of that state write two sheets, their users and
memberships, their cells, an old-format time-travel snapshot and a chain of
events exactly as the code of then stored them: format-1 edits (hashed over
the ten keys of docs/auditing.md, as the code before ledger 0005 did, with
the columns 0005 gave them) followed by format-2 edits with implicit ids (as
the last committed code, HEAD, wrote them). Then it migrates forward to the
latest state, and the tests check what decision 12 promises.

Why a scratch database and not the test run's own: that one holds what the
``committed_db`` tests committed (events are immutable, nothing flushes
them: a ``transaction=True`` test's flush is refused by the ledger's
triggers), and a database with structure events and their cells cannot go
back to positions. The scratch database is created, switched to and dropped
around this module (try/finally), so the run's database is never migrated
anywhere and is left exactly as it was, migrated forward, whatever fails.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from ledger.hashing import ROWS_INSERTED, canonical_bytes
from ledger.models import Event, Stream
from ledger.serialization import record_of
from projections.fold import CellState
from projections.models import Order, ProjectionSnapshot
from projections.selectors import cells_at, read_now
from projections.services import sheet_at_filling_cache
from sheets.exceptions import Conflict
from sheets.models import Sheet
from sheets.writes.edits import AppendResult, Change, EditRequest, append_edits
from sheets.writes.structure import StructureRequest

# The state before rows had ids: the last committed migrations (git HEAD).
BEFORE = {"ledger": "0005_event_types", "projections": "0004_streams", "sheets": "0002_streams"}
GENESIS = "0" * 64
PASSWORD = "correct-horse-battery"

Coord = tuple[int, int]


# The old write path, replicated


def _canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format1_bytes(*, sheet: str, seq: int, row: int, col: int, old_value: str, new_value: str, broadcaster_id: int,
                  client_event_id: uuid.UUID, recorded_at: datetime) -> bytes:
    """The canonical bytes of an edit as the code before ledger 0005 hashed it (git show e5051ef:ledger/hashing.py)."""
    return _canonical({
        "seq": seq, "row": row, "col": col, "old_value": old_value, "new_value": new_value,
        "broadcaster_id": broadcaster_id, "client_event_id": str(client_event_id), "recorded_at": _timestamp(recorded_at),
        "sheet": sheet, "type": "CellChanged",
    })


def format2_bytes(*, sheet: str, seq: int, row: int, col: int, old_value: str, new_value: str, broadcaster_id: int,
                  client_event_id: uuid.UUID, recorded_at: datetime) -> bytes:
    """The canonical bytes of an edit as HEAD hashed it: format 2, thirteen keys, the implicit ids of its position."""
    return _canonical({
        "seq": seq, "type": "CellChanged", "sheet": sheet, "broadcaster_id": broadcaster_id,
        "client_event_id": str(client_event_id), "recorded_at": _timestamp(recorded_at),
        "row_id": f"r{row}", "col_id": f"c{col}", "row": row, "col": col, "old_value": old_value, "new_value": new_value,
        "format": 2,
    })


def chain(prev_hash: str, canonical: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical).hexdigest()


@dataclass
class OldSheet:
    """A sheet written before ids, and what it showed after each of its events (non-empty cells by position)."""

    name: str
    rows: int
    cols: int
    sheet_id: int = 0
    stream_id: int = 0
    head: int = 0
    head_hash: str = GENESIS
    cells: dict[Coord, CellState] = field(default_factory=dict)  # as the cells table had them, cleared ones too
    history: dict[int, dict[Coord, CellState]] = field(default_factory=lambda: {0: {}})

    def at(self, seq: int) -> dict[Coord, CellState]:
        return self.history[seq]


class OldWriter:
    """Appends edits through the historical models as the old write path stored them (lock, events, head, cells)."""

    def __init__(self, apps: Any) -> None:
        self.Stream = apps.get_model("ledger", "Stream")
        self.Event = apps.get_model("ledger", "Event")
        self.Cell = apps.get_model("projections", "Cell")
        self.clock = datetime(2024, 5, 6, 7, 8, 9, 0, tzinfo=UTC)  # the first one has no microseconds: ".000000Z"

    def edit(self, sheet: OldSheet, user_id: int, changes: Sequence[tuple[int, int, str]], *, format: int) -> None:
        # One edit: one client_event_id, one recorded_at, one transaction under the stream's lock.
        client_event_id, recorded_at = uuid.uuid4(), self.clock
        self.clock += timedelta(seconds=7, microseconds=123_457)
        encode = format1_bytes if format == 1 else format2_bytes
        with transaction.atomic():
            self.Stream.objects.select_for_update().get(pk=sheet.stream_id)
            events, touched = [], {}
            for row, col, value in changes:
                assert 0 <= row < sheet.rows and 0 <= col < sheet.cols
                seq = sheet.head + 1
                old = sheet.cells[(row, col)].value if (row, col) in sheet.cells else ""
                content = {
                    "seq": seq, "row": row, "col": col, "old_value": old, "new_value": value, "broadcaster_id": user_id,
                    "client_event_id": client_event_id, "recorded_at": recorded_at,
                }
                digest = chain(sheet.head_hash, encode(sheet=sheet.name, **content))
                # Format 1: the columns ledger 0005 added hold their defaults (type CellChanged, format 1, no ids).
                ids = {} if format == 1 else {"format": 2, "row_id": f"r{row}", "col_id": f"c{col}"}
                events.append(self.Event(stream_id=sheet.stream_id, prev_hash=sheet.head_hash, hash=digest, **content, **ids))
                sheet.head, sheet.head_hash = seq, digest
                sheet.cells[(row, col)] = touched[(row, col)] = CellState(value=value, last_seq=seq)
                sheet.history[seq] = {coord: cell for coord, cell in sheet.cells.items() if cell.value != ""}
            self.Event.objects.bulk_create(events)
            self.Stream.objects.filter(pk=sheet.stream_id).update(head=sheet.head, head_hash=sheet.head_hash)
            for (row, col), cell in touched.items():
                self.Cell.objects.update_or_create(
                    stream_id=sheet.stream_id, row=row, col=col, defaults={"value": cell.value, "last_seq": cell.last_seq}
                )


def write_old_ledger(apps: Any) -> tuple[dict[str, int], OldSheet, OldSheet, int]:
    """Write users, two sheets, memberships, edits and a snapshot with the historical models; return them."""
    User = apps.get_model("auth", "User")
    Stream, Sheet_ = apps.get_model("ledger", "Stream"), apps.get_model("sheets", "Sheet")
    Membership = apps.get_model("sheets", "Membership")
    Snapshot = apps.get_model("projections", "ProjectionSnapshot")
    users = {}
    for name in ("alice", "bob", "carol"):
        users[name] = User.objects.create(username=name, password=make_password(PASSWORD)).pk
    # Twelve rows, so that r10 and r11 exist (ids that do not sort like their positions).
    budget, roster = OldSheet(name="budget-2024", rows=12, cols=5), OldSheet(name="roster", rows=4, cols=3)
    # Streams and sheets created in opposite orders, so that no sheet's id is its stream's: the
    # migration must follow Sheet.stream_id (ledger 0004 gave the first sheets equal ids, later ones differ).
    for old in (budget, roster):
        old.stream_id = Stream.objects.create(name=old.name).pk
    for old in (roster, budget):
        old.sheet_id = Sheet_.objects.create(name=old.name, title=old.name, rows=old.rows, cols=old.cols,
                                             stream_id=old.stream_id).pk
    for old, roles in ((budget, {"alice": "owner", "bob": "editor", "carol": "viewer"}),
                       (roster, {"alice": "owner", "bob": "editor"})):
        for name, role in roles.items():
            Membership.objects.create(sheet_id=old.sheet_id, user_id=users[name], role=role)

    writer = OldWriter(apps)
    alice, bob = users["alice"], users["bob"]
    # Format 1: written before ledger 0005.
    writer.edit(budget, alice, [(0, 0, "Item"), (0, 1, "Amount"), (0, 2, "Note")], format=1)
    writer.edit(roster, alice, [(0, 0, "Name"), (0, 1, "Shift")], format=1)
    writer.edit(budget, bob, [(1, 0, "Rent"), (1, 1, "1200")], format=1)
    writer.edit(roster, bob, [(1, 0, "Ann"), (2, 0, "Ben"), (3, 2, "last cell")], format=1)
    writer.edit(budget, alice, [(11, 4, 'corner ✓ "quoted" back\\slash\ttab')], format=1)
    writer.edit(budget, bob, [(1, 1, "1250")], format=1)
    writer.edit(roster, alice, [(1, 1, "early")], format=1)
    writer.edit(budget, alice, [(10, 3, "naïve café 日本 🧾"), (2, 0, "temp")], format=1)
    writer.edit(budget, alice, [(2, 0, "")], format=1)  # cleared: the cells table keeps it, as ""
    # Format 2: written by HEAD, after ledger 0005 and before rows could move.
    writer.edit(budget, bob, [(2, 0, "Food"), (2, 1, "300")], format=2)
    writer.edit(budget, alice, [(1, 1, "1300")], format=2)
    writer.edit(budget, alice, [(10, 3, "")], format=2)
    assert (budget.head, roster.head) == (14, 6)

    # A time-travel snapshot as HEAD stored them: [[row, col, value, last_seq], ...], non-empty, row-major.
    snapshot_seq = 7
    Snapshot.objects.create(
        stream_id=budget.stream_id, seq=snapshot_seq,
        cells=[[row, col, cell.value, cell.last_seq] for (row, col), cell in sorted(budget.at(snapshot_seq).items())],
    )
    return users, budget, roster, snapshot_seq


# The database, as rows and as text


def events_as_stored() -> tuple[list[str], list[tuple[Any, ...]], list[str]]:
    """Every stored event: the column names, the rows as the driver reads them, and each row as the database's text."""
    q = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM ledger_event ORDER BY id")
        names = [column[0] for column in cursor.description]
        rows = [tuple(row) for row in cursor.fetchall()]
        if connection.vendor == "postgresql":
            cursor.execute("SELECT CAST(e AS text) FROM ledger_event AS e ORDER BY e.id")
        else:
            # quote() spells each value with its storage class: 'text', an integer, X'blob' or NULL.
            spelled = " || '|' || ".join(f"quote({q(name)})" for name in names)
            cursor.execute(f"SELECT {spelled} FROM ledger_event ORDER BY id")
        text = [row[0] for row in cursor.fetchall()]
    return names, rows, text


def table_rows(sql: str) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]


def triggers_on_events() -> set[str]:
    if connection.vendor == "postgresql":
        sql = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'ledger_event'::regclass AND NOT tgisinternal"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'ledger_event'"
    return {name for (name,) in table_rows(sql)}


# The scratch database


def _leaves(executor: MigrationExecutor) -> list[tuple[str, str]]:
    return sorted(executor.loader.graph.leaf_nodes())


def _before(executor: MigrationExecutor) -> list[tuple[str, str]]:
    """Every app at its latest migration but ledger, projections and sheets, at their last one before ids."""
    return sorted((app, BEFORE.get(app, name)) for app, name in _leaves(executor))


def _postgres_admin(*statements: str) -> None:
    with connection._nodb_cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


@contextmanager
def scratch_database(tmp_dir: Path, suffix: str, blocker: Any) -> Iterator[None]:
    """Point the default connection at a new, empty database; point it back and drop that one, whatever happens."""
    conn = connections[DEFAULT_DB_ALIAS]
    settings_dict = conn.settings_dict
    original = settings_dict["NAME"]
    postgres = conn.vendor == "postgresql"
    scratch = f"{original}_{suffix}"[:63] if postgres else str(tmp_dir / f"{suffix}.sqlite3")
    drop = f"DROP DATABASE IF EXISTS {conn.ops.quote_name(scratch)} WITH (FORCE)"
    with blocker.unblock():
        conn.close()
        if postgres:
            _postgres_admin(drop, f"CREATE DATABASE {conn.ops.quote_name(scratch)}")
        settings_dict["NAME"] = scratch
    try:
        yield
    finally:
        with blocker.unblock():
            conn.close()
            settings_dict["NAME"] = original
            if postgres:
                _postgres_admin(drop)


def migrate_to(targets: Callable[[MigrationExecutor], list[tuple[str, str]]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets(executor))
    executor.loader.build_graph()
    assert not executor.migration_plan(targets(executor)), "migrated to the targets"
    return executor


def write_before_ids() -> tuple[dict[str, int], OldSheet, OldSheet, int]:
    """Migrate an empty database forward (as the test run's is made), back to before ids, and write the old ledger."""
    migrate_to(_leaves)
    executor = migrate_to(_before)
    return write_old_ledger(executor.loader.project_state(_before(executor)).apps)


@dataclass
class Migrated:
    users: dict[str, int]
    budget: OldSheet
    roster: OldSheet
    snapshot_seq: int
    streams_before: list[tuple[Any, ...]]
    cells_before: list[tuple[Any, ...]]
    events_before: tuple[list[str], list[tuple[Any, ...]], list[str]]
    triggers_before: set[str]
    # Read right after the migration, before any test writes.
    events_after: tuple[list[str], list[tuple[Any, ...]], list[str]]
    streams_after: list[tuple[Any, ...]]
    cells_after: list[tuple[Any, ...]]
    snapshots_after: int
    orders_after: int
    triggers_after: set[str]


STREAM_COLUMNS = "SELECT id, name, head, head_hash, created_at FROM ledger_stream ORDER BY id"
OLD_CELLS = 'SELECT stream_id, "row", "col", value, last_seq FROM projections_cell'


@pytest.fixture(scope="module")
def migrated(django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Migrated]:
    """The old ledger in a scratch database, migrated forward to the latest state, for every test of the module."""
    with scratch_database(tmp_path_factory.mktemp("ids"), "ids", django_db_blocker):
        with django_db_blocker.unblock():
            users, budget, roster, snapshot_seq = write_before_ids()
            streams_before, cells_before = table_rows(STREAM_COLUMNS), table_rows(OLD_CELLS)
            events_before, triggers_before = events_as_stored(), triggers_on_events()

            migrate_to(_leaves)

            result = Migrated(
                users=users, budget=budget, roster=roster, snapshot_seq=snapshot_seq,
                streams_before=streams_before, cells_before=cells_before, events_before=events_before,
                triggers_before=triggers_before,
                events_after=events_as_stored(), streams_after=table_rows(STREAM_COLUMNS),
                cells_after=table_rows("SELECT stream_id, row_id, col_id, value, last_seq FROM projections_cell"),
                snapshots_after=ProjectionSnapshot.objects.count(), orders_after=Order.objects.count(),
                triggers_after=triggers_on_events(),
            )
        yield result


@pytest.fixture
def migrated_db(migrated: Migrated, committed_db: None) -> Migrated:
    """The migrated scratch database, with database access for the test."""
    return migrated


def _visible(old: OldSheet, seq: int) -> list[dict[str, Any]]:
    """The cells a reader was shown after ``seq``, as the cells API renders them now: implicit ids, same positions."""
    return [
        {"row_id": f"r{row}", "col_id": f"c{col}", "row": row, "col": col, "value": cell.value, "last_seq": cell.last_seq}
        for (row, col), cell in sorted(old.at(seq).items())
    ]


def _run(command: str, *args: str) -> str:
    out = io.StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


# The tests


def test_every_old_event_keeps_its_stored_columns_and_hash_byte_for_byte(migrated_db):
    names_before, rows_before, text_before = migrated_db.events_before
    names_after, rows_after, text_after = migrated_db.events_after
    assert len(rows_before) == migrated_db.budget.head + migrated_db.roster.head
    assert names_after == names_before, "the migration changed no column of ledger_event"
    assert rows_after == rows_before
    assert text_after == text_before
    # And they still are, after the other tests' appends.
    names_now, rows_now, text_now = events_as_stored()
    assert names_now == names_before
    assert rows_now[: len(rows_before)] == rows_before and text_now[: len(text_before)] == text_before

    # Each hash is the one its format's canonical bytes give, by the old code's rules and by today's.
    for old in (migrated_db.budget, migrated_db.roster):
        events = list(Event.objects.filter(stream_id=old.stream_id, seq__lte=old.head).order_by("seq"))
        assert [event.seq for event in events] == list(range(1, old.head + 1))
        prev = GENESIS
        for event in events:
            encode = format1_bytes if event.format == 1 else format2_bytes
            content = {name: getattr(event, name) for name in (
                "seq", "row", "col", "old_value", "new_value", "broadcaster_id", "client_event_id", "recorded_at")}
            assert event.prev_hash == prev
            assert event.hash == chain(prev, encode(sheet=old.name, **content))
            assert canonical_bytes(record_of(event), sheet=old.name) == encode(sheet=old.name, **content)
            prev = event.hash
        assert {event.format for event in events} == ({1, 2} if old is migrated_db.budget else {1})
        assert all(event.row_id is None and event.col_id is None for event in events if event.format == 1)


def test_streams_keep_their_heads_and_take_the_shape_of_their_sheets(migrated_db):
    # Every column the stream had is unchanged (id, name, head, head_hash, created_at) ...
    assert migrated_db.streams_after == migrated_db.streams_before
    # ... and it now has the rows and columns its sheet had.
    for old in (migrated_db.budget, migrated_db.roster):
        stream = Stream.objects.get(pk=old.stream_id)
        assert (stream.rows, stream.cols) == (old.rows, old.cols), old.name
        assert (stream.head, stream.head_hash) == (old.head, old.head_hash)
        sheet = Sheet.objects.select_related("stream").get(pk=old.sheet_id)
        assert sheet.stream_id == old.stream_id and sheet.name == old.name
        roles = {"alice": "owner", "bob": "editor"} | ({"carol": "viewer"} if old is migrated_db.budget else {})
        assert {m.user.username: m.role for m in sheet.memberships.select_related("user")} == roles


def test_verify_ledger_passes_on_the_migrated_ledger(migrated_db):
    output = _run("verify_ledger")
    for old in (migrated_db.budget, migrated_db.roster):
        assert f"{old.name}: ok" in output
    assert "every chain is intact" in output


def test_rebuild_check_finds_no_difference_in_cells_order_or_snapshots(migrated_db):
    output = _run("rebuild_projections", "--check")
    for old in (migrated_db.budget, migrated_db.roster):
        assert f"{old.name}: cells, order and snapshots match the ledger" in output
    assert "no difference" in output


def test_every_cell_keeps_its_value_and_last_seq_under_the_implicit_ids_of_its_position(migrated_db):
    # The table itself: every row of before, cleared ones included, under r{row}/c{col}.
    expected = sorted((stream, f"r{row}", f"c{col}", value, seq) for stream, row, col, value, seq in migrated_db.cells_before)
    assert sorted(migrated_db.cells_after) == expected
    assert any(value == "" for *_, value, _ in migrated_db.cells_after), "the cleared cells came across too"
    # No structure event: no order is stored, the sheet has the rows and columns it was created with.
    assert migrated_db.orders_after == 0
    for old in (migrated_db.budget, migrated_db.roster):
        read = read_now(stream=Stream.objects.get(pk=old.stream_id))
        assert read.head == old.head
        assert read.cells == _visible(old, old.head)
        assert read.layout.rows.ids() == [f"r{i}" for i in range(old.rows)]
        assert read.layout.cols.ids() == [f"c{i}" for i in range(old.cols)]


def test_the_cells_and_events_api_show_the_old_sheet(migrated_db, client: Client):
    old = migrated_db.budget
    client.force_login(get_user_model().objects.get(username="carol"))  # a viewer, as before
    now = client.get(f"/api/sheets/{old.name}/cells/").json()
    assert (now["head"], now["row_count"], now["col_count"]) == (old.head, old.rows, old.cols)
    assert now["row_ids"] == [f"r{i}" for i in range(old.rows)] and now["col_ids"] == [f"c{i}" for i in range(old.cols)]
    assert now["cells"] == _visible(old, old.head)
    then = client.get(f"/api/sheets/{old.name}/cells/?at=9").json()
    assert (then["at"], then["cells"]) == (9, _visible(old, 9))

    events = client.get(f"/api/sheets/{old.name}/events/?limit=1000").json()["events"]
    stored = {e.seq: e for e in Event.objects.filter(stream_id=old.stream_id)}
    assert [e["seq"] for e in events] == list(range(1, old.head + 1))
    for shown in events:
        event = stored[shown["seq"]]
        assert (shown["hash"], shown["prev_hash"]) == (event.hash, event.prev_hash)
        assert (shown["row_id"], shown["col_id"], shown["row"], shown["col"]) == (
            f"r{event.row}", f"c{event.col}", event.row, event.col)
    # The history of one cell by its id finds its edits of either format.
    one = client.get(f"/api/sheets/{old.name}/events/?row_id=r1&col_id=c1").json()["events"]
    assert [(e["seq"], e["new_value"]) for e in one] == [(5, "1200"), (7, "1250"), (13, "1300")]
    assert {stored[e["seq"]].format for e in one} == {1, 2}


def test_old_snapshots_are_dropped_and_time_travel_gives_every_old_state(migrated_db, settings):
    assert migrated_db.snapshots_after == 0, "an old-format snapshot survived the migration"
    for old in (migrated_db.budget, migrated_db.roster):
        for seq in range(0, old.head + 1):
            assert cells_at(stream_id=old.stream_id, seq=seq) == old.at(seq), f"{old.name} at seq {seq}"
    # Time travel as the page does it stores new snapshots on the way; they agree with the ledger.
    settings.SHEETS_SNAPSHOT_EVERY = 3
    old = migrated_db.budget
    taken = ProjectionSnapshot.objects.filter(stream_id=old.stream_id)
    try:
        sheet_at_filling_cache(stream_id=old.stream_id, seq=old.head)
        assert sorted(taken.values_list("seq", flat=True)) == [3, 6, 9, 12]
        for seq in range(0, old.head + 1):
            assert cells_at(stream_id=old.stream_id, seq=seq) == old.at(seq), f"{old.name} at seq {seq}, from a snapshot"
        assert "no difference" in _run("rebuild_projections", "--check", old.name)
    finally:
        # Taken at multiples of 3, which the other tests' interval does not have: a cache, dropped.
        taken.delete()


def test_the_triggers_still_refuse_changing_or_deleting_events(migrated_db):
    assert migrated_db.triggers_before, "the old database had its immutability triggers"
    assert migrated_db.triggers_after == migrated_db.triggers_before
    assert triggers_on_events() == migrated_db.triggers_before
    first = Event.objects.get(stream_id=migrated_db.budget.stream_id, seq=1)
    statements = [
        ("UPDATE ledger_event SET new_value = 'forged' WHERE id = %s", [first.pk]),
        ("UPDATE ledger_event SET row_id = 'r0', col_id = 'c0' WHERE id = %s", [first.pk]),
        ("DELETE FROM ledger_event WHERE id = %s", [first.pk]),
    ]
    if connection.vendor == "postgresql":
        statements.append(("TRUNCATE ledger_event CASCADE", []))
    for statement, params in statements:
        with pytest.raises(DatabaseError, match="immutable"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, params)
    with pytest.raises(DatabaseError, match="immutable"):
        with transaction.atomic():
            Event.objects.filter(pk=first.pk).update(new_value="forged")
    refetched = Event.objects.get(pk=first.pk)
    assert (refetched.new_value, refetched.row_id, refetched.hash) == ("Item", None, first.hash)


def _append(sheet: Sheet, request: EditRequest | StructureRequest) -> AppendResult | Exception:
    (outcome,) = append_edits(sheet_id=sheet.pk, requests=[request])
    return outcome


def test_edits_by_id_and_an_insert_of_rows_append_after_the_migration_and_the_chain_verifies(migrated_db):
    old = migrated_db.roster
    sheet = Sheet.objects.get(pk=old.sheet_id)
    User = get_user_model()
    alice, bob = User.objects.get(username="alice"), User.objects.get(username="bob")

    # The migrated last_seq answers a conflict check: B2 ("early") was last written at seq 6, in format 1.
    refused = _append(sheet, EditRequest(user=bob, client_event_id=uuid.uuid4(),
                                         changes=[Change(row_id="r1", col_id="c1", value="late", base_seq=3)]))
    assert isinstance(refused, Conflict)
    assert refused.details["cells"] == [
        {"row_id": "r1", "col_id": "c1", "row": 1, "col": 1, "value": "early", "last_seq": 6}
    ]

    # An edit by id of a cell written in format 1: its old value is the one of before.
    by_id = _append(sheet, EditRequest(user=bob, client_event_id=uuid.uuid4(),
                                       changes=[Change(row_id="r1", col_id="c1", value="late", base_seq=6)]))
    assert isinstance(by_id, AppendResult) and by_id.seqs == [7]
    event = Event.objects.get(stream_id=old.stream_id, seq=7)
    assert (event.format, event.row_id, event.col_id, event.row, event.col) == (2, "r1", "c1", 1, 1)
    assert (event.old_value, event.new_value, event.prev_hash) == ("early", "late", old.head_hash)

    # Two rows inserted after the first: the old rows 1..3 move down by two, their ids stay.
    inserted = _append(sheet, StructureRequest(user=alice, client_event_id=uuid.uuid4(), type=ROWS_INSERTED,
                                               ids=("added-1", "added-2"), after="r0"))
    assert isinstance(inserted, AppendResult) and inserted.seqs == [8]
    insert_event = Event.objects.get(stream_id=old.stream_id, seq=8)
    assert (insert_event.type, insert_event.row, insert_event.after) == (ROWS_INSERTED, 1, "r0")

    # By position now: row 1 is a new row; row 3 is the old row 1, whose A cell has its format-1 value.
    moved = _append(sheet, EditRequest(user=alice, client_event_id=uuid.uuid4(), changes=[
        Change(row=1, col=2, value="in a new row"), Change(row=3, col=0, value="Ann B."),
    ]))
    assert isinstance(moved, AppendResult) and moved.seqs == [9, 10]
    events = {e.seq: e for e in Event.objects.filter(stream_id=old.stream_id, seq__in=[9, 10])}
    assert (events[9].row_id, events[9].col_id, events[9].old_value) == ("added-1", "c2", "")
    assert (events[10].row_id, events[10].col_id, events[10].row, events[10].old_value) == ("r1", "c0", 3, "Ann")

    output = _run("verify_ledger", old.name)
    assert f"{old.name}: ok, 10 events, head 10" in output
    assert "no difference" in _run("rebuild_projections", "--check")
    assert "every chain is intact" in _run("verify_ledger")

    stream = Stream.objects.get(pk=old.stream_id)
    assert (stream.rows, stream.cols) == (old.rows, old.cols), "the shape it started with does not change"
    read = read_now(stream=stream)
    assert read.layout.rows.ids() == ["r0", "added-1", "added-2", "r1", "r2", "r3"]
    assert [(c["row"], c["col"], c["row_id"], c["col_id"], c["value"], c["last_seq"]) for c in read.cells] == [
        (0, 0, "r0", "c0", "Name", 1), (0, 1, "r0", "c1", "Shift", 2),
        (1, 2, "added-1", "c2", "in a new row", 9),
        (3, 0, "r1", "c0", "Ann B.", 10), (3, 1, "r1", "c1", "late", 7),
        (4, 0, "r2", "c0", "Ben", 4),
        (5, 2, "r3", "c2", "last cell", 5),
    ]

    # Time travel to before the migration still shows the old sheet at the old positions.
    for seq in range(0, old.head + 1):
        assert cells_at(stream_id=old.stream_id, seq=seq) == old.at(seq), f"seq {seq}"
    after_edit = dict(old.at(old.head))
    after_edit[(1, 1)] = CellState(value="late", last_seq=7)
    assert cells_at(stream_id=old.stream_id, seq=7) == after_edit
    shifted = cells_at(stream_id=old.stream_id, seq=8)
    assert shifted == {((row + 2) if row >= 1 else row, col): cell for (row, col), cell in after_edit.items()}

    # Nothing of before moved: the old events are byte for byte what they were.
    _, rows_before, text_before = migrated_db.events_before
    _, rows_now, text_now = events_as_stored()
    assert rows_now[: len(rows_before)] == rows_before and text_now[: len(text_before)] == text_before


def test_a_migrated_ledger_without_structure_events_migrates_back_and_forward_again(committed_db, django_db_blocker,
                                                                                    tmp_path):
    """The migrations' reverse functions (copy_shape_back, positions_from_ids) are meant to work until rows move."""
    with scratch_database(tmp_path, "ids_back", django_db_blocker):
        _, budget, roster, _ = write_before_ids()
        cells_before, events_before = table_rows(OLD_CELLS), events_as_stored()
        migrate_to(_leaves)
        migrate_to(_before)
        assert sorted(table_rows(OLD_CELLS)) == sorted(cells_before)
        assert sorted(table_rows('SELECT stream_id, "rows", "cols" FROM sheets_sheet')) == sorted(
            (old.stream_id, old.rows, old.cols) for old in (budget, roster))
        migrate_to(_leaves)
        assert events_as_stored() == events_before
        assert "every chain is intact" in _run("verify_ledger")
        assert "no difference" in _run("rebuild_projections", "--check")
