"""The append-only ledger of cell edits."""

from django.conf import settings
from django.db import models


class Event(models.Model):
    """One accepted cell edit: immutable once written (see the triggers in migrations)."""

    TYPE = "CellChanged"

    # No index of its own: every index below starts with sheet_id, and each
    # one more costs every appended event an index insertion.
    sheet = models.ForeignKey("sheets.Sheet", on_delete=models.PROTECT, related_name="events", db_index=False)
    seq = models.BigIntegerField()
    row = models.IntegerField()
    col = models.IntegerField()
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    broadcaster = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    client_event_id = models.UUIDField()
    recorded_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["sheet_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["sheet", "seq"], name="ledger_event_unique_sheet_seq")]
        indexes = [
            models.Index(fields=["sheet", "client_event_id"], name="ledger_event_client_id"),
            models.Index(fields=["sheet", "row", "col", "seq"], name="ledger_event_cell"),
            models.Index(fields=["sheet", "broadcaster", "seq"], name="ledger_event_user"),
            models.Index(fields=["sheet", "recorded_at"], name="ledger_event_time"),
        ]

    def __str__(self) -> str:
        return f"{self.sheet_id}#{self.seq} ({self.row},{self.col})"
