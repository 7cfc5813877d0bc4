"""The append-only ledger: streams of immutable events, each stream with its head."""

from django.conf import settings
from django.db import models

from ledger.hashing import CELL_CHANGED, FORMAT_BEFORE_IDS, GENESIS_HASH


class Stream(models.Model):
    """One hash-chained sequence of events (a sheet's, say), and its head.

    ``head`` and ``head_hash`` are the last seq and hash of the chain. They
    are written only by ledger.services, under this row's lock, in the
    transaction that appends the events: the lock is what makes seqs
    gapless and hands them out in commit order (docs/architecture.md,
    decision 1).
    """

    # The name is part of every event's hash (ledger/hashing.py): it never changes.
    name = models.CharField(max_length=64, unique=True)
    # The shape the stream starts with, before any event: rows r0 … r{rows-1}
    # and columns c0 … c{cols-1} (projections.axis). Fixed at creation.
    rows = models.PositiveIntegerField(default=0)
    cols = models.PositiveIntegerField(default=0)
    head = models.BigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Event(models.Model):
    """One accepted operation's record: immutable once written (see the triggers in migrations).

    One table for every type (ledger.hashing.TYPE_FIELDS says which fields
    each has): a cell edit fills row_id, col_id, row, col and the values; an
    insert fills ids (a JSON list), after and row or col, the first new
    position; a delete fills ids and positions (a JSON list).
    """

    # No index of its own: every index below starts with stream_id, and each
    # one more costs every appended event an index insertion.
    stream = models.ForeignKey(Stream, on_delete=models.PROTECT, related_name="events", db_index=False)
    seq = models.BigIntegerField()
    type = models.CharField(max_length=20, default=CELL_CHANGED)
    # The canonical form the hash was computed over (ledger/hashing.py).
    format = models.PositiveSmallIntegerField(default=FORMAT_BEFORE_IDS)
    row = models.IntegerField(null=True)
    col = models.IntegerField(null=True)
    row_id = models.CharField(max_length=36, null=True)
    col_id = models.CharField(max_length=36, null=True)
    after = models.CharField(max_length=36, null=True)
    ids = models.TextField(null=True)
    positions = models.TextField(null=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    broadcaster = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    client_event_id = models.UUIDField()
    recorded_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["stream_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="ledger_event_unique_sheet_seq")]
        indexes = [
            models.Index(fields=["stream", "client_event_id"], name="ledger_event_client_id"),
            models.Index(fields=["stream", "row", "col", "seq"], name="ledger_event_cell"),
            models.Index(fields=["stream", "row_id", "col_id", "seq"], name="ledger_event_cell_id"),
            models.Index(fields=["stream", "broadcaster", "seq"], name="ledger_event_user"),
            models.Index(fields=["stream", "recorded_at"], name="ledger_event_time"),
        ]

    def __str__(self) -> str:
        return f"{self.stream_id}#{self.seq} {self.type}"
