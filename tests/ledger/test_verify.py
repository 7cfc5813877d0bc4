"""verify_ledger detects every kind of tampering, naming the sheet and the first bad seq."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from ledger.hashing import COLUMNS_DELETED, COLUMNS_INSERTED, ROWS_DELETED, ROWS_INSERTED, canonical_bytes, chain_hash
from ledger.models import Event, Stream
from ledger.progress import Progress
from ledger.serialization import record_of
from ledger.services import CellChange, StructureChange, chain_events, create_stream, lock_stream, write_events
from ledger.verify import Finding, LedgerRecord, verify_chain, verify_stream
from sheets.models import Sheet
from tests.conftest import edit, unique

pytestmark = pytest.mark.django_db

TRIGGERS = {
    "postgresql": [
        "DROP TRIGGER ledger_event_immutable_rows ON ledger_event",
        "DROP TRIGGER ledger_event_immutable_truncate ON ledger_event",
    ],
    "sqlite": ["DROP TRIGGER ledger_event_immutable_update", "DROP TRIGGER ledger_event_immutable_delete"],
}


@pytest.fixture
def tamper() -> Iterator[None]:
    """Drop the immutability triggers inside the test's transaction, as a database superuser could.

    DDL is transactional on PostgreSQL and SQLite, so the test's rollback
    puts the triggers back.
    """
    assert connection.in_atomic_block
    with connection.cursor() as cursor:
        for statement in TRIGGERS[connection.vendor]:
            cursor.execute(statement)
    yield


@pytest.fixture
def sheet(make_sheet, alice) -> Sheet:
    sheet = make_sheet(rows=10, cols=5, editors=[alice])
    edit(sheet, alice, (0, 0, "a"))
    edit(sheet, alice, (0, 1, "b"), (1, 1, "c"))
    edit(sheet, alice, (0, 0, "d"))
    edit(sheet, alice, (2, 2, "e"))
    sheet.refresh_from_db()
    assert sheet.head == 5
    return sheet


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_ledger", *args, stdout=out)
    return out.getvalue()


def sql(statement: str, params: list[object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_an_untouched_ledger_passes(sheet):
    output = run(sheet.name)
    assert f"{sheet.name}: ok, 5 events, head 5" in output
    assert "every chain is intact" in output


def test_every_sheet_is_checked_without_a_name(sheet, make_sheet, alice):
    other = make_sheet(editors=[alice])
    edit(other, alice, (0, 0, "x"))
    output = run()
    assert f"{sheet.name}: ok, 5 events" in output
    assert f"{other.name}: ok, 1 events" in output


def test_an_empty_sheet_passes(make_sheet):
    empty = make_sheet()
    assert f"{empty.name}: ok, 0 events, head 0" in run(empty.name)


def test_an_unknown_sheet_is_an_error():
    with pytest.raises(CommandError, match="no sheet named 'nope'"):
        run("nope")


def test_a_changed_value_is_named_by_its_seq(sheet, tamper):
    sql("UPDATE ledger_event SET new_value = %s WHERE stream_id = %s AND seq = 3", ["forged", sheet.stream_id])
    with pytest.raises(CommandError, match=rf"sheet {sheet.name}: first bad seq 3: hash does not match"):
        run(sheet.name)


def test_a_changed_author_is_named_by_its_seq(sheet, tamper, make_user):
    mallory = make_user()
    sql("UPDATE ledger_event SET broadcaster_id = %s WHERE stream_id = %s AND seq = 2", [mallory.pk, sheet.stream_id])
    with pytest.raises(CommandError, match="first bad seq 2: hash does not match"):
        run(sheet.name)


def test_a_changed_event_with_a_recomputed_hash_breaks_the_next_link(sheet, tamper):
    event = Event.objects.get(stream__sheet=sheet, seq=3)
    forged = chain_hash(event.prev_hash, canonical_bytes(record_of(event)._replace(new_value="forged"), sheet=sheet.name))
    sql("UPDATE ledger_event SET new_value = 'forged', hash = %s WHERE stream_id = %s AND seq = 3", [forged, sheet.stream_id])
    with pytest.raises(CommandError, match="first bad seq 4: prev_hash does not match the hash of seq 3"):
        run(sheet.name)


def test_a_deleted_event_is_named_by_its_seq(sheet, tamper):
    sql("DELETE FROM ledger_event WHERE stream_id = %s AND seq = 3", [sheet.stream_id])
    with pytest.raises(CommandError, match="first bad seq 3: seq 3 is missing"):
        run(sheet.name)


def test_a_deleted_last_event_is_caught_by_the_head(sheet, tamper):
    sql("DELETE FROM ledger_event WHERE stream_id = %s AND seq = 5", [sheet.stream_id])
    with pytest.raises(CommandError, match="first bad seq 5: seq 5 is missing: the sheet's head is 5"):
        run(sheet.name)


def test_two_reordered_events_are_named_by_the_first_seq(sheet, tamper):
    sql("UPDATE ledger_event SET seq = -1 WHERE stream_id = %s AND seq = 2", [sheet.stream_id])
    sql("UPDATE ledger_event SET seq = 2 WHERE stream_id = %s AND seq = 4", [sheet.stream_id])
    sql("UPDATE ledger_event SET seq = 4 WHERE stream_id = %s AND seq = -1", [sheet.stream_id])
    with pytest.raises(CommandError, match="first bad seq 2: prev_hash does not match the hash of seq 1"):
        run(sheet.name)


def test_two_reordered_adjacent_events_are_named_by_the_first_seq(sheet, tamper):
    sql("UPDATE ledger_event SET seq = -1 WHERE stream_id = %s AND seq = 4", [sheet.stream_id])
    sql("UPDATE ledger_event SET seq = 4 WHERE stream_id = %s AND seq = 5", [sheet.stream_id])
    sql("UPDATE ledger_event SET seq = 5 WHERE stream_id = %s AND seq = -1", [sheet.stream_id])
    with pytest.raises(CommandError, match="first bad seq 4"):
        run(sheet.name)


def test_a_head_behind_the_ledger_is_caught(sheet):
    # The sheets table has no trigger: rewinding the head needs no privilege.
    Stream.objects.filter(sheet=sheet).update(head=4)
    with pytest.raises(CommandError, match="first bad seq 5: seq 5 is beyond the sheet's head 4"):
        run(sheet.name)


def test_a_wrong_head_hash_is_caught(sheet):
    Stream.objects.filter(sheet=sheet).update(head_hash="f" * 64)
    with pytest.raises(CommandError, match="first bad seq 5: the sheet's head_hash does not match"):
        run(sheet.name)


def test_one_bad_sheet_fails_the_run_and_the_others_are_still_reported(sheet, make_sheet, alice, tamper):
    good = make_sheet(editors=[alice])
    edit(good, alice, (0, 0, "x"))
    sql("DELETE FROM ledger_event WHERE stream_id = %s AND seq = 1", [sheet.stream_id])
    out = io.StringIO()
    with pytest.raises(CommandError, match=rf"sheet {sheet.name}: first bad seq 1") as failure:
        call_command("verify_ledger", stdout=out)
    assert good.name not in str(failure.value)
    assert f"{good.name}: ok, 1 events" in out.getvalue()


def _record(seq: int, prev_hash: str, sheet: str = "s") -> LedgerRecord:
    unhashed = LedgerRecord(
        seq=seq, row=0, col=seq, old_value="", new_value=str(seq), broadcaster_id=1,
        client_event_id="00000000-0000-4000-8000-000000000000", recorded_at="2026-11-24T10:15:02.123456Z",
        prev_hash=prev_hash, hash="",
    )
    return unhashed._replace(hash=chain_hash(prev_hash, canonical_bytes(unhashed, sheet=sheet)))


def test_the_pure_check_accepts_a_chain_built_by_hand_and_reports_progress():
    records = [_record(1, "0" * 64)]
    records.append(_record(2, records[0].hash))
    seen: list[int] = []
    checked, finding = verify_chain(iter(records), sheet="s", head=2, head_hash=records[1].hash, on_progress=seen.append)
    assert (checked, finding, seen) == (2, None, [1, 2])


def test_the_pure_check_binds_the_sheet_name_into_every_hash():
    record = _record(1, "0" * 64, sheet="s")
    checked, finding = verify_chain([record], sheet="renamed", head=1, head_hash=record.hash)
    assert finding is not None and finding.seq == 1


class TtyBuffer(io.StringIO):
    def write(self, msg: str = "", style_func: object = None, ending: str | None = None) -> int:  # type: ignore[override]
        return super().write(msg + (ending if ending is not None else "\n"))

    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_only():
    tty = TtyBuffer()
    progress = Progress(tty, label="verifying s", total=10, every=5)
    for done in range(1, 11):
        progress.update(done)
    progress.close()
    assert tty.getvalue().count("\r") == 3  # at 5, at 10, and the final erase
    assert "10/10" in tty.getvalue()
    piped = io.StringIO()
    quiet = Progress(piped, label="verifying s", total=10, every=5)  # type: ignore[arg-type]
    quiet.update(10)
    quiet.close()
    assert piped.getvalue() == ""


def test_a_published_anchor_that_still_matches_passes(sheet):
    event = Event.objects.get(stream__sheet=sheet, seq=3)
    assert "ok, 5 events" in run(sheet.name, "--anchor", f"3:{event.hash}")


def test_the_ok_line_prints_the_head_to_publish(sheet):
    assert f"head 5:{sheet.stream.head_hash}" in run(sheet.name)


def test_a_whole_chain_rewritten_consistently_is_caught_only_by_an_anchor(sheet, tamper):
    published = Event.objects.get(stream__sheet=sheet, seq=5).hash
    # Rewrite seq 2 and re-chain every later event and the head, as someone
    # with database access and this code could.
    prev = Event.objects.get(stream__sheet=sheet, seq=1).hash
    for event in Event.objects.filter(stream__sheet=sheet, seq__gte=2).order_by("seq"):
        value = "forged" if event.seq == 2 else event.new_value
        digest = chain_hash(prev, canonical_bytes(record_of(event)._replace(new_value=value), sheet=sheet.name))
        sql("UPDATE ledger_event SET new_value = %s, prev_hash = %s, hash = %s WHERE id = %s",
            [value, prev, digest, event.pk])
        prev = digest
    Stream.objects.filter(sheet=sheet).update(head_hash=prev)
    assert "ok, 5 events" in run(sheet.name)
    with pytest.raises(CommandError, match="first bad seq 5: hash differs from the published anchor"):
        run(sheet.name, "--anchor", f"5:{published}")


def test_an_anchor_beyond_a_truncated_ledger_is_caught(sheet, tamper):
    published = Event.objects.get(stream__sheet=sheet, seq=5).hash
    sql("DELETE FROM ledger_event WHERE stream_id = %s AND seq = 5", [sheet.stream_id])
    Stream.objects.filter(sheet=sheet).update(head=4, head_hash=Event.objects.get(stream__sheet=sheet, seq=4).hash)
    assert "ok, 4 events" in run(sheet.name)
    with pytest.raises(CommandError, match="first bad seq 5: the anchor at seq 5 is beyond the ledger's end at 4"):
        run(sheet.name, "--anchor", f"5:{published}")


@pytest.mark.parametrize("anchor", ["5", "0:" + "a" * 64, "5:abc", "x:" + "a" * 64])
def test_a_malformed_anchor_is_refused(sheet, anchor):
    with pytest.raises(CommandError, match="--anchor must be SEQ:HASH"):
        run(sheet.name, "--anchor", anchor)


def test_an_anchor_needs_a_sheet_name(sheet):
    with pytest.raises(CommandError, match="needs the NAME"):
        run("--anchor", f"1:{'a' * 64}")


def test_every_type_of_event_is_chained_and_verified(alice, tamper):
    stream = create_stream(name=unique("types"))
    cid = uuid.uuid4()
    common = {"broadcaster_id": alice.pk, "client_event_id": cid}
    changes = [
        CellChange(**common, row_id="r0", col_id="c0", row=0, col=0, old_value="", new_value="x"),
        StructureChange(**common, type=ROWS_INSERTED, ids=("n1", "n2"), after="r0", row=1),
        StructureChange(**common, type=ROWS_DELETED, ids=("r3",), positions=(5,)),
        StructureChange(**common, type=COLUMNS_INSERTED, ids=("k",), after=None, col=0),
        StructureChange(**common, type=COLUMNS_DELETED, ids=("c1",), positions=(2,)),
    ]
    with transaction.atomic():
        locked = lock_stream(stream_id=stream.pk)
        write_events(stream=locked, events=chain_events(stream=locked, changes=changes, recorded_at=timezone.now()))
    report = verify_stream(stream_id=stream.pk)
    assert report.ok and report.checked == 5
    sql("UPDATE ledger_event SET ids = %s WHERE stream_id = %s AND seq = 2", ['["n1","nX"]', stream.pk])
    report = verify_stream(stream_id=stream.pk)
    assert report.finding == Finding(2, "hash does not match the event's content: the event was changed")


def test_a_chain_of_both_formats_verifies_and_each_keeps_its_own_canonical_form():
    old = _record(1, "0" * 64)
    current = LedgerRecord(
        seq=2, row=0, col=0, old_value="1", new_value="y", broadcaster_id=1, client_event_id=old.client_event_id,
        recorded_at=old.recorded_at, prev_hash=old.hash, hash="", format=2, row_id="r0", col_id="c1",
    )
    current = current._replace(hash=chain_hash(old.hash, canonical_bytes(current, sheet="s")))
    assert verify_chain([old, current], sheet="s", head=2, head_hash=current.hash) == (2, None)
    assert b'"row_id"' not in canonical_bytes(old, sheet="s") and b'"format":2' in canonical_bytes(current, sheet="s")
    # Read as format 1, the same event would hash differently: the format is part of what is verified.
    assert verify_chain([old, current._replace(format=1)], sheet="s", head=2, head_hash=current.hash)[1] is not None
