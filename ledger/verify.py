"""Verify a stream (a sheet's ledger): gapless seqs, an unbroken hash chain, and a head that matches.

The check itself (``verify_chain``) is a pure function over an iterator of
records, so it runs on a database cursor, on a CSV export or on a list in a
test alike; ``verify_stream`` is the shell that streams the records from the
database in constant memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import takewhile

from ledger.db import one_snapshot
from ledger.hashing import GENESIS_HASH, LedgerRecord, record_hash
from ledger.models import Event, Stream
from ledger.selectors import stream_head
from ledger.serialization import RECORD_COLUMNS, record_from_row

__all__ = ["Finding", "LedgerRecord", "StreamReport", "recompute_hash", "verify_chain", "verify_stream"]

CHUNK_SIZE = 2_000


@dataclass(frozen=True, slots=True)
class Finding:
    """The first event at which the ledger stops being trustworthy, and why."""

    seq: int
    reason: str


@dataclass(frozen=True, slots=True)
class StreamReport:
    sheet: str
    head: int
    head_hash: str
    checked: int
    finding: Finding | None

    @property
    def ok(self) -> bool:
        return self.finding is None


def recompute_hash(record: LedgerRecord, *, sheet: str) -> str:
    """Return the hash the record should carry given its own prev_hash and content."""
    return record_hash(record, sheet=sheet)


def verify_chain(
    records: Iterable[LedgerRecord],
    *,
    sheet: str,
    head: int,
    head_hash: str,
    on_progress: Callable[[int], None] | None = None,
    anchors: Mapping[int, str] | None = None,
) -> tuple[int, Finding | None]:
    """Check records given in ascending seq order; return how many were checked and the first finding.

    ``anchors`` maps seqs to hashes published earlier, outside the database:
    a chain rewritten from the genesis up is self-consistent, and only a
    hash kept elsewhere can tell.
    """
    anchors = anchors or {}
    expected_seq, expected_prev = 1, GENESIS_HASH
    checked = 0
    for record in records:
        if record.seq != expected_seq:
            if record.seq > expected_seq:
                return checked, Finding(expected_seq, f"seq {expected_seq} is missing (the next event is seq {record.seq})")
            return checked, Finding(record.seq, f"seq {record.seq} appears more than once")
        if record.prev_hash != expected_prev:
            # Either this event was moved here from elsewhere in the chain, or
            # the event before it was rewritten together with its own hash.
            previous = f"seq {expected_seq - 1}" if expected_seq > 1 else "the genesis hash"
            return checked, Finding(record.seq, f"prev_hash does not match the hash of {previous}")
        if recompute_hash(record, sheet=sheet) != record.hash:
            return checked, Finding(record.seq, "hash does not match the event's content: the event was changed")
        if record.seq in anchors and anchors[record.seq] != record.hash:
            return checked, Finding(record.seq, "hash differs from the published anchor: the chain was rewritten")
        expected_seq, expected_prev = expected_seq + 1, record.hash
        checked += 1
        if on_progress is not None:
            on_progress(checked)
    last = expected_seq - 1
    beyond = [seq for seq in anchors if seq > last]
    if beyond:
        reason = f"the anchor at seq {min(beyond)} is beyond the ledger's end at {last}: events were removed"
        return checked, Finding(last + 1, reason)
    if last < head:
        return checked, Finding(last + 1, f"seq {last + 1} is missing: the sheet's head is {head} but the ledger ends at {last}")
    if last > head:
        return checked, Finding(head + 1, f"seq {head + 1} is beyond the sheet's head {head}")
    if head_hash != expected_prev:
        return checked, Finding(head, f"the sheet's head_hash does not match the hash of seq {head}")
    return checked, None


def _records(stream_id: int) -> Iterator[LedgerRecord]:
    rows = (
        Event.objects.filter(stream_id=stream_id)
        .order_by("seq")
        .values_list(*RECORD_COLUMNS)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    for row in rows:
        yield record_from_row(row)


def _events_beyond_head(*, stream_id: int, head: int) -> bool:
    if not Event.objects.filter(stream_id=stream_id, seq__gt=head).exists():
        return False
    # An append advances the head in the same transaction as its events, so
    # extra events under a head that has not moved since it was read were
    # not appended by the ledger (on SQLite an append may commit mid-check).
    return stream_head(stream_id=stream_id) == head


def verify_stream(
    *, stream_id: int, on_progress: Callable[[int], None] | None = None, anchors: Mapping[int, str] | None = None
) -> StreamReport:
    """Stream the events from the database and verify them against the stream's head."""
    # Long: on SQLite outside a transaction, where an append may commit
    # mid-check (bounded by the head below, and _events_beyond_head).
    with one_snapshot(brief=False):
        name, head, head_hash = Stream.objects.filter(pk=stream_id).values_list("name", "head", "head_hash").get()
        records = _records(stream_id)
        # Events appended after the head was read are not this check's
        # business: stop at the head, then look past it separately below.
        bounded = takewhile(lambda record: record.seq <= head, records)
        checked, finding = verify_chain(
            bounded, sheet=name, head=head, head_hash=head_hash, on_progress=on_progress, anchors=anchors
        )
        # A head_hash mismatch at the head is better explained by events
        # beyond it, when there are some: the head was rewound.
        if (finding is None or finding.seq >= head) and _events_beyond_head(stream_id=stream_id, head=head):
            finding = Finding(head + 1, f"seq {head + 1} is beyond the sheet's head {head}")
    return StreamReport(sheet=name, head=head, head_hash=head_hash, checked=checked, finding=finding)
